import { normalizeAddress } from '@inlet/config';

export interface LoginLimiterOptions {
  /** Failed sign-ins a key may make before it must wait between attempts (default 5). */
  readonly freeFailures?: number;
  /** The wait after the first failure past the free ones; it doubles with each further one (default 1 s). */
  readonly baseDelayMs?: number;
  /** The longest wait between attempts (default 15 min). */
  readonly maxDelayMs?: number;
  /** A key with no failure for this long is forgotten (default 1 h). */
  readonly forgetAfterMs?: number;
  /** Addresses and devices remembered at once, each (default 10 000); the stalest is forgotten past that. */
  readonly maxTracked?: number;
  readonly now?: () => number;
}

/** Who is trying to sign in, as far as the request tells before the password is checked. */
export interface LoginAttempt {
  /** The client address (the socket's). */
  readonly address: string;
  /** The user name sent, or null when the request held none that could be read. */
  readonly user: string | null;
  /** True when `user` is one of the configured users. */
  readonly knownUser: boolean;
  /** The id of a valid device cookie issued to that user, or null. */
  readonly device: string | null;
}

interface Backoff {
  failures: number;
  lastFailureAt: number;
  nextAttemptAt: number;
}

interface BackoffSettings {
  readonly freeFailures: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly forgetAfterMs: number;
  readonly now: () => number;
}

/** Failures per key with an exponential wait between attempts, holding at most `maxTracked` keys. */
class BackoffTable {
  private readonly entries = new Map<string, Backoff>();

  constructor(
    private readonly settings: BackoffSettings,
    private readonly maxTracked: number,
  ) {}

  /** Seconds until `key` may try again, or 0 when it may try now. */
  retryAfterSeconds(key: string): number {
    const entry = this.current(key);
    if (entry === undefined) return 0;
    const waitMs = entry.nextAttemptAt - this.settings.now();
    return waitMs > 0 ? Math.ceil(waitMs / 1000) : 0;
  }

  fail(key: string): void {
    const { freeFailures, baseDelayMs, maxDelayMs, now } = this.settings;
    const at = now();
    const entry = this.current(key) ?? { failures: 0, lastFailureAt: at, nextAttemptAt: at };
    entry.failures += 1;
    entry.lastFailureAt = at;
    const past = entry.failures - freeFailures;
    // 2^past overflows to Infinity long after the cap is reached: min() keeps it finite.
    if (past > 0) entry.nextAttemptAt = at + Math.min(maxDelayMs, baseDelayMs * 2 ** (past - 1));
    // Re-inserting keeps the map in order of last failure, so the stalest key is the first.
    this.entries.delete(key);
    if (this.entries.size >= this.maxTracked) this.evict();
    this.entries.set(key, entry);
  }

  get size(): number {
    return this.entries.size;
  }

  private current(key: string): Backoff | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined && this.forgotten(entry)) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private forgotten(entry: Backoff): boolean {
    const now = this.settings.now();
    return entry.nextAttemptAt <= now && entry.lastFailureAt + this.settings.forgetAfterMs <= now;
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.forgotten(entry)) this.entries.delete(key);
    }
    if (this.entries.size >= this.maxTracked) {
      const stalest = this.entries.keys().next();
      if (stalest.done !== true) this.entries.delete(stalest.value);
    }
  }
}

/**
 * The key a client address is counted under: IPv4 (and IPv4-mapped IPv6) by address, IPv6 by its
 * /64, since one host or one customer commonly holds a whole /64 and could otherwise use a fresh
 * address for every guess.
 */
export function addressKey(address: string): string {
  const parsed = normalizeAddress(address);
  if (parsed === undefined) return address.slice(0, 100);
  if (parsed.family === 'ipv4') return parsed.address;
  const [head = '', tail] = parsed.address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [
    ...headGroups,
    ...Array.from({ length: 8 - headGroups.length - tailGroups.length }, () => '0'),
    ...tailGroups,
  ];
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** A user name as counted; names are at most 64 characters, so a longer one is made up anyway. */
const nameKey = (name: string | null) => (name ?? '').slice(0, 128);

/**
 * Slows down password guessing without letting a guesser lock the operators out. Failures are
 * counted per client address (IPv6 per /64) and per user name; past a few, each key must wait
 * between attempts, 1 s doubling up to 15 min, and an attempt that comes early is refused without
 * its password being checked, so guessing on gets no answer. A request carrying a valid device
 * cookie (issued to that user after a successful sign-in) is counted only under that device: an
 * operator's browser keeps working while someone else hammers the same user name or comes through
 * the same proxy. Counts live in this process's memory and are forgotten after an hour without
 * failures.
 */
export class LoginLimiter {
  private readonly addresses: BackoffTable;
  private readonly users: BackoffTable;
  private readonly otherNames: BackoffTable;
  private readonly devices: BackoffTable;

  constructor(options: LoginLimiterOptions = {}) {
    const settings: BackoffSettings = {
      freeFailures: options.freeFailures ?? 5,
      baseDelayMs: options.baseDelayMs ?? 1000,
      maxDelayMs: options.maxDelayMs ?? 15 * 60_000,
      forgetAfterMs: options.forgetAfterMs ?? 60 * 60_000,
      now: options.now ?? Date.now,
    };
    const maxTracked = options.maxTracked ?? 10_000;
    this.addresses = new BackoffTable(settings, maxTracked);
    this.devices = new BackoffTable(settings, maxTracked);
    // Only configured user names get here, so this table cannot grow past the number of users, and
    // a flood of made-up names, counted apart, cannot push a real user's count out.
    this.users = new BackoffTable(settings, Number.POSITIVE_INFINITY);
    // Made-up names are throttled as well, so that only real names getting a 429 does not tell them apart.
    this.otherNames = new BackoffTable(settings, maxTracked);
  }

  /** Seconds this attempt must wait before its password is checked, or 0 when it may be checked now. */
  retryAfterSeconds(attempt: LoginAttempt): number {
    if (attempt.device !== null) return this.devices.retryAfterSeconds(attempt.device);
    const names = this.namesTable(attempt);
    return Math.max(
      this.addresses.retryAfterSeconds(addressKey(attempt.address)),
      names === null ? 0 : names.retryAfterSeconds(nameKey(attempt.user)),
    );
  }

  /** Records a failed sign-in. */
  fail(attempt: LoginAttempt): void {
    if (attempt.device !== null) {
      this.devices.fail(attempt.device);
      return;
    }
    this.addresses.fail(addressKey(attempt.address));
    this.namesTable(attempt)?.fail(nameKey(attempt.user));
  }

  private namesTable(attempt: LoginAttempt): BackoffTable | null {
    if (attempt.user === null) return null;
    return attempt.knownUser ? this.users : this.otherNames;
  }

  /** Addresses remembered now (for tests). */
  get trackedAddresses(): number {
    return this.addresses.size;
  }
}
