// `npm test`: every workspace's tests against real Redis and PostgreSQL, from a fresh clone.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureInstalledAndBuilt, ensureServices } from './lib/services.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
ensureInstalledAndBuilt(root);
const services = await ensureServices({ dataDir: path.join(root, '.inlet', 'test') });
// Tests create databases of their own on this server, so point at its maintenance database.
const server = new URL(services.databaseUrl);
server.pathname = '/postgres';
const env = {
  ...process.env,
  REDIS_URL: services.redisUrl,
  DATABASE_URL: server.toString(),
  TURBO_TELEMETRY_DISABLED: '1',
  DO_NOT_TRACK: '1',
};
const args = [
  'turbo',
  'run',
  'typecheck',
  'lint',
  'test',
  '--concurrency=2',
  '--continue',
  ...process.argv.slice(2),
];
const child = spawn('npx', args, { cwd: root, env, stdio: 'inherit' });
const code = await new Promise((resolve) =>
  child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))),
);
await services.stop();
process.exit(code);
