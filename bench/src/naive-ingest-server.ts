// Child process of the `reference.naive_ingest_rps` phase: what a first webhook receiver looks like,
// a Standard Webhooks HMAC check and one BullMQ `queue.add` per request, with the job options and
// job id ingest uses. No rate limit, metrics, logging, timestamp check or backpressure.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { serve } from '@hono/node-server';
import { commonEnv, parseEnv, portSchema } from '@inlet/config';
import { createRedis, type EventJob, eventJobOptions, jobIdFor } from '@inlet/queue';
import { Queue } from 'bullmq';
import { Hono } from 'hono';
import { z } from 'zod';

const env = parseEnv({
  ...commonEnv,
  PORT: portSchema,
  BENCH_SECRET: z.string().startsWith('whsec_'),
});
const key = Buffer.from(env.BENCH_SECRET.slice('whsec_'.length), 'base64');
const connection = createRedis(env.REDIS_URL, 'producer', { connectionName: 'inlet-bench-naive-ingest' });
connection.on('error', (error) => process.stderr.write(`naive ingest: redis: ${error.message}\n`));
const queue = new Queue<EventJob>(env.INLET_QUEUE, { connection, prefix: env.INLET_QUEUE_PREFIX });
queue.on('error', (error) => process.stderr.write(`naive ingest: ${error.message}\n`));

const app = new Hono();
app.get('/healthz', (c) => c.json({ status: 'ok' }));
app.post('/webhooks/:source', async (c) => {
  const source = c.req.param('source');
  const body = await c.req.text();
  const id = c.req.header('webhook-id');
  const timestamp = c.req.header('webhook-timestamp');
  const signature = c.req.header('webhook-signature');
  if (!id || !timestamp || !signature?.startsWith('v1,')) return c.json({ error: 'missing_signature' }, 401);
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  const given = Buffer.from(signature.slice(3), 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return c.json({ error: 'invalid_signature' }, 401);
  }
  const job: EventJob = {
    source,
    eventId: id,
    eventType: null,
    headers: { 'content-type': c.req.header('content-type') ?? '', 'webhook-id': id },
    body,
    receivedAt: Date.now(),
  };
  await queue.add(source, job, { ...eventJobOptions, jobId: jobIdFor(source, id) });
  return c.json({ id }, 202);
});

const server = serve({ fetch: app.fetch, port: env.PORT, hostname: '127.0.0.1' });
const stop = () => {
  server.close(() => {
    void queue.close().finally(() => {
      connection.disconnect();
      process.exit(0);
    });
  });
  // Keep-alive connections of the load generator would hold close() open.
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
