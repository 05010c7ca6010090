import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type BaseSourceOptions, getProvider, type Provider, providerNames } from '@inlet/signatures';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { issuePath } from './format-issue.js';
import { IpRanges, ipRangeSchema } from './ip-ranges.js';
import { findJsonSyntaxError } from './json-syntax-error.js';
import { type RateLimit, rateLimitSchema } from './rate-limit.js';

export const sourceNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must match ^[a-z0-9][a-z0-9_-]{0,62}$');

export const idempotencySchema = z.union([
  z.strictObject({ header: z.string().min(1) }),
  z.strictObject({ jsonPointer: z.string().regex(/^(\/[^/]*)+$/, 'must be a JSON pointer such as /id') }),
]);
export type Idempotency = z.infer<typeof idempotencySchema>;

/** Fields every source accepts, whatever its provider. */
export const commonSourceShape = {
  provider: z.enum(providerNames as [string, ...string[]], {
    message: `must be one of: ${providerNames.join(', ')}`,
  }),
  secrets: z.array(z.string().min(1, 'must not be empty')).optional(),
  toleranceSeconds: z
    .number()
    .int()
    .positive()
    .max(7 * 24 * 3600)
    .default(300),
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  idempotency: idempotencySchema.optional(),
  /**
   * Where the event id is not signed (GitHub, Shopify, Twilio, Linear, an idempotency header), a
   * delivery whose signed content is already stored is a replay and is not stored again. Off only
   * for a source that really sends identical signed bodies under different ids.
   */
  dedupeByContent: z.boolean({ error: 'must be true or false' }).default(true),
  /** Overrides INLET_RATE_LIMIT for this source. */
  rateLimit: rateLimitSchema.optional(),
  /** The provider's published delivery ranges; anyone else gets 403. */
  allowedIps: z.array(ipRangeSchema).min(1, 'needs at least one address or CIDR range').optional(),
  /** An ES module exporting `handle(event, sql)`, relative to the sources file. */
  handler: z.string().min(1, 'must be a path to an ES module').optional(),
};

type CommonSourceFields = z.infer<z.ZodObject<typeof commonSourceShape>>;

const sourcesFileSchema = z.strictObject({
  sources: z.record(z.string(), z.looseObject({ provider: commonSourceShape.provider })),
});

export interface Source {
  readonly name: string;
  readonly provider: Provider;
  /** The source's options with secrets resolved: what the provider's verifier reads. */
  readonly settings: BaseSourceOptions & Readonly<Record<string, unknown>>;
  readonly maxBodyBytes: number;
  readonly idempotency: Idempotency | undefined;
  /** Deliveries whose event id is not signed are deduplicated on their signed content too. */
  readonly dedupeByContent: boolean;
  /** The source's own rate limit; undefined means the deployment's default (INLET_RATE_LIMIT). */
  readonly rateLimit: RateLimit | undefined;
  /** Client addresses admitted; undefined admits any. */
  readonly allowedIps: IpRanges | undefined;
  /** Absolute path of the source's handler module, when it has one. */
  readonly handler: string | undefined;
}

export interface ParseSourcesOptions {
  readonly env?: Env;
  /** Labels errors, and is what `handler` paths are relative to. */
  readonly file?: string;
  /**
   * `skip` leaves `env:` secrets unresolved (the worker loads the file for handlers only and
   * needs no secret). Default `resolve`.
   */
  readonly secrets?: 'resolve' | 'skip';
  /**
   * Every secret must be an `env:NAME` reference (INLET_REQUIRE_ENV_SECRETS): a literal one is an
   * error, so secrets never sit in a file that is copied, committed or mounted widely.
   */
  readonly requireEnvSecrets?: boolean;
}

export type Sources = ReadonlyMap<string, Source>;

type Env = Readonly<Record<string, string | undefined>>;

