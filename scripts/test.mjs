// `npm test`: every workspace's tests against real Redis and PostgreSQL, from a fresh clone.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { prepareTestRun } from './lib/services.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { services, env: testEnv } = await prepareTestRun(root);
const env = {
  ...testEnv,
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
const child = spawn('npx', args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });

// Add up the per-workspace summaries ("Tests  2 failed | 40 passed (42)") into one closing line.
const totals = { passed: 0, failed: 0, skipped: 0 };
let pending = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  pending += chunk.toString();
  const lines = pending.split('\n');
  pending = lines.pop() ?? '';
  for (const line of lines) {
    const plain = stripVTControlCharacters(line);
    if (!/\bTests\s+\d/.test(plain)) continue;
    for (const [, count, kind] of plain.matchAll(/(\d+) (passed|failed|skipped)/g))
      totals[kind] += Number(count);
  }
});
const code = await new Promise((resolve) =>
  child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))),
);
await services.stop();
const skipped = totals.skipped > 0 ? `, ${totals.skipped} skipped` : '';
process.stdout.write(`\ntests: ${totals.passed} passed, ${totals.failed} failed${skipped}\n`);
process.exit(code === 0 && totals.failed > 0 ? 1 : code);
