import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { EventJob } from '@inlet/queue';
import type { Queue } from 'bullmq';
import type { Hono } from 'hono';

export const QUEUES_PATH = '/queues';

/**
 * Bull Board for the events queue, as a Hono app to mount at /queues. `readOnly` builds the board
 * for look-only users: Bull Board then hides its retry, clean and other buttons and refuses those
 * actions itself (the app also refuses any non-GET from such a user before it gets here).
 */
export function createQueueBoard(queue: Queue<EventJob>, options: { readOnly: boolean }): Hono {
  const adapter = new HonoAdapter(serveStatic);
  adapter.setBasePath(QUEUES_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(queue, { readOnlyMode: options.readOnly })],
    serverAdapter: adapter,
    options: {
      uiConfig: {
        boardTitle: 'Inlet queues',
        // The machine may have no outside network, and the board links out to its docs by default.
        hideDocsLink: true,
        miscLinks: [{ text: 'Event browser', url: '/' }],
      },
    },
  });
  return adapter.registerPlugin();
}
