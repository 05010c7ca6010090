// `npm run bench`: the benchmark against real Redis and PostgreSQL, from a fresh clone.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureInstalledAndBuilt, ensureServices } from './lib/services.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
ensureInstalledAndBuilt(root);
const services = await ensureServices({ dataDir: path.join(root, '.inlet', 'bench') });
// The bench creates a database of its own on this server, so point at its maintenance database.
const server = new URL(services.databaseUrl);
server.pathname = '/postgres';
const env = { ...process.env, REDIS_URL: services.redisUrl, DATABASE_URL: server.toString() };
const child = spawn(
  process.execPath,
  [path.join(root, 'bench', 'dist', 'main.js'), ...process.argv.slice(2)],
  {
    cwd: root,
    env,
    stdio: 'inherit',
  },
);
// Ctrl-C reaches the bench too, which cleans up and exits; wait for it, then stop the services.
const ignore = () => {};
process.on('SIGINT', ignore);
process.on('SIGTERM', () => child.kill('SIGTERM'));
const code = await new Promise((resolve) =>
  child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))),
);
await services.stop();
process.exit(code);
