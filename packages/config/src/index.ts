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
