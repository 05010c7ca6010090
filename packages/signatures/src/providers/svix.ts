import { standardWebhooksScheme } from './standard-webhooks.js';

/** Svix: the Standard Webhooks scheme (`v1` HMAC, `v1a` Ed25519) under `svix-*` header names. */
export const svix = standardWebhooksScheme({
  name: 'svix',
  idHeader: 'svix-id',
  timestampHeader: 'svix-timestamp',
  signatureHeader: 'svix-signature',
});
