import { describe, expect, it } from 'vitest';
import { BodyBudget } from './body-budget.js';

describe('BodyBudget', () => {
  it('takes bytes while they fit and refuses what would go past the bound, telling how much is held', () => {
    const refused: number[] = [];
    const budget = new BodyBudget(100, (held) => refused.push(held));
    const first = budget.lease();
    const second = budget.lease();
    expect(first.take(60)).toBe(true);
    expect(second.take(40)).toBe(true);
    expect(budget.heldBytes).toBe(100);
    expect(second.take(1)).toBe(false);
    expect(refused).toEqual([100]);
    expect(budget.heldBytes).toBe(100);
  });

  it('gives back everything a lease took, once', () => {
    const budget = new BodyBudget(100);
    const lease = budget.lease();
    expect(lease.take(30)).toBe(true);
    expect(lease.take(30)).toBe(true);
    lease.release();
    lease.release();
    expect(budget.heldBytes).toBe(0);
  });

  it('takes one body larger than the bound when nothing else is held, and nothing beside it', () => {
    const budget = new BodyBudget(100);
    const large = budget.lease();
    expect(large.take(500)).toBe(true);
    expect(budget.lease().take(1)).toBe(false);
    large.release();
    expect(budget.lease().take(1)).toBe(true);
  });
});

describe('BodyBudget shares', () => {
  it('keeps one client address to its share, and takes one body of a client holding nothing', () => {
    const budget = new BodyBudget(1000, undefined, { maxBytesPerClient: 300, reservedBytes: 0 });
    const first = budget.lease('198.51.100.1');
    expect(first.take(200)).toBe(true);
    const second = budget.lease('198.51.100.1');
    expect(second.take(100)).toBe(true);
    expect(second.take(1)).toBe(false);
    expect(budget.lease('198.51.100.2').take(300)).toBe(true);
    // A client holding nothing may take a body over its share, as long as the total allows.
    expect(budget.lease('198.51.100.3').take(400)).toBe(true);
    first.release();
    expect(second.take(200)).toBe(true);
    second.release();
    expect(budget.clientsHolding).toBe(2);
  });

  it('keeps the reserved share for small bodies: large ones are refused short of the bound', () => {
    const budget = new BodyBudget(1000, undefined, { smallBodyBytes: 100, reservedBytes: 400 });
    const large = budget.lease(undefined, 500);
    expect(large.take(500)).toBe(true);
    // Bytes count as they arrive: 500 + 150 would reach into the 400 kept for small bodies.
    const second = budget.lease(undefined, 200);
    expect(second.take(100)).toBe(true);
    expect(second.take(50)).toBe(false);
    second.release();
    expect(budget.lease(undefined, 100).take(100)).toBe(true);
    const small = budget.lease();
    expect(small.take(90)).toBe(true);
    // A body without a Content-Length turns large once it grows past `smallBodyBytes`.
    expect(small.take(20)).toBe(false);
    expect(budget.heldBytes).toBe(690);
    for (let i = 0; i < 3; i += 1) expect(budget.lease().take(100)).toBe(true);
    expect(budget.lease().take(20)).toBe(false);
  });

  it('gives back the large share when a large body is released', () => {
    const budget = new BodyBudget(1000, undefined, { smallBodyBytes: 100, reservedBytes: 400 });
    const large = budget.lease(undefined, 600);
    expect(large.take(600)).toBe(true);
    const next = budget.lease(undefined, 600);
    expect(next.take(1)).toBe(false);
    large.release();
    expect(next.take(600)).toBe(true);
    expect(budget.heldBytes).toBe(600);
  });
});
