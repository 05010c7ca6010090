// `npm run test:chaos`: the chaos suite in its full form (3,000 deliveries a scenario, the database
// away for 20 s), against the same PostgreSQL `npm test` finds; each scenario starts its own Redis.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareTestRun } from './lib/services.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { services, env: testEnv } = await prepareTestRun(root);
const env = {
  ...testEnv,
  INLET_CHAOS: 'full',
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
