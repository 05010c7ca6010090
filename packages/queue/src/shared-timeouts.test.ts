import { describe, expect, it } from 'vitest';
import { SharedTimeouts } from './shared-timeouts.js';

const never = new Promise<never>(() => {});

describe('SharedTimeouts', () => {
  it('settles as the promise does when it settles in time', async () => {
    const timeouts = new SharedTimeouts(10);
    await expect(timeouts.within(Promise.resolve(7), 1000, () => new Error('late'))).resolves.toBe(7);
    await expect(
      timeouts.within(Promise.reject(new Error('refused')), 1000, () => new Error('late')),
    ).rejects.toThrow('refused');
    expect(timeouts.size).toBe(0);
  });

  it('rejects with the timeout error once the limit has passed, not before', async () => {
    const timeouts = new SharedTimeouts(10);
    const started = performance.now();
    const outcome = timeouts.within(never, 80, () => new Error('late')).catch((error: Error) => error);
    const error = await outcome;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('late');
    expect(performance.now() - started).toBeGreaterThanOrEqual(79);
    expect(timeouts.size).toBe(0);
  });

  it('expires each promise by its own deadline, keeping the others', async () => {
    const timeouts = new SharedTimeouts(10);
    const short = timeouts.within(never, 30, () => new Error('short')).catch((error: Error) => error.message);
    let releaseLong: (value: string) => void = () => {};
    const long = timeouts.within(
      new Promise<string>((resolve) => {
        releaseLong = resolve;
      }),
      5000,
      () => new Error('long'),
    );
    expect(await short).toBe('short');
    expect(timeouts.size).toBe(1);
    releaseLong('in time');
    expect(await long).toBe('in time');
    expect(timeouts.size).toBe(0);
  });
});
