import { github, standardWebhooks } from '@inlet/signatures';

/** The two sources every chaos scenario receives on: one scheme without a timestamp, one with. */
export const CHAOS_SECRETS = {
  gh: 'chaos-github-secret',
  acme: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
} as const;
export type ChaosSource = keyof typeof CHAOS_SECRETS;

/** The sources file's entries, secrets read from the environment as operators are told to. */
export const chaosSources = {
  gh: { provider: 'github', secrets: ['env:CHAOS_GH_SECRET'] },
  acme: { provider: 'standard-webhooks', secrets: ['env:CHAOS_ACME_SECRET'] },
};
export const chaosSecretEnv = {
  CHAOS_GH_SECRET: CHAOS_SECRETS.gh,
  CHAOS_ACME_SECRET: CHAOS_SECRETS.acme,
};

export interface Delivery {
  readonly source: ChaosSource;
  /** The provider's delivery id, which Inlet takes as the event id. */
  readonly eventId: string;
  readonly body: string;
}

/** `count` distinct deliveries, alternating between the two sources. */
export function makeDeliveries(count: number, prefix: string): Delivery[] {
  return Array.from({ length: count }, (_, i) => {
    const source: ChaosSource = i % 2 === 0 ? 'gh' : 'acme';
    const eventId = `${prefix}-${i}`;
    const body = JSON.stringify({ id: eventId, n: i, type: 'order.created', note: 'x'.repeat(400) });
    return { source, eventId, body };
  });
}

/** Signs a delivery as its provider would on each attempt (Standard Webhooks signs the time of sending). */
function signedHeaders(delivery: Delivery): Record<string, string> {
  const secret = CHAOS_SECRETS[delivery.source];
  const input = {
    body: delivery.body,
    secret,
    timestamp: Math.floor(Date.now() / 1000),
    id: delivery.eventId,
  };
  const source = { secrets: [secret], toleranceSeconds: 300 };
  const headers =
    delivery.source === 'gh' ? github.sign(input, source) : standardWebhooks.sign(input, source);
  return { 'content-type': 'application/json', ...headers };
}

export interface DeliveryResult {
  readonly delivery: Delivery;
  /** Requests made for it, the 202 included. */
  attempts: number;
  /** The last answer: an HTTP status, or the code of the network error (ECONNREFUSED, ...). */
  last: number | string | undefined;
  accepted: boolean;
}

export interface LoadOptions {
  /** Ingest base URLs, used in turn for every request (round-robin), retries included. */
  readonly urls: readonly string[];
  readonly deliveries: readonly Delivery[];
  /** Requests in flight at most. */
  readonly concurrency?: number;
  /** First attempts started per second at most, so the load spans the chaos instead of preceding it. */
  readonly ratePerSecond?: number;
  /** Stop retrying after this long: whatever has no 202 by then stays unaccepted. */
  readonly deadlineMs: number;
  /**
   * Send every `resendEvery`-th delivery once more after its 202, as a provider does when the 202
   * was lost in a dropped connection: the event id must make the copy a no-op.
   */
  readonly resendEvery?: number;
  readonly requestTimeoutMs?: number;
  /** The longest pause before a retry, Retry-After included. */
  readonly maxBackoffMs?: number;
}

export interface LoadReport {
  readonly results: readonly DeliveryResult[];
  readonly resends: readonly DeliveryResult[];
  /** Distinct deliveries sent. */
  readonly sent: number;
  /** Distinct deliveries that got a 202. */
  readonly accepted: number;
  /** Requests beyond each delivery's first, over originals and resends. */
  readonly retries: number;
  /** Every attempt's answer, counted: `202`, `503`, `ECONNREFUSED`, ... */
  readonly answers: ReadonlyMap<string, number>;
  /** The `source/eventId` keys of the accepted deliveries. */
  readonly acceptedKeys: ReadonlySet<string>;
}

export interface LoadRun {
  /** Deliveries accepted so far, to start chaos mid-load. */
  accepted(): number;
  readonly done: Promise<LoadReport>;
}

export const deliveryKey = (delivery: { source: string; eventId: string }) =>
  `${delivery.source}/${delivery.eventId}`;

