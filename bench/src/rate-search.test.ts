import { describe, expect, it } from 'vitest';
import { holdForLonger, roundRate, searchRate } from './rate-search.js';

const capacity = (limit: number) => async (rate: number) => ({ sustained: rate <= limit, result: rate });

describe('searchRate', () => {
  it('goes up while rates hold, then bisects towards the first that fails', async () => {
    const outcome = await searchRate(1000, 5, capacity(2100));
    expect(outcome.steps.map((step) => [step.rate, step.sustained])).toEqual([
      [1000, true],
      [1400, true],
      [1950, true],
      [2750, false],
      [2350, false],
    ]);
    expect(outcome.best?.rate).toBe(1950);
  });

  it('halves from the start while nothing holds', async () => {
    const outcome = await searchRate(4000, 3, capacity(1500));
    expect(outcome.steps.map((step) => step.rate)).toEqual([4000, 2000, 1000]);
    expect(outcome.best?.rate).toBe(1000);
  });

  it('reports no best rate when none held', async () => {
    const outcome = await searchRate(1000, 2, capacity(10));
    expect(outcome.best).toBeUndefined();
    expect(outcome.steps).toHaveLength(2);
  });

  it('stops early when the bounds meet', async () => {
    const outcome = await searchRate(100, 10, capacity(120));
    expect(outcome.steps.map((step) => step.rate)).toEqual([100, 150]);
    expect(outcome.best?.rate).toBe(100);
  });

  it('rounds rates to steps of 50, never below 50', () => {
    expect(roundRate(1234)).toBe(1250);
    expect(roundRate(3)).toBe(50);
  });
});

describe('holdForLonger', () => {
  it('steps down by the factor until a long window holds', async () => {
    const tried: number[] = [];
    const outcome = await holdForLonger(2000, 0.85, 4, async (rate) => {
      tried.push(rate);
      return { sustained: rate <= 1300, result: rate };
    });
    expect(tried).toEqual([2000, 1700, 1450, 1250]);
    expect(outcome.held).toEqual({ rate: 1250, sustained: true, result: 1250 });
    expect(outcome.windows).toHaveLength(4);
  });

  it('stops at the first rate that holds', async () => {
    const outcome = await holdForLonger(1000, 0.85, 4, async (rate) => ({ sustained: true, result: rate }));
    expect(outcome.windows.map((w) => w.rate)).toEqual([1000]);
    expect(outcome.held?.rate).toBe(1000);
  });

  it('gives up after the tries, or once the rate cannot go lower, with nothing held', async () => {
    const never = async (rate: number) => ({ sustained: false, result: rate });
    const outcome = await holdForLonger(1000, 0.85, 3, never);
    expect(outcome.windows.map((w) => w.rate)).toEqual([1000, 850, 700]);
    expect(outcome.held).toBeUndefined();
    const floor = await holdForLonger(50, 0.85, 5, never);
    expect(floor.windows.map((w) => w.rate)).toEqual([50]);
  });
});
