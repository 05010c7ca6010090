import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAddCeiling } from './add-ceiling.js';
import { CpuMeter, type PhaseCpu, processCpu, selfCpu } from './cpu-meter.js';
import { logProfile, profileArgs } from './cpu-profile.js';
import { BENCH_SOURCE } from './event-fixtures.js';
import { startIngest } from './ingest-process.js';
import { type LoadResult, runLoad } from './load.js';
import type { TableRow } from './results.js';
import { freePort, ServerProcess } from './server-process.js';
import { SignedDeliveries } from './signed-deliveries.js';
import { baseEnv, ratio, type SuiteContext, type SuiteOutput } from './suite.js';
import { builtScript } from './worker-suite.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

export const INGEST_TARGETS = { toNaive: 1, p99Ms: 10 } as const;
/** Answers other than 202, connection errors or timeouts beyond this share make a phase fail. */
const MAX_FAILED_SHARE = 0.01;
/** The label of the bench's own process in CPU splits, when it runs the load. */
export const LOAD_GENERATOR = 'load generator';

interface HttpPhase {
  readonly slug: string;
  readonly label: string;
  /** Event id tag of its deliveries (see SignedDeliveries). */
  readonly tag: string;
  /** Checked after the load: every accepted delivery must be waiting in the queue. */
  readonly enqueues: boolean;
  start(port: number, execArgv: readonly string[], logFile: string): Promise<ServerProcess>;
}

export interface HttpMeasurement {
  load: LoadResult;
  cpu: PhaseCpu;
  peakRssMb: number | null;
}

/** Two windows of one phase taken as one: rates and latencies averaged, the higher peak RSS kept. */
export function bracketed(
  before: HttpMeasurement,
  after: HttpMeasurement,
): { acceptedPerSecond: number; p50Ms: number | null; p99Ms: number | null; peakRssMb: number | null } {
  const mean = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? null : Math.round(((a + b) / 2) * 100) / 100;
  const peaks = [before.peakRssMb, after.peakRssMb].filter((mb): mb is number => mb !== null);
  return {
    acceptedPerSecond: Math.round((before.load.acceptedPerSecond + after.load.acceptedPerSecond) / 2),
    p50Ms: mean(before.load.latencyMs?.p50, after.load.latencyMs?.p50),
    p99Ms: mean(before.load.latencyMs?.p99, after.load.latencyMs?.p99),
    peakRssMb: peaks.length > 0 ? Math.max(...peaks) : null,
  };
}

/** Fails on answers other than 202 beyond a trace, naming them: a signing or configuration error, not speed. */
export function assertAccepted(label: string, load: LoadResult): void {
  const refused = Object.entries(load.statuses).filter(([status]) => status !== '202');
  const failed = refused.reduce((sum, [, count]) => sum + count, 0) + load.errors + load.timeouts;
  if (failed > Math.max(load.accepted + failed, 1) * MAX_FAILED_SHARE || load.accepted === 0) {
    throw new Error(
      `${label}: ${load.accepted} deliveries accepted, ${failed} not ` +
        `(answers ${JSON.stringify(load.statuses)}, ${load.errors} errors, ${load.timeouts} timeouts)`,
    );
  }
}

/**
 * Ingest under load from `timings.connections` connections, beside its references in the same run:
 * a bare Hono route, a naive handler (HMAC check + one `queue.add`), and a `queue.add` loop in one
 * process. Each server runs in a process of its own, is warmed up, then measured; the queue is
 * emptied after each.
 */
