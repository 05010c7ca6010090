import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { parseSources } from '@inlet/config';
import { createEventQueue, createRedis, EventProducer } from '@inlet/queue';
import { createMemoryNonceStore } from '@inlet/signatures';
import { createTestCertificates, type TestCertificates, testRedisUrl, uniqueQueue } from '@inlet/testkit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { createIngestServer, type IngestServer, ingestServerOptions } from './ingest-server.js';

/** Sends raw bytes and reads until the server closes the connection. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve(answer) : reject(error),
    );
    socket.write(request);
  });
}

function parsed(answer: string): { status: number; contentType: string | undefined; body: unknown } {
  const [head = '', body = ''] = answer.split('\r\n\r\n', 2);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const contentType = /\r\ncontent-type: ([^\r]*)/i.exec(head)?.[1];
  return { status, contentType, body: body ? JSON.parse(body) : undefined };
}

describe('createIngestServer', () => {
  const connection = createRedis(testRedisUrl(), 'producer');
  const producer = new EventProducer(createEventQueue(connection, uniqueQueue()), connection);
  const sources = parseSources({ sources: { gh: { provider: 'github', secrets: ['s'] } } });
  const app = createApp({
    sources,
    producer,
    nonces: createMemoryNonceStore(),
    logger: pino({ level: 'silent' }),
  });
  const server = createIngestServer(app.fetch);
  let port = 0;
  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.close();
    await producer.close();
  });

  it('sets the timeouts and header bounds', () => {
    expect(server.headersTimeout).toBe(ingestServerOptions.headersTimeout);
    expect(server.requestTimeout).toBe(ingestServerOptions.requestTimeout);
    expect(server.keepAliveTimeout).toBe(ingestServerOptions.keepAliveTimeout);
    expect(server.maxHeadersCount).toBe(100);
  });

  it('answers headers over 16 KiB with 431 and a JSON error body', async () => {
    const answer = parsed(
      await raw(port, `POST /webhooks/gh HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
    );
    expect(answer.status).toBe(431);
    expect(answer.contentType).toBe('application/json');
    expect(answer.body).toEqual({ error: { code: 'headers_too_large', message: expect.any(String) } });
  });

  it.each([
    ['a bare LF inside a header value', 'POST /webhooks/gh HTTP/1.1\r\nHost: x\r\nX-A: a\nb\r\n\r\n'],
    ['a header name with a space', 'POST /webhooks/gh HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n'],
    [
      'both Content-Length and Transfer-Encoding',
      'POST /webhooks/gh HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    [
      'a malformed chunk size',
      'POST /webhooks/gh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
    ],
    ['not HTTP at all', '\u0000\u0001garbage\r\n\r\n'],
  ])('answers %s with 400 bad_request as JSON', async (_name, request) => {
    const answer = parsed(await raw(port, request));
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: { code: expect.stringMatching(/^(bad_request|invalid_payload)$/), message: expect.any(String) },
    });
  });

  it('answers a request without Host with 400 bad_request as JSON', async () => {
    const answer = parsed(
      await raw(port, 'POST /webhooks/gh HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'),
    );
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: { code: 'bad_request', message: expect.any(String) } });
  });

  it('answers a Host header that is not a host with 400 bad_request as JSON', async () => {
    const answer = parsed(
      await raw(
        port,
        'POST /webhooks/gh HTTP/1.1\r\nHost: exa mple.com/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
      ),
    );
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: { code: 'bad_request', message: expect.any(String) } });
  });
});

describe('createIngestServer with a certificate', () => {
  const connection = createRedis(testRedisUrl(), 'producer');
  const producer = new EventProducer(createEventQueue(connection, uniqueQueue()), connection);
  const app = createApp({
    sources: parseSources({ sources: { gh: { provider: 'github', secrets: ['s'] } } }),
    producer,
    nonces: createMemoryNonceStore(),
    logger: pino({ level: 'silent' }),
  });
  let certs: TestCertificates | undefined;
  let server: IngestServer | undefined;
  let port = 0;
  let ca = '';
  beforeAll(async () => {
    certs = await createTestCertificates();
    ca = readFileSync(certs.caFile, 'utf8');
    server = createIngestServer(app.fetch, {
      cert: readFileSync(certs.server.certFile, 'utf8'),
      key: readFileSync(certs.server.keyFile, 'utf8'),
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server?.close();
    await producer.close();
    await certs?.remove();
  });

  /** Sends raw bytes over TLS (trusting the test CA) and reads until the server closes. */
  const rawTls = (request: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connectTls({ host: '127.0.0.1', port, ca }, () => socket.write(request));
      let answer = '';
      socket.on('data', (chunk: Buffer) => {
        answer += chunk.toString('latin1');
      });
      socket.on('close', () => resolve(answer));
      socket.on('error', reject);
    });

  it('serves HTTPS with the same bounds, refusals answered in JSON', async () => {
    expect(server?.headersTimeout).toBe(ingestServerOptions.headersTimeout);
    expect(server?.requestTimeout).toBe(ingestServerOptions.requestTimeout);
    expect(server?.maxHeadersCount).toBe(100);
    const tooBig = parsed(
      await rawTls(`POST /webhooks/gh HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
    );
    expect(tooBig.status).toBe(431);
    expect(tooBig.body).toEqual({ error: { code: 'headers_too_large', message: expect.any(String) } });
    const health = await rawTls('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expect(health).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('refuses plain HTTP on the TLS port', async () => {
    const answer = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(answer).not.toMatch(/^HTTP\/1\.1 200/);
  });
});
