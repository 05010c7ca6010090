import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseSources, type Source } from '@inlet/config';
import { createEventQueue, createRedis } from '@inlet/queue';
import { generateJwtKeyPair } from '@inlet/signatures';
import { freePort, testRedisUrl, uniqueQueue } from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProcess, removeQueue, runNode, waitHealthy } from './support.js';

// Deterministic: a failure names its seed, and FUZZ_SEED replays it.
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_122);
const CASES = 2500;
const CONCURRENCY = 16;

/** mulberry32: small, seeded, good enough to pick cases. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T;
  const bytes = (length: number) => Buffer.from(Array.from({ length }, () => int(0, 255)));
  const text = (length: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-_.~') =>
    Array.from({ length }, () => alphabet[int(0, alphabet.length - 1)]).join('');
  return { next, int, pick, bytes, text };
}

interface FuzzCase {
  readonly kind: string;
  readonly request: Buffer;
  /** Cases where the connection may close without an answer (the sender stops mid-body). */
  readonly mayGoUnanswered?: boolean;
}

interface Answer {
  readonly status?: number;
  readonly headers: string;
  readonly body: string;
  readonly timedOut?: boolean;
}

/** Writes raw bytes on a fresh connection and reads one response, however the server ends it. */
function send(port: number, request: Buffer, halfClose: boolean): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (answer: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const parse = (final: boolean) => {
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) {
        if (final) finish({ headers: '', body: received.toString('latin1') });
        return;
      }
      const headers = received.subarray(0, end).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headers)?.[1]);
      const length = /\r\ncontent-length: *(\d+)/i.exec(headers)?.[1];
      const body = received.subarray(end + 4);
      if (length !== undefined && body.length >= Number(length)) {
        finish({ status, headers, body: body.subarray(0, Number(length)).toString('utf8') });
      } else if (final) {
        finish({ status, headers, body: body.toString('utf8') });
      }
    };
    const timer = setTimeout(() => finish({ headers: '', body: '', timedOut: true }), 20_000);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      parse(false);
    });
    socket.on('close', () => parse(true));
    socket.on('error', () => {});
    socket.write(request, () => {
      if (halfClose) socket.end();
    });
  });
}

type Header = readonly [string, string];

function http1(
  method: string,
  target: string,
  headers: readonly Header[],
  body: Buffer | string = '',
  options: { contentLength?: 'auto' | 'none'; host?: string | null; version?: string } = {},
): Buffer {
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  const lines = [`${method} ${target} ${options.version ?? 'HTTP/1.1'}`];
  if (options.host !== null) lines.push(`Host: ${options.host ?? '127.0.0.1'}`);
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  if ((options.contentLength ?? 'auto') === 'auto') lines.push(`Content-Length: ${payload.length}`);
  lines.push('Connection: close');
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}

