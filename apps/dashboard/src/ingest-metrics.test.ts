import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { fetchSignatureFailures, parseSignatureFailures } from './ingest-metrics.js';

describe('parseSignatureFailures', () => {
  it('reads the signature failure samples, largest first, and nothing else', () => {
    const text = [
      '# HELP inlet_signature_failures_total Deliveries refused.',
      '# TYPE inlet_signature_failures_total counter',
      'inlet_signature_failures_total{source="stripe",reason="invalid_signature"} 3',
      'inlet_signature_failures_total{reason="missing_signature",source="github"} 12',
      'inlet_signature_failures_total{source="we\\"ird\\\\",reason="invalid_token"} 1 1700000000000',
      'inlet_signature_failures_total{source="broken"} 5',
      'inlet_signature_failures_total_created{source="stripe",reason="invalid_signature"} 1700000000',
      'inlet_ingest_requests_total{source="stripe",status="401"} 3',
      'inlet_signature_failures_total{source="nan",reason="x"} oops',
    ].join('\n');
    expect(parseSignatureFailures(text)).toEqual([
      { source: 'github', reason: 'missing_signature', count: 12 },
      { source: 'stripe', reason: 'invalid_signature', count: 3 },
      { source: 'we"ird\\', reason: 'invalid_token', count: 1 },
    ]);
    expect(parseSignatureFailures('')).toEqual([]);
  });
});

describe('fetchSignatureFailures', () => {
  it('is unavailable when turned off, unreachable, failing or too slow', async () => {
    expect(await fetchSignatureFailures(null)).toMatchObject({ available: false });
    expect(await fetchSignatureFailures('http://127.0.0.1:9/metrics')).toEqual({
      available: false,
      reason: 'cannot be reached',
    });

    const server = createServer((req, res) => {
      if (req.url === '/error') res.writeHead(500).end('no');
      // /slow never answers.
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await fetchSignatureFailures(`${base}/error`)).toEqual({
        available: false,
        reason: 'ingest answered 500',
      });
      expect(await fetchSignatureFailures(`${base}/slow`, { timeoutMs: 200 })).toEqual({
        available: false,
        reason: 'no answer within 0.2 s',
      });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
