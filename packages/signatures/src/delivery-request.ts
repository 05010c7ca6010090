import type { DeliveryRequest } from './provider.js';

export interface DeliveryRequestInit {
  readonly body: string | Uint8Array;
  readonly headers?: Readonly<Record<string, string | undefined>>;
  /** Milliseconds since the epoch; defaults to the current time. */
  readonly now?: number;
}

/** Builds a `DeliveryRequest` from plain values (the CLI, tests, anything that is not an HTTP server). */
export function createDeliveryRequest(init: DeliveryRequestInit): DeliveryRequest {
  const rawBody = typeof init.body === 'string' ? Buffer.from(init.body, 'utf8') : Buffer.from(init.body);
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    if (value !== undefined) headers.set(name.toLowerCase(), value);
  }
  return {
    rawBody,
    text: rawBody.toString('utf8'),
    header: (name) => headers.get(name.toLowerCase()),
    now: init.now ?? Date.now(),
  };
}
