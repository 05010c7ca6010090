// `npm run test:chaos`: the chaos suite in its full form (3,000 deliveries a scenario, the database
// away for 20 s), against the same PostgreSQL `npm test` finds; each scenario starts its own Redis.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureInstalledAndBuilt, ensureServices } from './lib/services.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
ensureInstalledAndBuilt(root);
const services = await ensureServices({ dataDir: path.join(root, '.inlet', 'test') });
// The scenarios create databases of their own on this server, so point at its maintenance database.
const server = new URL(services.databaseUrl);
server.pathname = '/postgres';
const env = {
  ...process.env,
  INLET_CHAOS: 'full',
  REDIS_URL: services.redisUrl,
  DATABASE_URL: server.toString(),
};
const child = spawn('npx', ['vitest', 'run', 'chaos', ...process.argv.slice(2)], {
  cwd: path.join(root, 'test'),
  env,
  stdio: 'inherit',
});
// Ctrl-C reaches vitest too, which runs each scenario's clean-up; wait for it, then stop the services.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
const code = await new Promise((resolve) =>
  child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))),
);
await services.stop();
process.exit(code);