/** Resolves `env:NAME` to the variable's value; an unset or empty one is an error. */
function resolveSecret(value: string, env: Env): string | { error: string } {
  if (!value.startsWith('env:')) return value;
  const name = value.slice(4);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    return { error: `"${value}" is not a valid env:NAME reference` };
  const resolved = env[name];
  if (resolved === undefined || resolved === '') return { error: `environment variable ${name} is not set` };
  return resolved;
}

/** Validates a parsed sources document. `file` only labels errors. */
export function parseSources(document: unknown, options: ParseSourcesOptions = {}): Sources {
  const env = options.env ?? process.env;
  const fail = (field: string, detail: string): never => {
    throw new ConfigError(field, detail, options.file);
  };
  const top = sourcesFileSchema.safeParse(document);
  if (!top.success) {
    const issue = top.error.issues[0];
    if (!issue) return fail('(root)', 'invalid');
    return fail(issuePath([], issue), issue.message);
  }
  const sources = new Map<string, Source>();
  for (const [name, raw] of Object.entries(top.data.sources)) {
    const at = ['sources', name];
    if (!sourceNameSchema.safeParse(name).success) {
      fail(`sources.${name}`, 'a source name must match ^[a-z0-9][a-z0-9_-]{0,62}$');
    }
    const provider = getProvider(raw.provider);
    if (!provider) return fail(`sources.${name}.provider`, `unknown provider "${raw.provider}"`);
    // safeExtend keeps the provider's own refinements (e.g. jwt's "jwksUrl or publicKeys").
    const schema = provider.optionsSchema.safeExtend(commonSourceShape).strict();
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      if (!issue) return fail(`sources.${name}`, 'invalid');
      const detail =
        issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message;
      return fail(issuePath(at, issue), detail);
    }
    // The schema includes commonSourceShape, so these fields are validated; only the provider's
    // generic shape hides their types.
    const data = parsed.data as CommonSourceFields & Record<string, unknown>;
    const declared = data.secrets ?? [];
    if (provider.usesSecrets === false && declared.length > 0) {
      fail(`sources.${name}.secrets`, `the ${provider.name} provider takes no secrets`);
    }
    if (provider.usesSecrets !== false && declared.length === 0) {
      fail(`sources.${name}.secrets`, 'needs at least one secret');
    }
    const secrets = declared.map((value, index) => {
      if (options.requireEnvSecrets && !value.startsWith('env:')) {
        // The value itself is never echoed: it is a secret.
        fail(
          `sources.${name}.secrets[${index}]`,
          'must be an env:NAME reference, not a literal secret (INLET_REQUIRE_ENV_SECRETS is on)',
        );
      }
      if (options.secrets === 'skip') return value;
      const resolved = resolveSecret(value, env);
      return typeof resolved === 'string'
        ? resolved
        : fail(`sources.${name}.secrets[${index}]`, resolved.error);
    });
    sources.set(name, {
      name,
      provider,
      settings: { ...data, secrets },
      maxBodyBytes: data.maxBodyBytes,
      idempotency: data.idempotency,
      dedupeByContent: data.dedupeByContent,
      rateLimit: data.rateLimit,
      allowedIps: data.allowedIps === undefined ? undefined : IpRanges.parse(data.allowedIps),
      handler:
        data.handler === undefined
          ? undefined
          : path.resolve(options.file ? path.dirname(options.file) : '.', data.handler),
    });
  }
  return sources;
}

/** Reads and validates the sources file; every problem is a ConfigError naming the file and field. */
export async function loadSources(
  file: string,
  options: Omit<ParseSourcesOptions, 'file'> = {},
): Promise<Sources> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      'INLET_SOURCES',
      code === 'ENOENT'
        ? `sources file ${absolute} does not exist`
        : `cannot read ${absolute} (${code ?? 'error'})`,
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text around the error, which may be a literal secret: say
    // where the error is, never what is there.
    const at = findJsonSyntaxError(text);
    throw new ConfigError(
      '(root)',
      at === undefined
        ? 'not valid JSON'
        : `not valid JSON at line ${at.line}, column ${at.column} (${at.problem})`,
      absolute,
    );
  }
  return parseSources(document, { ...options, file: absolute });
}
