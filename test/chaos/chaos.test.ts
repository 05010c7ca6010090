import { waitFor } from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosStack } from './chaos-stack.js';
import { deliveryKey, type LoadReport, makeDeliveries, startLoad } from './load.js';

/**
 * `npm test` runs the short form; `npm run test:chaos` (INLET_CHAOS=full) the full one, with ten
 * times the deliveries and the database away for 20 s.
 */
const FULL = process.env.INLET_CHAOS === 'full';
const mode = FULL
  ? { deliveries: 3000, ratePerSecond: 100, ingestDownMs: 5000, redisDownMs: 5000, databaseDownMs: 20_000 }
  : { deliveries: 300, ratePerSecond: 60, ingestDownMs: 2000, redisDownMs: 3000, databaseDownMs: 5000 };
// Generous: the machine is shared, and these bound a failure rather than measure anything.
const LOAD_DEADLINE_MS = 180_000;
const DRAIN_TIMEOUT_MS = 180_000;
const SCENARIO_TIMEOUT_MS = LOAD_DEADLINE_MS + DRAIN_TIMEOUT_MS + 60_000;
/** 5% of the accepted deliveries are sent again, as after a 202 lost in a dropped connection. */
const RESEND_EVERY = 20;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Scenario {
  readonly name: string;
  readonly resend?: boolean;
  /** What goes wrong, started once a third of the load is accepted; the load carries on meanwhile. */
  chaos(stack: ChaosStack): Promise<void>;
}

/** Runs the load through `stack` with the scenario's chaos mid-way, then checks every 202'd event is stored once. */
async function runScenario(stack: ChaosStack, scenario: Scenario): Promise<LoadReport> {
  const deliveries = makeDeliveries(mode.deliveries, `${scenario.name}-${process.pid}-${Date.now()}`);
  const load = startLoad({
    urls: stack.ingests.map((ingest) => ingest.url),
    deliveries,
    ratePerSecond: mode.ratePerSecond,
    deadlineMs: LOAD_DEADLINE_MS,
    ...(scenario.resend ? { resendEvery: RESEND_EVERY } : {}),
  });
  await waitFor(
    () => load.accepted() >= deliveries.length / 3,
    LOAD_DEADLINE_MS,
    'a third of the deliveries to be accepted',
  );
  await scenario.chaos(stack);
  const report = await load.done;
  const queue = await stack.waitDrained(DRAIN_TIMEOUT_MS);
  const rows = await stack.storedRows();
  const duplicates = await stack.duplicateRows();
  const stalled = await stack.jobsBackFromStall();

  const answers = [...report.answers].map(([answer, n]) => `${answer}×${n}`).join(', ');
  const resent = report.resends.length > 0 ? ` (+${report.resends.length} resent)` : '';
  console.log(
    `chaos ${scenario.name}: sent ${report.sent}${resent}, 202s ${report.accepted}, retries ${report.retries}, ` +
      `rows ${rows.length}, duplicates ${duplicates.length} [answers: ${answers}; jobs back from a lost lock: ${stalled}]`,
  );

  const stored = new Set(rows.map((row) => deliveryKey({ source: row.source, eventId: row.event_id })));
  const lost = [...report.acceptedKeys].filter((key) => !stored.has(key));
  expect(lost.slice(0, 20), `${lost.length} events got a 202 but were not stored`).toEqual([]);
  expect(duplicates, 'events stored more than once').toEqual([]);
  const unexpected = [...stored].filter((key) => !report.acceptedKeys.has(key));
  expect(unexpected.slice(0, 20), `${unexpected.length} events stored without a 202`).toEqual([]);
  expect(rows).toHaveLength(report.accepted);
  const sentBodies = new Map(deliveries.map((d) => [deliveryKey(d), d.body]));
  const altered = rows.filter((row) => sentBodies.get(`${row.source}/${row.event_id}`) !== row.body);
  expect(altered.length, 'rows whose body differs from what was sent').toBe(0);
  expect(queue.failed, `failed jobs: ${JSON.stringify(queue.counts)}`).toBe(0);
  // Retried until accepted, as a provider would: nothing is left without a 202.
  const neverAccepted = report.results
    .filter((r) => !r.accepted)
    .map((r) => `${deliveryKey(r.delivery)}: ${r.attempts} attempts, last ${r.last}`);
  expect(neverAccepted.slice(0, 20), `${neverAccepted.length} deliveries never accepted`).toEqual([]);
  expect(report.resends.every((r) => r.accepted)).toBe(true);
  // Chaos may refuse (503) or drop connections, never answer anything else.
  const statuses = [...report.answers.keys()].filter((answer) => /^\d+$/.test(answer));
  expect(statuses.filter((status) => status !== '202' && status !== '503')).toEqual([]);
  return report;
}

