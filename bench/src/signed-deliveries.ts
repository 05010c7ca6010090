import { createHmac, randomBytes } from 'node:crypto';
import { BENCH_SOURCE, bodyTemplate } from './event-fixtures.js';

const COUNTER_DIGITS = 9;
const SECRET_PREFIX = 'whsec_';

/** A fresh Standard Webhooks secret (`whsec_` + base64 of 24 random bytes), one per run. */
export function generateBenchSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(24).toString('base64')}`;
}

export interface SignedDelivery {
  readonly id: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface SignedDeliveriesOptions {
  /** Makes the ids the run's own. */
  readonly runId: string;
  /** Makes the ids the phase's own (letters and digits), so no phase's event is a duplicate of another's. */
  readonly tag: string;
  /** A `whsec_` secret, as in the sources file. */
  readonly secret: string;
  readonly source?: string;
  /** Clock in ms, injectable for tests. */
  readonly now?: () => number;
}

/**
 * Standard Webhooks deliveries as a provider sends them: a fresh `webhook-id` per request, the current
 * time, and a `v1` HMAC-SHA256 over `id.timestamp.body`. Made cheap on purpose, since the load
 * generator shares the machine with what it measures: the key is decoded once and each body is the
 * same 1.4 KB template with only the id spliced in (ids are fixed-width, so every body has the same
 * size), which leaves one HMAC and a few string joins per request.
 */
export class SignedDeliveries {
  readonly source: string;
  private readonly key: Buffer;
  private readonly prefix: string;
  private readonly bodyFor: (eventId: string) => string;
  private readonly now: () => number;
  private counter = 0;

  constructor(options: SignedDeliveriesOptions) {
    if (!/^[a-z0-9]{1,8}$/.test(options.tag)) throw new TypeError('tag must be 1 to 8 letters or digits');
    if (!options.secret.startsWith(SECRET_PREFIX)) throw new TypeError('secret must start with whsec_');
    this.source = options.source ?? BENCH_SOURCE;
    this.key = Buffer.from(options.secret.slice(SECRET_PREFIX.length), 'base64');
    this.prefix = `evt_${options.runId}_${options.tag}_`;
    this.now = options.now ?? Date.now;
    const placeholder = `${this.prefix}${'#'.repeat(COUNTER_DIGITS)}`;
    this.bodyFor = bodyTemplate(placeholder, this.now());
  }

  /** Deliveries made so far. */
  get count(): number {
    return this.counter;
  }

  /** The prefix every id of these deliveries starts with. */
  get idPrefix(): string {
    return this.prefix;
  }

  next(): SignedDelivery {
    const id = `${this.prefix}${String(this.counter++).padStart(COUNTER_DIGITS, '0')}`;
    const body = this.bodyFor(id);
    const timestamp = String(Math.floor(this.now() / 1000));
    const signature = createHmac('sha256', this.key)
      .update(`${id}.${timestamp}.`)
      .update(body)
      .digest('base64');
    return {
      id,
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'inlet-bench/1.0',
        'webhook-id': id,
        'webhook-timestamp': timestamp,
        'webhook-signature': `v1,${signature}`,
      },
    };
  }
}
