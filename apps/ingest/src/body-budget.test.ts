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