export async function runIngestSuite(context: SuiteContext): Promise<SuiteOutput> {
  const { queue, log, timings } = context;
  const cpu: Record<string, PhaseCpu> = {};

  const measure = async (phase: HttpPhase): Promise<HttpMeasurement> => {
    await queue.empty();
    const port = await freePort();
    const server = await phase.start(
      port,
      profileArgs(context.cpuProfileDir, phase.slug),
      path.join(context.runDir, `${phase.slug}.log`),
    );
    try {
      const deliveries = new SignedDeliveries({
        runId: context.runId,
        tag: phase.tag,
        secret: context.secret,
      });
      const load = {
        url: server.url,
        path: `/webhooks/${BENCH_SOURCE}`,
        connections: timings.connections,
        deliveries,
        ...(context.signal ? { signal: context.signal } : {}),
      };
      log(`${phase.label}: ${timings.connections} connections, ${timings.ingestSeconds} s`);
      const warmup = await runLoad({ ...load, durationSeconds: timings.ingestWarmupSeconds });
      assertAccepted(`${phase.label} (warm-up)`, warmup);
      const meter = await CpuMeter.start([
        processCpu(phase.slug, server.child.pid),
        selfCpu(LOAD_GENERATOR),
        ...context.serverCpu,
      ]);
      const measured = await runLoad({ ...load, durationSeconds: timings.ingestSeconds });
      const phaseCpu = await meter.stop(measured.accepted);
      const peakRssMb = server.child.peakRssMb();
      assertAccepted(phase.label, measured);
      if (phase.enqueues) {
        // A 202 promises the event is in Redis: every one must be there (plus any whose answer the
        // load generator stopped waiting for at the end of a window).
        const accepted = warmup.accepted + measured.accepted;
        const waiting = await queue.waiting();
        if (waiting < accepted || waiting > accepted + 2 * timings.connections) {
          throw new Error(`${phase.label}: ${accepted} deliveries accepted but ${waiting} jobs waiting`);
        }
      }
      cpu[phase.slug] = phaseCpu;
      log(
        `${phase.label}: ${measured.acceptedPerSecond.toLocaleString('en-US')} req/s, ` +
          `p50 ${measured.latencyMs?.p50} ms, p99 ${measured.latencyMs?.p99} ms; bound by ${phaseCpu.bound_by}`,
      );
      return { load: measured, cpu: phaseCpu, peakRssMb };
    } catch (error) {
      throw new Error(`${phase.label}: ${(error as Error).message}\n${await server.output()}`, {
        cause: error,
      });
    } finally {
      await server.stop();
      await logProfile(context.cpuProfileDir, phase.slug, phase.label, log);
      await queue.empty();
    }
  };

  const referenceServer =
    (label: string, script: string, extraEnv: Record<string, string> = {}) =>
    (port: number, execArgv: readonly string[]) =>
      ServerProcess.start({
        label,
        script: builtScript(script),
        cwd: packageRoot,
        port,
        readyPath: '/healthz',
        execArgv,
        ...(context.signal ? { signal: context.signal } : {}),
        env: { ...baseEnv(), PORT: String(port), ...extraEnv },
      });

  const bare = await measure({
    slug: 'bare-hono',
    label: 'bare Hono route',
    tag: 'bh',
    enqueues: false,
    start: referenceServer('bare Hono route', 'bare-hono-server.js'),
  });
  // The naive handler is measured before and after ingest, and ingest is compared with the mean
  // of the two: on a shared machine the load around a run drifts, and bracketing cancels a drift
  // that would otherwise favour or handicap whichever phase ran in the quieter minute.
  const naivePhase = (slug: string, label: string, tag: string): HttpPhase => ({
    slug,
    label,
    tag,
    enqueues: true,
    start: referenceServer(label, 'naive-ingest-server.js', {
      REDIS_URL: context.redisUrl,
      INLET_QUEUE: queue.names.name,
      INLET_QUEUE_PREFIX: queue.names.prefix,
      BENCH_SECRET: context.secret,
    }),
  });
  const naiveBefore = await measure(naivePhase('naive-ingest', 'naive handler', 'nh'));

  log(`bullmq queue.add loop: ${timings.connections} in flight, ${timings.addSeconds} s`);
  let addMeter: CpuMeter | undefined;
  let addCpu: PhaseCpu | undefined;
  const adds = await runAddCeiling({
    redisUrl: context.redisUrl,
    names: queue.names,
    runId: context.runId,
    inFlight: timings.connections,
    warmupSeconds: timings.addWarmupSeconds,
    seconds: timings.addSeconds,
    ...(context.signal ? { signal: context.signal } : {}),
    onMeasureStart: async () => {
      addMeter = await CpuMeter.start([selfCpu('add loop'), ...context.serverCpu]);
    },
    onMeasureEnd: async (result) => {
      addCpu = await addMeter?.stop(result.adds);
    },
  });
  await queue.empty();
  if (addCpu) cpu['bullmq-add'] = addCpu;
  log(
    `bullmq queue.add loop: ${adds.perSecond.toLocaleString('en-US')} adds/s; bound by ${addCpu?.bound_by ?? '?'}`,
  );

  const ingest = await measure({
    slug: 'ingest',
    label: 'ingest',
    tag: 'in',
    enqueues: true,
    start: (port, execArgv, logFile) =>
      startIngest({
        label: 'ingest',
        script: context.ingestScript,
        cwd: packageRoot,
        sourcesFile: path.join(context.runDir, 'inlet.sources.json'),
        secret: context.secret,
        redisUrl: context.redisUrl,
        queue: queue.names,
        port,
        logFile,
        baseEnv: baseEnv(),
        execArgv,
        settings: context.ingestSettings,
        ...(context.signal ? { signal: context.signal } : {}),
      }),
  });

  const naiveAfter = await measure(naivePhase('naive-ingest-after', 'naive handler again', 'na'));
  const naive = bracketed(naiveBefore, naiveAfter);

  const rps = ingest.load.acceptedPerSecond;
  const toNaive = ratio(rps, naive.acceptedPerSecond);
  const toAdd = ratio(rps, adds.perSecond);
  const toBare = ratio(rps, bare.load.acceptedPerSecond);
  const p99 = ingest.load.latencyMs?.p99 ?? null;
  const httpRow = (
    slug: string,
    phase: string,
    measured: HttpMeasurement,
    versus: string[],
    rssName: string,
  ): TableRow => ({
    group: 'ingest',
    phase,
    perSecond: measured.load.acceptedPerSecond,
    unit: 'req/s',
    p50Ms: measured.load.latencyMs?.p50 ?? null,
    p99Ms: measured.load.latencyMs?.p99 ?? null,
    versus,
    peakRss: [{ name: rssName, mb: measured.peakRssMb }],
    cpuKey: slug,
  });
  return {
    ingest: {
      rps,
      p50_ms: ingest.load.latencyMs?.p50 ?? null,
      p99_ms: p99,
      max_ms: ingest.load.latencyMs?.max ?? null,
      peak_rss_mb: ingest.peakRssMb,
      seconds: ingest.load.seconds,
      statuses: ingest.load.statuses,
    },
    reference: {
      bare_hono_rps: bare.load.acceptedPerSecond,
      bare_hono_p50_ms: bare.load.latencyMs?.p50 ?? null,
      bare_hono_p99_ms: bare.load.latencyMs?.p99 ?? null,
      bare_hono_peak_rss_mb: bare.peakRssMb,
      naive_ingest_rps: naive.acceptedPerSecond,
      naive_ingest_p50_ms: naive.p50Ms,
      naive_ingest_p99_ms: naive.p99Ms,
      naive_ingest_peak_rss_mb: naive.peakRssMb,
      naive_ingest_windows_rps: [naiveBefore.load.acceptedPerSecond, naiveAfter.load.acceptedPerSecond],
      bullmq_add_rps: adds.perSecond,
    },
    ratios: { ingest_to_naive: toNaive, ingest_to_add_ceiling: toAdd, ingest_to_bare_hono: toBare },
    targets: [
      {
        name: `ingest >= ${INGEST_TARGETS.toNaive}x naive handler`,
        value: toNaive,
        unit: 'x',
        min: INGEST_TARGETS.toNaive,
        met: toNaive >= INGEST_TARGETS.toNaive,
      },
      {
        name: `ingest p99 <= ${INGEST_TARGETS.p99Ms} ms at ${timings.connections} connections`,
        value: p99,
        unit: 'ms',
        max: INGEST_TARGETS.p99Ms,
        met: p99 !== null && p99 <= INGEST_TARGETS.p99Ms,
      },
    ],
    rows: [
      httpRow('bare-hono', 'bare Hono route (202 after body)', bare, [], 'server'),
      httpRow(
        'naive-ingest',
        'naive handler (HMAC + queue.add)',
        naiveBefore,
        [`${ratio(naiveBefore.load.acceptedPerSecond, bare.load.acceptedPerSecond).toFixed(2)}x bare`],
        'server',
      ),
      {
        group: 'ingest',
        phase: `bullmq queue.add loop (${timings.connections} in flight)`,
        perSecond: adds.perSecond,
        unit: 'adds/s',
        p50Ms: null,
        p99Ms: null,
        versus: [],
        peakRss: [],
        cpuKey: 'bullmq-add',
      },
      httpRow(
        'ingest',
        'ingest (all features)',
        ingest,
        [`${toNaive.toFixed(2)}x naive`, `${toAdd.toFixed(2)}x add`, `${toBare.toFixed(2)}x bare`],
        'ingest',
      ),
      httpRow(
        'naive-ingest-after',
        'naive handler again, after ingest',
        naiveAfter,
        [`naive mean ${naive.acceptedPerSecond.toLocaleString('en-US')} req/s`],
        'server',
      ),
    ],
    cpu,
  };
}
