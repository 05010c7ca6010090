import { describe, expect, it } from 'vitest';
import type { PhaseCpu } from './cpu-meter.js';
import { bracketed, type HttpMeasurement } from './ingest-suite.js';

function window(perSecond: number, p50: number, p99: number, peakRssMb: number | null): HttpMeasurement {
  return {
    load: {
      seconds: 10,
      sent: perSecond * 10,
      accepted: perSecond * 10,
      acceptedPerSecond: perSecond,
      statuses: { '202': perSecond * 10 },
      errors: 0,
      timeouts: 0,
      latencyMs: { p50, p99, max: p99 * 2 },
      stoppedEarly: false,
    },
    cpu: {} as PhaseCpu,
    peakRssMb,
  };
}

describe('bracketed', () => {
  it('averages the rate and latencies of the windows before and after, and keeps the higher peak RSS', () => {
    expect(bracketed(window(13_000, 3, 9, 150), window(11_001, 4, 12.5, 160))).toEqual({
      acceptedPerSecond: 12_001,
      p50Ms: 3.5,
      p99Ms: 10.75,
      peakRssMb: 160,
    });
  });

  it('gives no latency when a window has none, and the known peak when only one was read', () => {
    const silent = window(0, 0, 0, null);
    silent.load.latencyMs = null;
    expect(bracketed(window(10_000, 3, 9, 150), silent)).toEqual({
      acceptedPerSecond: 5000,
      p50Ms: null,
      p99Ms: null,
      peakRssMb: 150,
    });
  });
});
