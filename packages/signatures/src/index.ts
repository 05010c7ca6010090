export { constantTimeEqual } from './constant-time.js';
export { createDeliveryRequest, type DeliveryRequestInit } from './delivery-request.js';
export { type HmacAlgorithm, hmacDigest, sha256Hex } from './digest.js';
export { PayloadError, SignatureError, type SignatureErrorCode } from './errors.js';
export { MAX_HEADER_LENGTH } from './header.js';
export {
  type BaseSourceOptions,
  type DeliveryRequest,
  defineProvider,
  type Handshake,
  type NonceStore,
  type Provider,
  type SignInput,
  type SourceOptions,
  type Verified,
  type VerifyContext,
} from './provider.js';
export { github } from './providers/github.js';
export { type HmacOptions, hmac, hmacOptionsSchema } from './providers/hmac.js';
export { standardWebhooks } from './providers/standard-webhooks.js';
export { stripe } from './providers/stripe.js';
export { getProvider, isProviderName, type ProviderName, providerNames, providers } from './registry.js';
export { createMemoryNonceStore } from './memory-nonce-store.js';
