import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Ingest's Prometheus metrics. Labels stay bounded: a source label is a configured source name or
 * `unknown`, never a raw path segment or an id.
 */
export function createIngestMetrics(options: { sources: Iterable<string>; defaultMetrics?: boolean }) {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const known = new Set(options.sources);
  const label = (source: string | undefined) =>
    source !== undefined && known.has(source) ? source : 'unknown';
  const requests = new Counter({
    name: 'inlet_ingest_requests_total',
    help: 'Deliveries answered, by source and HTTP status.',
    labelNames: ['source', 'status'] as const,
    registers: [registry],
  });
  const signatureFailures = new Counter({
    name: 'inlet_signature_failures_total',
    help: 'Deliveries refused because their signature or token did not verify, by source and reason.',
    labelNames: ['source', 'reason'] as const,
    registers: [registry],
  });
  const enqueueDuration = new Histogram({
    name: 'inlet_enqueue_duration_seconds',
    help: 'Time to put an accepted event in the queue.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const droppedConnections = new Counter({
    name: 'inlet_ingest_connections_dropped_total',
    help: 'Connections closed on arrival because INLET_MAX_CONNECTIONS were open.',
    registers: [registry],
  });
  const slowBodiesCut = new Counter({
    name: 'inlet_ingest_slow_bodies_cut_total',
    help: 'Request bodies cut off (408) for arriving slower than INLET_MIN_BODY_BYTES_PER_SECOND or past INLET_BODY_TIMEOUT_MS.',
    registers: [registry],
  });
  // labels() builds a key from the label values on every call: the children a request touches
  // are looked up once and kept (bounded: known sources, plus `unknown`, by status).
  const requestCounters = new Map<string, Counter.Internal>();
  return {
    registry,
    /** Exposes the cached backlog; read at scrape time, so it costs nothing per request. */
    trackBacklog(read: () => number | undefined) {
      if (registry.getSingleMetric('inlet_ingest_backlog')) return;
      new Gauge({
        name: 'inlet_ingest_backlog',
        help: 'Jobs waiting in the queue as ingest last read them; at INLET_MAX_BACKLOG deliveries get 503.',
        registers: [registry],
        collect() {
          const depth = read();
          if (depth !== undefined) this.set(depth);
        },
      });
    },
    /** Exposes the bytes of request bodies held now, read at scrape time. */
    trackBodiesInFlight(read: () => number) {
      if (registry.getSingleMetric('inlet_ingest_body_bytes_in_flight')) return;
      new Gauge({
        name: 'inlet_ingest_body_bytes_in_flight',
        help: 'Bytes of request bodies ingest holds now; at INLET_MAX_BODY_BYTES_IN_FLIGHT deliveries get 503.',
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    },
    request(source: string | undefined, status: number) {
      const name = label(source);
      const key = `${name} ${status}`;
      let counter = requestCounters.get(key);
      if (counter === undefined) {
        counter = requests.labels(name, String(status));
        requestCounters.set(key, counter);
      }
      counter.inc();
    },
    signatureFailure(source: string, reason: string) {
      signatureFailures.inc({ source: label(source), reason });
    },
    connectionDropped() {
      droppedConnections.inc();
    },
    slowBodyCut() {
      slowBodiesCut.inc();
    },
    enqueued(seconds: number) {
      enqueueDuration.observe(seconds);
    },
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
