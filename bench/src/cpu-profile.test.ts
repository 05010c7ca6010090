import { describe, expect, it } from 'vitest';
import { moduleOf, summarizeCpuProfile } from './cpu-profile.js';

const frame = (functionName: string, url: string, lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
  columnNumber: 0,
  scriptId: '0',
});

describe('summarizeCpuProfile', () => {
  it('ranks functions and modules by self time, leaving idle time out of the shares', () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), hitCount: 0 },
        { id: 2, callFrame: frame('(idle)', ''), hitCount: 50 },
        { id: 3, callFrame: frame('parse', 'file:///r/node_modules/msgpackr/unpack.js', 9), hitCount: 30 },
        { id: 4, callFrame: frame('write', 'file:///r/packages/db/dist/events.js', 4), hitCount: 20 },
      ],
      startTime: 0,
      endTime: 100_000,
      samples: [],
      timeDeltas: [],
    };
    const summary = summarizeCpuProfile(profile);
    expect(summary.totalMs).toBe(100);
    expect(summary.idleMs).toBe(50);
    expect(summary.functions.map((entry) => [entry.name, entry.ms, entry.share])).toEqual([
      ['parse (msgpackr/unpack.js:10)', 30, 0.6],
      ['write (packages/db/dist/events.js:5)', 20, 0.4],
    ]);
    expect(summary.modules.map((entry) => entry.name)).toEqual(['msgpackr', '@inlet/db']);
  });

  it('names the package a script belongs to', () => {
    expect(moduleOf('node:internal/streams/writable')).toBe('node:internal');
    expect(moduleOf('file:///r/node_modules/@scope/pkg/index.js')).toBe('@scope/pkg');
    expect(moduleOf('file:///r/apps/worker/dist/worker.js')).toBe('@inlet/worker');
  });
});