/** What a failed fetch says went wrong, as a short code. */
function errorCode(error: unknown): string {
  if (error instanceof Error) {
    const cause: unknown = error.cause;
    if (cause instanceof Error && 'code' in cause && typeof cause.code === 'string') return cause.code;
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timeout';
    return error.name;
  }
  return 'error';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends every delivery to ingest with bounded concurrency and retries anything but a 202 (a 503, a
 * refused or reset connection, a timeout) after a short backoff, honouring Retry-After, until it
 * gets a 202 or the deadline passes: what a webhook provider does.
 */
export function startLoad(options: LoadOptions): LoadRun {
  const concurrency = options.concurrency ?? 20;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const maxBackoffMs = options.maxBackoffMs ?? 1000;
  const deadline = Date.now() + options.deadlineMs;
  const started = Date.now();
  const answers = new Map<string, number>();
  const count = (answer: string) => answers.set(answer, (answers.get(answer) ?? 0) + 1);
  let acceptedCount = 0;
  let nextUrl = 0;

  const results: DeliveryResult[] = options.deliveries.map((delivery) => ({
    delivery,
    attempts: 0,
    last: undefined,
    accepted: false,
  }));
  // Every `resendEvery`-th delivery is sent again once its original is done (and only if accepted).
  const resendEvery = options.resendEvery;
  const resendsOf = new Map<DeliveryResult, { copy: DeliveryResult; originalDone: Promise<void> }>();
  const originalDone = new Map<DeliveryResult, () => void>();
  if (resendEvery !== undefined) {
    for (const [i, original] of results.entries()) {
      if (i % resendEvery !== resendEvery - 1) continue;
      const copy: DeliveryResult = {
        delivery: original.delivery,
        attempts: 0,
        last: undefined,
        accepted: false,
      };
      const done = new Promise<void>((resolve) => originalDone.set(original, resolve));
      resendsOf.set(original, { copy, originalDone: done });
    }
  }
  const resends = [...resendsOf.values()].map(({ copy }) => copy);

  /** Sends one delivery until it gets a 202 or the deadline passes. */
  const deliver = async (result: DeliveryResult): Promise<void> => {
    while (Date.now() < deadline) {
      const url = options.urls[nextUrl % options.urls.length];
      nextUrl += 1;
      result.attempts += 1;
      let retryAfterMs: number | undefined;
      try {
        const response = await fetch(`${url}/webhooks/${result.delivery.source}`, {
          method: 'POST',
          headers: signedHeaders(result.delivery),
          body: result.delivery.body,
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
        await response.arrayBuffer();
        result.last = response.status;
        if (response.status === 202) {
          result.accepted = true;
          count('202');
          return;
        }
        const retryAfter = Number(response.headers.get('retry-after'));
        if (Number.isFinite(retryAfter) && retryAfter > 0) retryAfterMs = retryAfter * 1000;
      } catch (error) {
        result.last = errorCode(error);
      }
      count(String(result.last));
      // Exponential from 50 ms with jitter; Retry-After honoured, both capped small for the test's sake.
      const backoff = retryAfterMs ?? 50 * 2 ** Math.min(result.attempts - 1, 6);
      await sleep(Math.min(backoff, maxBackoffMs) * (0.5 + Math.random() / 2));
    }
  };

  const tasks: (() => Promise<void>)[] = [
    ...results.map((result, i) => async () => {
      const due = started + (options.ratePerSecond ? (i * 1000) / options.ratePerSecond : 0);
      if (due > Date.now()) await sleep(due - Date.now());
      await deliver(result);
      if (result.accepted) acceptedCount += 1;
      originalDone.get(result)?.();
    }),
    // Queued after every original, so a lane waiting here never holds up an original.
    ...[...resendsOf.entries()].map(([original, resend]) => async () => {
      await resend.originalDone;
      if (original.accepted) await deliver(resend.copy);
    }),
  ];
  let next = 0;
  const lane = async () => {
    for (let task = tasks[next++]; task; task = tasks[next++]) await task();
  };

  const done = Promise.all(Array.from({ length: concurrency }, lane)).then((): LoadReport => {
    const all = [...results, ...resends];
    return {
      results,
      resends,
      sent: results.filter((r) => r.attempts > 0).length,
      accepted: results.filter((r) => r.accepted).length,
      retries: all.reduce((sum, r) => sum + Math.max(0, r.attempts - 1), 0),
      answers,
      acceptedKeys: new Set(results.filter((r) => r.accepted).map((r) => deliveryKey(r.delivery))),
    };
  });
  return { accepted: () => acceptedCount, done };
}
