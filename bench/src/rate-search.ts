/** Offered rates are multiples of this: finer steps would be lost in the noise of one window. */
const RATE_STEP = 50;
/** Up while every rate holds; once one fails, halfway between the best held and the failed one. */
const GROWTH = 1.4;

export function roundRate(rate: number): number {
  return Math.max(RATE_STEP, Math.round(rate / RATE_STEP) * RATE_STEP);
}

export interface SearchStep<T> {
  rate: number;
  sustained: boolean;
  result: T;
}

export interface SearchOutcome<T> {
  /** The highest rate sustained, with its window; undefined when none was. */
  best: SearchStep<T> | undefined;
  steps: SearchStep<T>[];
}

/**
 * A short search for the highest rate a system sustains: `steps` windows, from `start`, going up by
 * 40% while each holds and bisecting once one fails (halving while none has held yet). One window
 * per rate, so a noisy failure costs precision, not correctness: the best rate is one that held.
 */
export async function searchRate<T>(
  start: number,
  steps: number,
  trial: (rate: number) => Promise<{ sustained: boolean; result: T }>,
): Promise<SearchOutcome<T>> {
  const tried: SearchStep<T>[] = [];
  let best: SearchStep<T> | undefined;
  let failedAt = Number.POSITIVE_INFINITY;
  let rate = roundRate(start);
  for (let step = 0; step < steps; step++) {
    const { sustained, result } = await trial(rate);
    const outcome = { rate, sustained, result };
    tried.push(outcome);
    if (sustained) {
      if (best === undefined || rate > best.rate) best = outcome;
    } else {
      failedAt = Math.min(failedAt, rate);
    }
    const held = best?.rate ?? 0;
    const next = Number.isFinite(failedAt)
      ? roundRate(held > 0 ? (held + failedAt) / 2 : failedAt / 2)
      : roundRate(held * GROWTH);
    // Nothing left between the best held rate and the lowest failed one.
    if (next <= held || next >= failedAt || tried.some((t) => t.rate === next)) break;
    rate = next;
  }
  return { best, steps: tried };
}

export interface LongWindowOutcome<T> {
  /** The first long window that held, or undefined when none of them did. */
  held: SearchStep<T> | undefined;
  windows: SearchStep<T>[];
}

/**
 * The long window at `rate`, and, while it does not hold, again at `factor` times the rate, up to
 * `tries` windows in all: a rate counts as sustained only once a whole long window held it, and a
 * short search window can hold a rate that a minute does not.
 */
export async function holdForLonger<T>(
  rate: number,
  factor: number,
  tries: number,
  trial: (rate: number) => Promise<{ sustained: boolean; result: T }>,
): Promise<LongWindowOutcome<T>> {
  const windows: SearchStep<T>[] = [];
  let next = roundRate(rate);
  for (let attempt = 0; attempt < tries; attempt++) {
    const { sustained, result } = await trial(next);
    const window = { rate: next, sustained, result };
    windows.push(window);
    if (sustained) return { held: window, windows };
    const lower = roundRate(next * factor);
    if (lower >= next) break;
    next = lower;
  }
  return { held: undefined, windows };
}
