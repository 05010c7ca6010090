import { createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { DashboardUser } from './auth.js';

/** The cookie a browser gets after signing in, which lets it sign in while others are throttled. */
export const DEVICE_COOKIE = 'inlet_device';
/** A year: the cookie proves only that this browser once knew the password, and a new password voids it. */
export const DEVICE_COOKIE_MAX_AGE_SECONDS = 365 * 86_400;

const VERSION = 'v1';
const COOKIE_TEXT = /^v1\.([\w-]{22})\.(\d{1,12})\.([\w-]{43})$/;

export interface DeviceCookiesOptions {
  readonly maxAgeSeconds?: number;
  readonly now?: () => number;
}

/** A valid device cookie: its id (what its failures are counted under) and when it runs out. */
export interface Device {
  readonly id: string;
  readonly expiresAt: number;
}

/**
 * Signed device cookies (OWASP's "device cookie" against lockout attacks), one key per user derived
 * from that user's password with scrypt: every dashboard process with the same settings accepts
 * the same cookies, a restart keeps them, and changing a password voids every cookie issued to its
 * user. scrypt makes a stolen cookie slow to try passwords against.
 */
export class DeviceCookies {
  private readonly keys = new Map<string, Buffer>();
  private readonly passwords: ReadonlyMap<string, string>;
  private readonly maxAgeSeconds: number;
  private readonly now: () => number;

  constructor(users: readonly DashboardUser[], options: DeviceCookiesOptions = {}) {
    this.passwords = new Map(users.map((user) => [user.name, user.password]));
    this.maxAgeSeconds = options.maxAgeSeconds ?? DEVICE_COOKIE_MAX_AGE_SECONDS;
    this.now = options.now ?? Date.now;
  }

  /** A new cookie value for `user`, who has just signed in. */
  issue(user: string): string {
    const id = randomBytes(16).toString('base64url');
    const expires = Math.floor(this.now() / 1000) + this.maxAgeSeconds;
    return `${VERSION}.${id}.${expires}.${this.sign(user, id, expires).toString('base64url')}`;
  }

  /** The device of a cookie issued to `user` that has not run out, or null for anything else. */
  verify(value: string | undefined, user: string): Device | null {
    if (value === undefined || !this.passwords.has(user)) return null;
    const match = COOKIE_TEXT.exec(value);
    if (!match) return null;
    const [, id = '', expiresText = '', mac = ''] = match;
    const expires = Number(expiresText);
    if (expires * 1000 <= this.now()) return null;
    const expected = this.sign(user, id, expires);
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    return { id, expiresAt: expires * 1000 };
  }

  /** True when a valid cookie has used up half its life: the next answer gives a fresh one. */
  dueForRenewal(device: Device): boolean {
    return device.expiresAt - this.now() < (this.maxAgeSeconds * 1000) / 2;
  }

  private sign(user: string, id: string, expires: number): Buffer {
    return createHmac('sha256', this.keyFor(user)).update(`${VERSION}\0${user}\0${id}\0${expires}`).digest();
  }

  /** Derived on first use (about 50 ms of scrypt), then kept for the life of the process. */
  private keyFor(user: string): Buffer {
    let key = this.keys.get(user);
    if (key === undefined) {
      const password = this.passwords.get(user) ?? '';
      key = scryptSync(password, `inlet-dashboard-device-cookie\0${user}`, 32, { N: 2 ** 14, r: 8, p: 1 });
      this.keys.set(user, key);
    }
    return key;
  }
}
