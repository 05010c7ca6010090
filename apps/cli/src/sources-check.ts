import { loadSources, type Source } from '@inlet/config';

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

/** Validates a sources file and describes each source, never printing a secret. */
export async function sourcesCheck(file: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const sources = await loadSources(file, { env });
  const lines = [`${file}: ${sources.size} source(s), valid`];
  for (const source of sources.values()) {
    const url = typeof source.settings.url === 'string' ? `, signed URL ${source.settings.url}` : '';
    lines.push(
      `  ${source.name.padEnd(24)} ${source.provider.name.padEnd(18)} ${credentialsOf(source)}${url}, max body ${source.maxBodyBytes} bytes`,
    );
  }
  return lines;
}