/** A scenario: its own stack of two ingest and two worker processes, stopped afterwards. */
function describeScenario(
  title: string,
  options: { privateDatabase: boolean },
  expectation: string,
  run: (stack: ChaosStack) => Promise<void>,
): void {
  describe(title, () => {
    let stack: ChaosStack | undefined;
    beforeAll(async () => {
      stack = await ChaosStack.start(options);
      await Promise.all([stack.startIngest(), stack.startIngest(), stack.startWorker(), stack.startWorker()]);
    }, 120_000);
    afterAll(() => stack?.stop(), 120_000);
    it(
      expectation,
      async () => {
        if (!stack) throw new Error('no stack');
        await run(stack);
      },
      SCENARIO_TIMEOUT_MS,
    );
  });
}

describeScenario(
  'chaos: a worker is SIGKILLed mid-load',
  { privateDatabase: false },
  'stores every 202d event exactly once: its jobs come back when their locks expire',
  async (stack) => {
    await runScenario(stack, {
      name: 'worker-sigkill',
      async chaos(stack) {
        // Hold the workers' inserts back for a moment (a slow database), so that both have jobs in
        // flight, an open transaction included, when one dies: those must come back from its locks.
        await stack.db.sql.begin(async (tx) => {
          await tx`LOCK TABLE webhook_events IN EXCLUSIVE MODE`;
          await waitFor(async () => ((await stack.queueState()).counts.active ?? 0) >= 20, 10_000).catch(
            () => {},
          );
          await stack.workers[0]?.stop('SIGKILL');
        });
        await stack.startWorker();
      },
    });
  },
);

describeScenario(
  'chaos: an ingest process is SIGKILLed mid-load',
  { privateDatabase: false },
  'stores every 202d event exactly once: refused and cut requests are retried on the other one',
  async (stack) => {
    const report = await runScenario(stack, {
      name: 'ingest-sigkill',
      resend: true,
      async chaos(stack) {
        const [victim] = stack.ingests;
        if (!victim) throw new Error('no ingest');
        await victim.process.stop('SIGKILL');
        await sleep(mode.ingestDownMs);
        // Back on the same port, where the load generator still sends every other request.
        await stack.startIngest(victim.port);
      },
    });
    // The dead process's share of the load failed and was sent again.
    expect(report.retries).toBeGreaterThan(0);
  },
);

describeScenario(
  'chaos: Redis is SIGKILLed mid-load and restarted',
  { privateDatabase: false },
  'stores every 202d event exactly once: the append-only file kept them, ingest answered 503 meanwhile',
  async (stack) => {
    const report = await runScenario(stack, {
      name: 'redis-sigkill',
      resend: true,
      async chaos(stack) {
        await stack.redis.kill();
        await sleep(mode.redisDownMs);
        // Same port, same directory: it reloads its append-only file.
        await stack.redis.start();
      },
    });
    expect(report.answers.get('503') ?? 0).toBeGreaterThan(0);
  },
);

describeScenario(
  'chaos: the database is stopped mid-load and started again',
  { privateDatabase: true },
  `stores every 202d event exactly once: jobs wait out a ${mode.databaseDownMs / 1000} s outage`,
  async (stack) => {
    await runScenario(stack, {
      name: 'database-stop',
      async chaos(stack) {
        if (!stack.postgres) throw new Error('no private PostgreSQL server');
        await stack.postgres.pause();
        await sleep(mode.databaseDownMs);
        await stack.postgres.resume();
      },
    });
  },
);
