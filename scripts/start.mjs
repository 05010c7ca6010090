// `npm start`: the whole stack in the foreground, from a fresh clone.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureInstalledAndBuilt, ensureServices } from './lib/services.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (message) => process.stdout.write(`inlet: ${message}\n`);

function exampleSources() {
  const secret = () => randomBytes(24).toString('base64url');
  return {
    sources: {
      acme: { provider: 'standard-webhooks', secrets: [`whsec_${randomBytes(24).toString('base64')}`] },
      github: { provider: 'github', secrets: [secret()] },
      stripe: { provider: 'stripe', secrets: [`whsec_${secret()}`] },
    },
  };
}

async function waitReady(url, child, name, headers = {}, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}`);
    try {
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {}
    if (Date.now() > deadline)
      throw new Error(`${name} was not ready at ${url} within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const APP_COLOURS = { ingest: 36, worker: 35, dashboard: 33 };
/**
 * Makes an app's lines readable: the apps log JSON, as they should in production, and at a terminal
 * each pino record becomes one line. pino-pretty is loaded only once dependencies are installed.
 */
async function lineFormatter() {
  const { default: pinoPretty } = await import('pino-pretty');
  const pretty = pinoPretty.prettyFactory({
    colorize: Boolean(process.stdout.isTTY),
    translateTime: 'HH:MM:ss.l',
    ignore: 'pid,hostname,app',
    singleLine: true,
  });
  return (line) => {
    if (!line.startsWith('{')) return line;
    try {
      return pretty(line).trimEnd();
    } catch {
      return line;
    }
  };
}

/** Runs an app with its output prefixed by its name, in a colour of its own at a terminal. */
function runApp(name, script, env, readable, nodeFlags = []) {
  const label = process.stdout.isTTY ? `\x1b[${APP_COLOURS[name] ?? 37}m[${name}]\x1b[0m` : `[${name}]`;
  const child = spawn(process.execPath, [...nodeFlags, script], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.on('data', (chunk) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) process.stdout.write(`${label} ${readable(line)}\n`);
    });
  }
  return child;
}

async function main() {
  ensureInstalledAndBuilt(root);
  const readable = await lineFormatter();
  const services = await ensureServices({ dataDir: path.join(root, '.inlet') });
  const sourcesFile = path.resolve(root, process.env.INLET_SOURCES ?? 'inlet.sources.json');
  if (!existsSync(sourcesFile)) {
    writeFileSync(sourcesFile, `${JSON.stringify(exampleSources(), null, 2)}\n`, { mode: 0o600 });
    log(`wrote an example sources file with fresh secrets: ${sourcesFile}`);
  }
  const port = process.env.PORT ?? '8080';
  const workerPort = process.env.WORKER_METRICS_PORT ?? '9464';
  const dashboardPort = process.env.DASHBOARD_PORT ?? '8081';
  const dashboardUser = process.env.DASHBOARD_USER || 'admin';
  // The dashboard refuses to start without a password: make one for this run when none is set.
  const dashboardPassword = process.env.DASHBOARD_PASSWORD || randomBytes(18).toString('base64url');
  const env = {
    ...process.env,
    REDIS_URL: services.redisUrl,
    DATABASE_URL: services.databaseUrl,
    INLET_SOURCES: sourcesFile,
    PORT: port,
    WORKER_METRICS_PORT: workerPort,
    DASHBOARD_PORT: dashboardPort,
    DASHBOARD_PASSWORD: dashboardPassword,
    INLET_INGEST_METRICS_URL: process.env.INLET_INGEST_METRICS_URL || `http://127.0.0.1:${port}/metrics`,
  };
  const cli = path.join(root, 'apps/cli/dist/main.js');

  const children = [];
  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(
      children.map((child) => (child.exitCode === null ? new Promise((r) => child.once('exit', r)) : null)),
    );
    await services.stop();
    log('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    execFileSync(process.execPath, [cli, 'migrate'], { cwd: root, env, stdio: 'inherit' });
    const ingest = runApp('ingest', 'apps/ingest/dist/main.js', env, readable);
    const { workerNodeFlags } = await import(
      pathToFileURL(path.join(root, 'apps/worker/dist/node-flags.js')).href
    );
    const worker = runApp('worker', 'apps/worker/dist/main.js', env, readable, workerNodeFlags);
    const dashboard = runApp('dashboard', 'apps/dashboard/dist/main.js', env, readable);
    children.push(ingest, worker, dashboard);
    for (const [name, child] of [
      ['ingest', ingest],
      ['worker', worker],
      ['dashboard', dashboard],
    ]) {
      child.once('exit', (code) => {
        if (!stopping) {
          log(`${name} exited with code ${code}; stopping everything`);
          void stop(1);
        }
      });
    }
    await waitReady(`http://127.0.0.1:${port}/readyz`, ingest, 'ingest');
    await waitReady(`http://127.0.0.1:${workerPort}/readyz`, worker, 'worker');
    const credentials = Buffer.from(`${dashboardUser}:${dashboardPassword}`).toString('base64');
    await waitReady(`http://127.0.0.1:${dashboardPort}/readyz`, dashboard, 'dashboard', {
      authorization: `Basic ${credentials}`,
    });
  } catch (error) {
    process.stderr.write(`inlet: ${error.message}\n`);
    await stop(1);
    return;
  }
  const relative = path.relative(root, sourcesFile);
  const sourcesFlag = relative === 'inlet.sources.json' ? '' : ` --sources ${sourcesFile}`;
  const portFlag = port === '8080' ? '' : ` --url http://127.0.0.1:${port}/webhooks/acme`;
  log('ready');
  process.stdout.write(
    [
      '',
      `  Ingest    http://127.0.0.1:${port}/webhooks/<source>   (sources: ${sourcesFile})`,
      `  Worker    http://127.0.0.1:${workerPort}/readyz`,
      `  Dashboard http://127.0.0.1:${dashboardPort}/   (user ${dashboardUser}, password ${
        process.env.DASHBOARD_PASSWORD ? 'from DASHBOARD_PASSWORD' : dashboardPassword
      })`,
      `  Redis     ${services.redisUrl}`,
      `  Database  ${services.databaseUrl.replace(/\/\/[^@/]*@/, '//***@')}`,
      '',
      '  Send a signed test delivery (run it twice: still one row):',
      '',
      `    npx inlet send --source acme${sourcesFlag}${portFlag}`,
      '',
      '  Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}

main().catch((error) => {
  process.stderr.write(`inlet: ${error.message}\n`);
  process.exit(1);
});
