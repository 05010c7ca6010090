import { booleanFromEnv, loadSources, parseEnv, type Source } from '@inlet/config';

/** How a source authenticates senders, without the credentials themselves. */
function credentialsOf(source: Source): string {
  const { settings } = source;
  if (source.provider.usesSecrets === false) {
    const keys = Array.isArray(settings.publicKeys)
      ? `${settings.publicKeys.length} public key(s)`
      : undefined;
    const jwks = typeof settings.jwksUrl === 'string' ? `keys from ${settings.jwksUrl}` : undefined;
    return [keys ?? jwks ?? 'no keys', typeof settings.issuer === 'string' ? `issuer ${settings.issuer}` : '']
      .filter(Boolean)
      .join(', ');
  }
  const count = settings.secrets.length;
  return `${count} secret${count === 1 ? '' : 's'}`;
}

/** The limits a source runs under, when it sets its own. */
function limitsOf(source: Source): string {
  const parts = [];
  if (source.rateLimit) {
    parts.push(`, rate limit ${source.rateLimit.points} per ${source.rateLimit.durationSeconds} s`);
  }
  if (source.allowedIps) parts.push(`, allowed IPs ${source.allowedIps.ranges.join(' ')}`);
  return parts.join('');
}

/**
 * Validates a sources file the way ingest will load it (INLET_REQUIRE_ENV_SECRETS included) and
 * describes each source, never printing a secret.
 */
export async function sourcesCheck(file: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const { INLET_REQUIRE_ENV_SECRETS } = parseEnv(
    { INLET_REQUIRE_ENV_SECRETS: booleanFromEnv.default(false) },
    env,
  );
  const sources = await loadSources(file, { env, requireEnvSecrets: INLET_REQUIRE_ENV_SECRETS });
  const lines = [`${file}: ${sources.size} source(s), valid`];
  for (const source of sources.values()) {
    const url = typeof source.settings.url === 'string' ? `, signed URL ${source.settings.url}` : '';
    lines.push(
      `  ${source.name.padEnd(24)} ${source.provider.name.padEnd(18)} ${credentialsOf(source)}${url}, max body ${source.maxBodyBytes} bytes${limitsOf(source)}`,
    );
  }
  return lines;
}