function chunked(body: Buffer, size: number): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length; at += size) {
    const piece = body.subarray(at, at + size);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

const nested = (depth: number) =>
  `{"id":"evt_deep","type":"x","data":${'['.repeat(depth)}${']'.repeat(depth)}}`;

describe('malformed and hostile requests against a real ingest process', () => {
  let dir: string;
  let ingest: RunningProcess;
  let port: number;
  let sources: ReadonlyMap<string, Source>;
  const queue = uniqueQueue();
  const env: Record<string, string> = {};
  const partner = generateJwtKeyPair('ES256');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'inlet-fuzz-'));
    const document = {
      sources: {
        gh: { provider: 'github', secrets: ['env:FUZZ_GH_SECRET'] },
        pay: { provider: 'stripe', secrets: ['whsec_fuzz_secret'] },
        acme: { provider: 'standard-webhooks', secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] },
        chat: { provider: 'slack', secrets: ['slack-fuzz-secret'] },
        keyed: {
          provider: 'hmac',
          secrets: ['hmac-fuzz'],
          header: 'X-Signature',
          prefix: 'sha256=',
          idempotency: { jsonPointer: '/id' },
          maxBodyBytes: 4096,
        },
        tiny: { provider: 'hmac', secrets: ['tiny-fuzz'], header: 'X-Signature', maxBodyBytes: 64 },
        limited: {
          provider: 'github',
          secrets: ['limited-fuzz'],
          rateLimit: { points: 5, durationSeconds: 600 },
        },
        walled: {
          provider: 'github',
          secrets: ['walled-fuzz'],
          allowedIps: ['192.0.2.0/24', '2001:db8::/32'],
        },
        partner: {
          provider: 'jwt',
          publicKeys: [(await partner).publicJwk],
          issuer: 'https://issuer.example/',
          audience: 'https://hooks.example/webhooks/partner',
        },
      },
    };
    const file = path.join(dir, 'inlet.sources.json');
    await writeFile(file, JSON.stringify(document));
    port = await freePort();
    Object.assign(env, {
      REDIS_URL: testRedisUrl(),
      INLET_SOURCES: file,
      INLET_QUEUE: queue.name,
      INLET_QUEUE_PREFIX: queue.prefix,
      PORT: String(port),
      FUZZ_GH_SECRET: 'gh-fuzz-secret',
      // High enough that only `limited` is ever limited: the other cases must reach verification.
      INLET_RATE_LIMIT: '{"points":1000000,"durationSeconds":1}',
    });
    sources = parseSources(document, { env });
    ingest = runNode('apps/ingest/dist/main.js', env);
    await waitHealthy(`http://127.0.0.1:${port}/readyz`, ingest);
  });

  afterAll(async () => {
    await ingest?.stop();
    await removeQueue(queue);
    await rm(dir, { recursive: true, force: true });
  });

  const sign = async (name: string, body: string, id = 'fuzz-delivery') => {
    const source = sources.get(name);
    if (!source) throw new Error(name);
    const secret =
      name === 'partner' ? JSON.stringify((await partner).privateJwk) : (source.settings.secrets[0] ?? '');
    const headers = await source.provider.sign(
      { body, secret, timestamp: Math.floor(Date.now() / 1000), id },
      source.settings,
    );
    return Object.entries(headers);
  };

  const rssKb = async () => {
    const status = await readFile(`/proc/${ingest.child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  };

  async function generate(random: ReturnType<typeof generator>): Promise<FuzzCase> {
    const json: Header = ['Content-Type', 'application/json'];
    const body = JSON.stringify({ id: `evt_${random.text(8)}`, type: 'invoice.paid', n: random.int(0, 1e6) });
    const source = random.pick(['gh', 'pay', 'acme', 'chat', 'keyed', 'partner']);
    const kind = random.pick([
      'method',
      'unknown-path',
      'media-type',
      'garbage-signature',
      'truncated-signature',
      'missing-signature',
      'non-utf8-signed',
      'nul-signed',
      'deep-json-signed',
      'no-event-id-signed',
      'oversized',
      'oversized-chunked',
      'header-injection',
      'bad-header-bytes',
      'huge-header',
      'many-headers',
      'huge-target',
      'cl-and-te',
      'bad-chunks',
      'truncated-body',
      'no-host',
      'bad-host',
      'bad-version',
      'forged-forwarded-for',
      'rate-limited',
      'random-bytes',
    ] as const);
    switch (kind) {
      case 'method':
        return {
          kind,
          request: http1(
            random.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']),
            `/webhooks/${source}`,
            [json],
            body,
          ),
        };
      case 'unknown-path': {
        const target = random.pick([
          `/webhooks/${random.text(random.int(1, 80))}`,
          `/webhooks/${encodeURIComponent(random.bytes(random.int(1, 40)).toString('latin1'))}`,
          `/webhooks/${source.toUpperCase()}`,
          `/webhooks/${source}/extra`,
          `/webhooks/..%2f${source}`,
          '/webhooks/',
          '/',
          `/${random.text(random.int(1, 200))}`,
          `/webhooks/${'a'.repeat(random.int(64, 4000))}`,
        ]);
        return { kind, request: http1('POST', target, [json], body) };
      }
      case 'media-type':
        return {
          kind,
          request: http1(
            'POST',
            `/webhooks/${source}`,
            [
              [
                'Content-Type',
                random.pick([
                  'application/octet-stream',
                  'image/png',
                  'multipart/form-data; boundary=x',
                  'application/xml',
                  'video/mp4',
                  '*/*',
                ]),
              ],
              ...(await sign(source, body)),
            ],
            body,
          ),
        };
      case 'garbage-signature': {
        const value = random.pick([
          random.text(random.int(1, 200)),
          `sha256=${random.text(64, '0123456789abcdef')}`,
          `sha256=${random.text(random.int(1, 63), '0123456789abcdef')}`,
          `t=${random.int(0, 2e9)},v1=${random.text(64, '0123456789abcdef')}`,
          `v1,${Buffer.from(random.bytes(32)).toString('base64')}`,
          `Bearer ${random.text(random.int(10, 400), 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.')}`,
          'Bearer eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlLyJ9.',
          'x'.repeat(random.int(8193, 12_000)),
        ]);
        const names = [
          'X-Hub-Signature-256',
          'Stripe-Signature',
          'webhook-signature',
          'X-Slack-Signature',
          'X-Signature',
          'Authorization',
        ];
        const headers: Header[] = [json, [random.pick(names), value]];
        if (source === 'acme')
          headers.push(['webhook-id', 'msg_1'], ['webhook-timestamp', String(Math.floor(Date.now() / 1000))]);
        if (source === 'chat')
          headers.push(['X-Slack-Request-Timestamp', String(Math.floor(Date.now() / 1000))]);
        return { kind, request: http1('POST', `/webhooks/${source}`, headers, body) };
      }
      case 'truncated-signature': {
        const signed = await sign(source, body);
        const cut = signed.map(([name, value]): Header => {
          const credential = /signature|authorization/i.test(name);
          // At least three characters off: dropping only base64 padding leaves the same signature.
          return credential
            ? [name, value.slice(0, random.int(0, Math.max(0, value.length - 3)))]
            : [name, value];
        });
        return { kind, request: http1('POST', `/webhooks/${source}`, [json, ...cut], body) };
      }
      case 'missing-signature':
        return { kind, request: http1('POST', `/webhooks/${source}`, [json], body) };
      case 'non-utf8-signed': {
        const raw = Buffer.concat([
          Buffer.from('{"id":"'),
          random.bytes(random.int(1, 200)),
          Buffer.from([0xff, 0xfe]),
          Buffer.from('"}'),
        ]);
        // Signed over the exact bytes, so only the decoding can refuse it.
        const headers = await sign(source, raw.toString('latin1'));
        return { kind, request: http1('POST', `/webhooks/${source}`, [json, ...headers], raw) };
      }
      case 'nul-signed': {
        const text = `{"id":"a\u0000b"}`;
        return {
          kind,
          request: http1('POST', `/webhooks/${source}`, [json, ...(await sign(source, text))], text),
        };
      }
      case 'deep-json-signed': {
        // Only schemes that parse the body: the rest would rightly accept it.
        const name = random.pick(['pay', 'chat', 'keyed']);
        const text = nested(random.int(65, name === 'keyed' ? 1500 : 20_000));
        return {
          kind,
          request: http1('POST', `/webhooks/${name}`, [json, ...(await sign(name, text))], text),
        };
      }
      case 'no-event-id-signed': {
        const text = JSON.stringify({ data: { n: random.int(0, 1e6) } });
        return {
          kind,
          request: http1('POST', '/webhooks/keyed', [json, ...(await sign('keyed', text))], text),
        };
      }
      case 'oversized': {
        const name = random.pick(['tiny', 'keyed']);
        const text = 'x'.repeat(name === 'tiny' ? random.int(65, 5000) : random.int(4097, 20_000));
        return {
          kind,
          request: http1('POST', `/webhooks/${name}`, [json, ...(await sign(name, text))], text),
        };
      }
      case 'oversized-chunked': {
        const text = Buffer.from('y'.repeat(random.int(65, 3000)));
        return {
          kind,
          request: Buffer.concat([
            http1(
              'POST',
              '/webhooks/tiny',
              [json, ['Transfer-Encoding', 'chunked'], ...(await sign('tiny', text.toString()))],
              '',
              {
                contentLength: 'none',
              },
            ),
            chunked(text, random.int(1, 100)),
          ]),
        };
      }
      case 'header-injection': {
        // CRLF inside a value only starts another header line; the forged delivery id and signature
        // must not make the delivery verify.
        const injected = random.pick([
          'x\r\nX-GitHub-Delivery: injected',
          'sha256=00\r\nX-Hub-Signature-256: sha256=00',
          'ok\r\nContent-Length: 0',
          'ok\r\nTransfer-Encoding: chunked',
          'ok\r\n\r\nGET /healthz HTTP/1.1',
        ]);
        return { kind, request: http1('POST', `/webhooks/${source}`, [json, ['X-Custom', injected]], body) };
      }
      case 'bad-header-bytes': {
        const header: Header = random.pick<Header>([
          ['X-Bare-LF', 'a\nb'],
          ['X-Bare-CR', 'a\rb'],
          ['X-Nul', 'a\u0000b'],
          ['Bad Name', 'x'],
          ['X-Colon:', 'x'],
          ['', 'x'],
          [' X-Folded', 'x'],
          ['X-Ctl', '\u0001\u0002'],
        ]);
        return { kind, request: http1('POST', `/webhooks/${source}`, [json, header], body) };
      }
      case 'huge-header':
        return {
          kind,
          request: http1(
            'POST',
            `/webhooks/${source}`,
            [json, ['X-Huge', 'h'.repeat(random.int(17_000, 64_000))]],
            body,
          ),
        };
      case 'many-headers': {
        const headers: Header[] = Array.from({ length: random.int(100, 600) }, (_, i) => [
          `X-H${i}`,
          random.text(random.int(1, 20)),
        ]);
        return { kind, request: http1('POST', `/webhooks/${source}`, [json, ...headers], body) };
      }
      case 'huge-target':
        return {
          kind,
          request: http1(
            'POST',
            `/webhooks/${source}?${'q'.repeat(random.int(17_000, 40_000))}`,
            [json],
            body,
          ),
        };
      case 'cl-and-te':
        return {
          kind,
          request: http1(
            'POST',
            `/webhooks/${source}`,
            [json, ['Transfer-Encoding', 'chunked']],
            chunked(Buffer.from(body), 16),
          ),
        };
      case 'bad-chunks': {
        const garbage = random.pick([
          'zz\r\nabc\r\n0\r\n\r\n',
          '5\r\nabc\r\n0\r\n\r\n',
          '-1\r\n\r\n',
          `${'f'.repeat(20)}\r\nx\r\n`,
        ]);
        return {
          kind,
          request: Buffer.concat([
            http1('POST', `/webhooks/${source}`, [json, ['Transfer-Encoding', 'chunked']], '', {
              contentLength: 'none',
            }),
            Buffer.from(garbage),
          ]),
        };
      }
      case 'truncated-body': {
        const full = http1('POST', `/webhooks/${source}`, [json, ...(await sign(source, body))], body);
        return {
          kind,
          request: full.subarray(0, full.length - random.int(1, body.length)),
          mayGoUnanswered: true,
        };
      }
      case 'no-host':
        return { kind, request: http1('POST', `/webhooks/${source}`, [json], body, { host: null }) };
      case 'bad-host':
        return {
          kind,
          request: http1('POST', `/webhooks/${source}`, [json], body, {
            host: random.pick([
              'exa mple.com',
              'a/b',
              '[::1',
              'h@st',
              `${'h'.repeat(300)}.example:99999`,
              '',
            ]),
          }),
        };
      case 'bad-version':
        return {
          kind,
          request: http1('POST', `/webhooks/${source}`, [json], body, {
            version: random.pick(['HTTP/2.0', 'HTTP/1.9', 'HTTP/x', 'HTTPS/1.1']),
          }),
        };
      case 'forged-forwarded-for':
        return {
          kind,
          request: http1(
            'POST',
            '/webhooks/walled',
            [
              json,
              ['X-Forwarded-For', random.pick(['192.0.2.1', '2001:db8::1', '192.0.2.1, 10.0.0.1'])],
              ...(await sign('walled', body)),
            ],
            body,
          ),
        };
      case 'rate-limited':
        return {
          kind,
          request: http1('POST', '/webhooks/limited', [json, ['X-Hub-Signature-256', 'sha256=00']], body),
        };
      case 'random-bytes':
        return { kind, request: random.bytes(random.int(1, 3000)) };
    }
  }

  it(`answers ${CASES} generated malformed requests with a 4xx and a JSON error body, queues nothing and stays up (seed ${SEED})`, async () => {
    const random = generator(SEED);
    const cases: FuzzCase[] = [];
    for (let i = 0; i < CASES; i += 1) cases.push(await generate(random));
    const rssBefore = await rssKb();

    // Slowloris alongside: headers that never finish must be cut off by headersTimeout (10 s).
    const slowloris = new Promise<{ closedAfterMs: number; answer: string }>((resolve) => {
      const started = Date.now();
      const socket = connect(port, '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk: Buffer) => {
        answer += chunk.toString();
      });
      socket.on('error', () => {});
      socket.write('POST /webhooks/gh HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      const drip = setInterval(() => socket.write('X-Slow: 1\r\n'), 500);
      socket.on('close', () => {
        clearInterval(drip);
        resolve({ closedAfterMs: Date.now() - started, answer });
      });
      setTimeout(() => socket.destroy(), 40_000).unref();
    });

    const failures: string[] = [];
    const byKind = new Map<string, Map<string, number>>();
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const index = next;
        next += 1;
        const fuzz = cases[index];
        if (!fuzz) continue;
        const answer = await send(port, fuzz.request, fuzz.mayGoUnanswered === true);
        const label = answer.timedOut ? 'timeout' : String(answer.status ?? 'closed');
        const counts = byKind.get(fuzz.kind) ?? new Map<string, number>();
        counts.set(label, (counts.get(label) ?? 0) + 1);
        byKind.set(fuzz.kind, counts);
        const line = fuzz.request.subarray(0, 60).toString('latin1').split('\r\n', 1)[0];
        const describe = `#${index} ${fuzz.kind} (${line}): ${label} ${answer.body.slice(0, 120)}`;
        if (answer.timedOut) {
          failures.push(describe);
        } else if (answer.status === undefined || Number.isNaN(answer.status)) {
          if (!fuzz.mayGoUnanswered) failures.push(describe);
        } else if (answer.status < 400 || answer.status > 499) {
          failures.push(describe);
        } else {
          try {
            const parsed = JSON.parse(answer.body) as { error?: Record<string, unknown> };
            const error = parsed.error;
            const ok =
              Object.keys(parsed).length === 1 &&
              error !== undefined &&
              Object.keys(error).sort().join() === 'code,message' &&
              typeof error.code === 'string' &&
              typeof error.message === 'string' &&
              error.message.length > 0 &&
              /^content-type: application\/json/im.test(answer.headers.split('\r\n').slice(1).join('\n'));
            if (!ok) failures.push(describe);
          } catch {
            failures.push(describe);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    const summary = Object.fromEntries(
      [...byKind].map(([kind, counts]) => [kind, Object.fromEntries(counts)]),
    );
    if (process.env.FUZZ_VERBOSE) process.stderr.write(`FUZZ ${JSON.stringify(summary)}\n`);
    expect(failures.slice(0, 20), `seed ${SEED}; outcomes ${JSON.stringify(summary)}`).toEqual([]);
    // Every category ran, and the refusals it was built to reach happened.
    expect(byKind.size).toBe(26);
    expect(byKind.get('huge-header')?.get('431')).toBeGreaterThan(0);
    expect(byKind.get('rate-limited')?.get('429')).toBeGreaterThan(0);
    expect(byKind.get('forged-forwarded-for')?.get('403')).toBeGreaterThan(0);
    expect(byKind.get('deep-json-signed')?.get('400')).toBeGreaterThan(0);
    expect(byKind.get('oversized')?.get('413')).toBeGreaterThan(0);

    const loris = await slowloris;
    expect(loris.closedAfterMs).toBeGreaterThan(8_000);
    expect(loris.closedAfterMs).toBeLessThan(30_000);

    expect(ingest.child.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const rssAfter = await rssKb();
    expect(rssAfter, `RSS ${rssBefore} kB before, ${rssAfter} kB after`).toBeLessThan(400 * 1024);
    expect(rssAfter - rssBefore).toBeLessThan(200 * 1024);

    const connection = createRedis(testRedisUrl(), 'producer');
    const events = createEventQueue(connection, queue);
    try {
      await events.waitUntilReady();
      const counts = await events.getJobCounts();
      expect(
        Object.values(counts).reduce((sum, n) => sum + n, 0),
        JSON.stringify(counts),
      ).toBe(0);
    } finally {
      await events.close();
      connection.disconnect();
    }
    expect(ingest.output()).not.toMatch(/"level":(50|60)/);
  });
});
