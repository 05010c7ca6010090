import { z } from 'zod';
import { ConfigError } from './errors.js';
import { issuePath } from './format-issue.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses environment variables once, at start. The first bad variable becomes a ConfigError whose
 * message names it; values are never echoed, since some of them are secrets.
 */
export function parseEnv<Shape extends z.ZodRawShape>(
  shape: Shape,
  env: Env = process.env,
): z.infer<z.ZodObject<Shape>> {
  // Empty strings count as unset, as most deployment tools write them for "no value".
  const input: Record<string, string> = {};
  for (const key of Object.keys(shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const result = z.object(shape).safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    if (!issue) throw new ConfigError('environment', 'invalid');
    // The variable, then where inside its value for structured ones: INLET_RATE_LIMIT.points.
    throw new ConfigError(issuePath([], issue), issue.message);
  }
  return result.data;
}

/** `true`/`false`/`1`/`0` only: `z.coerce.boolean()` would read "false" as true. */
export const booleanFromEnv = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1');

const urlWithProtocols = (protocols: readonly string[], label: string) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a ${label} URL (${protocols.map((p) => `${p}//`).join(' or ')})` },
  );

export const redisUrlSchema = urlWithProtocols(['redis:', 'rediss:'], 'Redis');
export const databaseUrlSchema = urlWithProtocols(['postgres:', 'postgresql:'], 'PostgreSQL/CockroachDB');
export const portSchema = z.coerce
  .number({ message: 'must be a port number' })
  .int('must be a port number')
  .min(0, 'must be a port number')
  .max(65535, 'must be a port number');

/** Settings shared by the apps, with the contract's defaults. */
export const commonEnv = {
  REDIS_URL: redisUrlSchema.default('redis://127.0.0.1:6379'),
  /** Path of the CA that signs Redis's certificate; read and checked by `redisTlsFromEnv`. */
  REDIS_TLS_CA_FILE: z.string().min(1).optional(),
  INLET_QUEUE: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be letters, digits, "_", "." or "-"')
    .default('inlet-events'),
  INLET_QUEUE_PREFIX: z
    .string()
    .regex(/^[^\s:]{1,100}$/, 'must not contain spaces or ":"')
    .default('{inlet}'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};

export const databaseEnv = {
  DATABASE_URL: databaseUrlSchema.default('postgres://postgres@127.0.0.1:5432/inlet'),
  /** Path of the CA that signs the database's certificate; read and checked by `databaseTlsFromEnv`. */
  DATABASE_TLS_CA_FILE: z.string().min(1).optional(),
};
