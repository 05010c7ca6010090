import { describe, expect, it } from 'vitest';
import type { DashboardUser } from './auth.js';
import { DeviceCookies } from './device-cookie.js';

const ADMIN: DashboardUser = { name: 'admin', password: 'correct horse battery', role: 'admin' };
const VIEWER: DashboardUser = { name: 'viewer', password: 'staple staple staple', role: 'readonly' };

describe('DeviceCookies', () => {
  const clock = { now: 1_700_000_000_000 };
  const cookies = new DeviceCookies([ADMIN, VIEWER], { now: () => clock.now });

  it('accepts a cookie it issued, for that user only', () => {
    const value = cookies.issue('admin');
    expect(value).toMatch(/^v1\.[\w-]{22}\.\d+\.[\w-]{43}$/);
    const device = cookies.verify(value, 'admin');
    expect(device?.id).toHaveLength(22);
    expect(cookies.verify(value, 'viewer')).toBeNull();
    expect(cookies.verify(value, 'root')).toBeNull();
    expect(cookies.issue('admin')).not.toBe(value);
  });

  it('refuses a tampered, truncated or foreign cookie', () => {
    const value = cookies.issue('viewer');
    const [version, id, expires, mac] = value.split('.');
    const flip = (text = '') => `${text.slice(0, 5)}${text[5] === 'A' ? 'B' : 'A'}${text.slice(6)}`;
    for (const forged of [
      `${version}.${flip(id)}.${expires}.${mac}`,
      `${version}.${id}.${Number(expires) + 1}.${mac}`,
      `${version}.${id}.${expires}.${flip(mac)}`,
      value.slice(0, -1),
      `v2.${id}.${expires}.${mac}`,
      '',
      undefined,
    ]) {
      expect(cookies.verify(forged, 'viewer'), String(forged)).toBeNull();
    }
  });

  it('runs out after its lifetime, and asks to be renewed past half of it', () => {
    const start = clock.now;
    const value = cookies.issue('admin');
    const device = cookies.verify(value, 'admin');
    if (device === null) throw new Error('expected a device');
    expect(cookies.dueForRenewal(device)).toBe(false);
    clock.now = start + 200 * 86_400_000;
    expect(cookies.dueForRenewal(device)).toBe(true);
    expect(cookies.verify(value, 'admin')).not.toBeNull();
    clock.now = start + 366 * 86_400_000;
    expect(cookies.verify(value, 'admin')).toBeNull();
    clock.now = start;
  });

  it('is voided by a new password, and accepted by another process with the same one', () => {
    const value = cookies.issue('admin');
    const same = new DeviceCookies([ADMIN], { now: () => clock.now });
    expect(same.verify(value, 'admin')).not.toBeNull();
    const changed = new DeviceCookies([{ ...ADMIN, password: 'a brand new password' }], {
      now: () => clock.now,
    });
    expect(changed.verify(value, 'admin')).toBeNull();
  });
});
