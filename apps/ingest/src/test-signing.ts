import type { Sources } from '@inlet/config';

/**
 * The headers that sign `body` for a source of `sources` with its first secret, for tests; only
 * schemes that sign synchronously.
 */
export function signatureHeaders(sources: Sources, sourceName: string, body: string): Record<string, string> {
  const source = sources.get(sourceName);
  if (!source) throw new Error(`no source ${sourceName}`);
  const signature = source.provider.sign(
    { body, secret: source.settings.secrets[0] ?? '', timestamp: Math.floor(Date.now() / 1000), id: 'x' },
    source.settings,
  );
  if (signature instanceof Promise) throw new Error('synchronous signers only');
  return { 'content-type': 'application/json', ...signature };
}
