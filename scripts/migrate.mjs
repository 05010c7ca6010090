// `npm run migrate`: builds if needed, then creates or upgrades the schema at DATABASE_URL.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureInstalledAndBuilt } from './lib/services.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
ensureInstalledAndBuilt(root);
try {
  execFileSync(process.execPath, [path.join(root, 'apps/cli/dist/main.js'), 'migrate'], { stdio: 'inherit' });
} catch (error) {
  process.exit(error.status ?? 1);
}
