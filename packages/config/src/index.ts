export { clientKey, resolveClientAddress } from './client-address.js';
export {
  booleanFromEnv,
  commonEnv,
  databaseEnv,
  databaseUrlSchema,
  parseEnv,
  portSchema,
  redisUrlSchema,
} from './env.js';
export { ConfigError } from './errors.js';
export {
  type IpAddress,
  type IpFamily,
  IpRanges,
  ipRangeListFromEnv,
  ipRangeSchema,
  normalizeAddress,
  parseIpRange,
} from './ip-ranges.js';
export { type RateLimit, rateLimitFromEnv, rateLimitSchema } from './rate-limit.js';
export {
  commonSourceShape,
  type Idempotency,
  idempotencySchema,
  loadSources,
  type ParseSourcesOptions,
  parseSources,
  type Source,
  type Sources,
  sourceNameSchema,
} from './sources.js';
export {
  type DatabaseTls,
  databaseTlsFromEnv,
  type RedisTls,
  redisTlsFromEnv,
  ServerTls,
  type SslMode,
  serverTlsEnv,
  serverTlsFromEnv,
  sslModes,
} from './tls-settings.js';
