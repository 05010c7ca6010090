import { describe, expect, it } from 'vitest';
import { constantTimeEqual } from './constant-time.js';

describe('constantTimeEqual', () => {
  it('is true for equal strings and buffers', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual(Buffer.from([1, 2, 3]), Buffer.from([1, 2, 3]))).toBe(true);
    expect(constantTimeEqual('abc', Buffer.from('abc'))).toBe(true);
  });

  it('is false for different values of the same length', () => {
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
  });

  it('is false, without throwing, for different lengths', () => {
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual(Buffer.alloc(32), Buffer.alloc(0))).toBe(false);
  });

  it('compares bytes, not characters', () => {
    expect(constantTimeEqual('é', 'e')).toBe(false);
  });
});
