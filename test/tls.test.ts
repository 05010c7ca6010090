import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createSql, type Sql, sslOptionsFor } from '@inlet/db';
import { createRedis } from '@inlet/queue';
import {
  createTestCertificates,
  exited,
  freePort,
  type PostgresServer,
  type RedisServer,
  startPostgresServer,
  startRedisServer,
  type TestCertificates,
  uniqueQueue,
  waitFor,
} from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { type RunningProcess, runNode, waitHealthy } from './support.js';

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** An HTTPS request to 127.0.0.1 that trusts only `ca`, as a provider would send it. */
function httpsRequest(
  port: number,
  path: string,
  ca: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, ca },
      (incoming) => {
        let body = '';
        incoming.setEncoding('utf8');
        incoming.on('data', (chunk: string) => {
          body += chunk;
        });
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, body }));
      },
    );
    outgoing.once('error', reject);
    outgoing.end(options.body);
  });
}

/** Whether a plain-HTTP client gets any HTTP answer from `port` (it must not, from a TLS server). */
async function answersPlainHttp(port: number): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
  return response !== undefined;
}

describe('TLS to Redis and PostgreSQL, HTTPS from ingest and dashboard', () => {
  let certs: TestCertificates;
  let ca: string;
  let pg: PostgresServer | undefined;
  let pgWrongName: PostgresServer | undefined;
  let redis: RedisServer | undefined;
  /** Why Redis cannot serve TLS here, when it cannot. */
  let redisTlsMissing: string | undefined;
  let sql: Sql | undefined;
  let sourcesFile: string;
  const secret = 'tls-e2e-secret';
  const processes: RunningProcess[] = [];
  const run = (script: string, env: Record<string, string>, args: string[] = []) => {
    const started = runNode(script, env, args);
    processes.push(started);
    return started;
  };

  /** DATABASE_URL of database `inlet` on `server`, with `sslmode`. */
  const databaseUrl = (server: PostgresServer | undefined, sslmode: string) => {
    if (!server) throw new Error('PostgreSQL did not start');
    return `${server.databaseUrl('inlet')}?sslmode=${sslmode}`;
  };
  const needRedis = (ctx: TestContext): RedisServer => {
    if (redisTlsMissing !== undefined) ctx.skip(`redis-server cannot serve TLS here: ${redisTlsMissing}`);
    if (!redis) throw new Error('Redis did not start');
    return redis;
  };

  beforeAll(async () => {
    certs = await createTestCertificates();
    ca = readFileSync(certs.caFile, 'utf8');
    sourcesFile = `${certs.dir}/inlet.sources.json`;
    await writeFile(
      sourcesFile,
      JSON.stringify({ sources: { gh: { provider: 'github', secrets: ['env:TLS_E2E_SECRET'] } } }),
    );
    const servers = await Promise.allSettled([
      startPostgresServer({ tls: certs.server }),
      startPostgresServer({ tls: certs.wrongName }),
      startRedisServer({ tls: { ...certs.server, caFile: certs.caFile } }),
    ]);
    const [good, wrongName, tlsRedis] = servers;
    if (good.status === 'fulfilled') pg = good.value;
    if (wrongName.status === 'fulfilled') pgWrongName = wrongName.value;
    if (tlsRedis.status === 'fulfilled') redis = tlsRedis.value;
    // A redis-server built without TLS cannot take part: its cases say so and are skipped.
    else redisTlsMissing = String(tlsRedis.reason);
    for (const failed of [good, wrongName]) if (failed.status === 'rejected') throw failed.reason;
  });

  afterAll(async () => {
    await Promise.allSettled(processes.map((started) => started.stop()));
    await sql?.end({ timeout: 5 }).catch(() => {});
    await Promise.allSettled([pg?.stop(), pgWrongName?.stop(), redis?.stop()]);
    await certs?.remove();
  });

  it('migrates, then ingest (HTTPS) and worker store a signed delivery through rediss:// and sslmode=verify-full', async (ctx) => {
    // Over TLS with the CA: `inlet migrate` creates the database and its schema.
    const dbUrl = databaseUrl(pg, 'verify-full');
    const migrate = run(
      'apps/cli/dist/main.js',
      { DATABASE_URL: dbUrl, DATABASE_TLS_CA_FILE: certs.caFile },
      ['migrate'],
    );
    expect(await exited(migrate.child), migrate.output()).toBe(0);
    expect(migrate.output()).toMatch(/created database inlet/);
    sql = createSql(dbUrl, { max: 2, application_name: 'inlet-tls-test', ssl: sslOptionsFor(dbUrl, ca) });

    const tlsRedis = needRedis(ctx);
    const queue = uniqueQueue();
    const [port, workerPort, dashboardPort] = [await freePort(), await freePort(), await freePort()];
    const common = {
      REDIS_URL: tlsRedis.url,
      REDIS_TLS_CA_FILE: certs.caFile,
      DATABASE_URL: dbUrl,
      DATABASE_TLS_CA_FILE: certs.caFile,
      INLET_QUEUE: queue.name,
      INLET_QUEUE_PREFIX: queue.prefix,
      TLS_CERT_FILE: certs.server.certFile,
      TLS_KEY_FILE: certs.server.keyFile,
      TLS_E2E_SECRET: secret,
    };
    const ingest = run('apps/ingest/dist/main.js', {
      ...common,
      INLET_SOURCES: sourcesFile,
      PORT: String(port),
    });
    const worker = run('apps/worker/dist/main.js', { ...common, WORKER_METRICS_PORT: String(workerPort) });
    const dashboard = run('apps/dashboard/dist/main.js', {
      ...common,
      DASHBOARD_PORT: String(dashboardPort),
      DASHBOARD_PASSWORD: 'tls-dashboard-password',
      INLET_INGEST_METRICS_URL: 'off',
    });

    await waitFor(
      async () => {
        if (ingest.child.exitCode !== null) throw new Error(`ingest exited:\n${ingest.output()}`);
        return (await httpsRequest(port, '/readyz', ca).catch(() => undefined))?.status === 200;
      },
      20_000,
      'ingest /readyz over HTTPS',
    );
    // The worker's metrics port stays plain HTTP (it is for scrapers inside the network).
    await waitHealthy(`http://127.0.0.1:${workerPort}/readyz`, worker);
    expect(await answersPlainHttp(port)).toBe(false);

    const body = JSON.stringify({ zen: 'Encrypt everything.', hook_id: 42 });
    const answer = await httpsRequest(port, '/webhooks/gh', ca, {
      method: 'POST',
      body,
      headers: {
        'Content-Type': 'application/json',
        'X-GitHub-Event': 'push',
        'X-GitHub-Delivery': 'tls-delivery-1',
        'X-Hub-Signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      },
    });
    expect(answer).toEqual({ status: 202, body: '{"id":"tls-delivery-1"}' });

    const db = sql;
    const rows = await waitFor(
      async () => {
        const found = await db<{ body: string }[]>`
          select body from webhook_events where source = 'gh' and event_id = 'tls-delivery-1'`;
        return found.length > 0 ? found : undefined;
      },
      20_000,
      'the stored row',
    );
    expect(rows.map((row) => row.body)).toEqual([body]);
    // pg_hba takes TLS only, so the worker's sessions are encrypted; this shows they are its.
    const sessions = await db<{ ssl: boolean }[]>`
      select s.ssl from pg_stat_ssl s join pg_stat_activity a using (pid) where a.application_name = 'inlet'`;
    expect(sessions.length).toBeGreaterThan(0);
    expect(sessions.every((session) => session.ssl)).toBe(true);

    // The dashboard: HTTPS, with Redis and the database both reachable (its /readyz checks both).
    const auth = `Basic ${Buffer.from('admin:tls-dashboard-password').toString('base64')}`;
    await waitFor(
      async () => {
        if (dashboard.child.exitCode !== null) throw new Error(`dashboard exited:\n${dashboard.output()}`);
        const ready = await httpsRequest(dashboardPort, '/readyz', ca, {
          headers: { Authorization: auth },
        }).catch(() => undefined);
        return ready?.status === 200;
      },
      20_000,
      'dashboard /readyz over HTTPS',
    );
    const listed = await httpsRequest(dashboardPort, '/api/events?source=gh', ca, {
      headers: { Authorization: auth },
    });
    expect(listed.status).toBe(200);
    expect(listed.body).toContain('tls-delivery-1');
    expect(await answersPlainHttp(dashboardPort)).toBe(false);

    // The private key never reaches a log line.
    const keyLine = readFileSync(certs.server.keyFile, 'utf8').split('\n')[1] ?? 'unreachable';
    for (const started of [ingest, worker, dashboard]) expect(started.output()).not.toContain(keyLine);
  });

  it('with the wrong CA, the worker cannot connect and says why, and ingest is not ready', async (ctx) => {
    const tlsRedis = needRedis(ctx);
    const queue = uniqueQueue();
    const [port, workerPort] = [await freePort(), await freePort()];
    const wrongCa = {
      REDIS_URL: tlsRedis.url,
      REDIS_TLS_CA_FILE: certs.otherCaFile,
      DATABASE_URL: databaseUrl(pg, 'verify-full'),
      DATABASE_TLS_CA_FILE: certs.otherCaFile,
      INLET_QUEUE: queue.name,
      INLET_QUEUE_PREFIX: queue.prefix,
    };
    const worker = run('apps/worker/dist/main.js', { ...wrongCa, WORKER_METRICS_PORT: String(workerPort) });
    const ingest = run('apps/ingest/dist/main.js', {
      ...wrongCa,
      INLET_SOURCES: sourcesFile,
      TLS_E2E_SECRET: secret,
      PORT: String(port),
    });
    await waitHealthy(`http://127.0.0.1:${workerPort}/healthz`, worker);
    await waitHealthy(`http://127.0.0.1:${port}/healthz`, ingest);
    await waitFor(
      () =>
        /"code":"SELF_SIGNED_CERT_IN_CHAIN".*"redis connection error"/.test(worker.output()) &&
        /"code":"UNABLE_TO_VERIFY_LEAF_SIGNATURE".*"database unreachable"/.test(worker.output()),
      20_000,
      'the worker to say its connections were refused',
    );
    expect((await fetch(`http://127.0.0.1:${workerPort}/readyz`)).status).toBe(503);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
    expect(ingest.output()).toMatch(/"code":"SELF_SIGNED_CERT_IN_CHAIN".*"redis error"/);
    expect(worker.child.exitCode).toBeNull();
  });

  it('verify-full refuses a certificate for another name; verify-ca and require check the chain only', async () => {
    const migrate = (sslmode: string) =>
      run(
        'apps/cli/dist/main.js',
        { DATABASE_URL: databaseUrl(pgWrongName, sslmode), DATABASE_TLS_CA_FILE: certs.caFile },
        ['migrate'],
      );
    const strict = migrate('verify-full');
    expect(await exited(strict.child)).toBe(1);
    expect(strict.output()).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list/);
    const chainOnly = migrate('verify-ca');
    expect(await exited(chainOnly.child), chainOnly.output()).toBe(0);
    const required = migrate('require');
    expect(await exited(required.child), required.output()).toBe(0);
    expect(required.output()).toMatch(/schema is up to date/);
    // A CA that did not sign the server's certificate is refused too.
    const wrongCa = run(
      'apps/cli/dist/main.js',
      { DATABASE_URL: databaseUrl(pg, 'verify-full'), DATABASE_TLS_CA_FILE: certs.otherCaFile },
      ['migrate'],
    );
    expect(await exited(wrongCa.child)).toBe(1);
    expect(wrongCa.output()).toMatch(/unable to verify the first certificate/);
  });

  it('rediss:// checks that the certificate names the host', async (ctx) => {
    needRedis(ctx);
    const wrongName = await startRedisServer({ tls: { ...certs.wrongName, caFile: certs.caFile } });
    const client = createRedis(wrongName.url, 'worker', {
      tlsCa: ca,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    let refusal: NodeJS.ErrnoException | undefined;
    client.on('error', (error: NodeJS.ErrnoException) => {
      refusal ??= error;
    });
    try {
      await expect(client.connect()).rejects.toThrow();
      expect(refusal?.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    } finally {
      client.disconnect();
      await wrongName.stop();
    }
  });

  const startupCases: Array<[string, Record<string, string>, string, RegExp]> = [
    [
      'ingest',
      { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_TLS_CA_FILE: '/etc/ssl/certs/ca-certificates.crt' },
      'apps/ingest/dist/main.js',
      /^inlet ingest: REDIS_TLS_CA_FILE: needs a rediss:\/\/ REDIS_URL \(redis:\/\/ is not encrypted\)$/,
    ],
    [
      'worker',
      {
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/inlet?sslmode=disable',
        DATABASE_TLS_CA_FILE: '/x.pem',
      },
      'apps/worker/dist/main.js',
      /^inlet worker: DATABASE_TLS_CA_FILE: is set but DATABASE_URL says sslmode=disable/,
    ],
    [
      'worker',
      { REDIS_URL: 'rediss://127.0.0.1:6380', REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' },
      'apps/worker/dist/main.js',
      /^inlet worker: REDIS_TLS_CA_FILE: cannot read \/nonexistent\/ca\.pem \(ENOENT\)$/,
    ],
    [
      'dashboard',
      { DASHBOARD_PASSWORD: 'tls-dashboard-password', TLS_KEY_FILE: '/etc/inlet/key.pem' },
      'apps/dashboard/dist/main.js',
      /^inlet dashboard: TLS_CERT_FILE: is required when TLS_KEY_FILE is set$/,
    ],
  ];
  it.each(startupCases)(
    'a bad TLS setting stops %s at start with one line: %o',
    async (_app, env, script, expected) => {
      const started = run(script, env);
      expect(await exited(started.child)).toBe(1);
      const lines = started.output().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(expected);
    },
  );

  it('a key that is not the certificate’s stops ingest at start without printing the key', async () => {
    const started = run('apps/ingest/dist/main.js', {
      TLS_CERT_FILE: certs.server.certFile,
      TLS_KEY_FILE: certs.wrongName.keyFile,
    });
    expect(await exited(started.child)).toBe(1);
    expect(started.output().trim()).toBe(
      `inlet ingest: TLS_KEY_FILE: ${certs.wrongName.keyFile} is not the key of the certificate in TLS_CERT_FILE`,
    );
  });
});
