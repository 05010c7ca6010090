// Child process of the `reference.bare_hono_rps` phase: the HTTP stack alone (Hono on
// @hono/node-server), reading the body and answering 202. No server built on it can go faster.
import { serve } from '@hono/node-server';
import { parseEnv, portSchema } from '@inlet/config';
import { Hono } from 'hono';

const env = parseEnv({ PORT: portSchema });
const app = new Hono();
app.get('/healthz', (c) => c.json({ status: 'ok' }));
app.post('/webhooks/:source', async (c) => {
  await c.req.arrayBuffer();
  return c.json({ id: c.req.header('webhook-id') ?? null }, 202);
});

const server = serve({ fetch: app.fetch, port: env.PORT, hostname: '127.0.0.1' });
const stop = () => {
  server.close(() => process.exit(0));
  // Keep-alive connections of the load generator would hold close() open.
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
