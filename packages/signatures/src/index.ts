export { constantTimeEqual } from './constant-time.js';
export { createDeliveryRequest, type DeliveryRequestInit } from './delivery-request.js';
export { type HmacAlgorithm, hmacDigest, sha256Hex } from './digest.js';
export { PayloadError, SignatureError, type SignatureErrorCode, VerifierUnavailableError } from './errors.js';
export { MAX_HEADER_LENGTH } from './header.js';
export { jsonDepthExceeds, MAX_JSON_DEPTH } from './json-body.js';
export { createMemoryNonceStore } from './memory-nonce-store.js';
export {
  type BaseSourceOptions,
  type DeliveryRequest,
  defineProvider,
  type Handshake,
  type NonceStore,
  type Provider,
  type SignedContent,
  type SignInput,
  type SourceOptions,
  type Verified,
  type VerifyContext,
} from './provider.js';
export { github } from './providers/github.js';
export { type HmacOptions, hmac, hmacOptionsSchema } from './providers/hmac.js';
export { type JwtOptions, jwt, jwtOptionsSchema, validateJwtOptions } from './providers/jwt.js';
export { generateJwtKeyPair, type JwtKeyPair } from './providers/jwt-signing-key.js';
export { linear } from './providers/linear.js';
export { paddle } from './providers/paddle.js';
export { shopify } from './providers/shopify.js';
export { slack } from './providers/slack.js';
export { type SquareOptions, square, squareOptionsSchema } from './providers/square.js';
export {
  generateStandardWebhooksKeyPair,
  type StandardWebhooksKeyPair,
  type StandardWebhooksSchemeOptions,
  standardWebhooks,
  standardWebhooksScheme,
} from './providers/standard-webhooks.js';
export { stripe } from './providers/stripe.js';
export { svix } from './providers/svix.js';
export { type TwilioOptions, twilio, twilioOptionsSchema } from './providers/twilio.js';
export { twitch } from './providers/twitch.js';
export { zoom } from './providers/zoom.js';
export { getProvider, isProviderName, type ProviderName, providerNames, providers } from './registry.js';
