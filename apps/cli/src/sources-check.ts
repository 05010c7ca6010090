import { loadSources } from '@inlet/config';

/** Validates a sources file and describes each source, never printing a secret. */
export async function sourcesCheck(file: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const sources = await loadSources(file, { env });
  const lines = [`${file}: ${sources.size} source(s), valid`];
  for (const source of sources.values()) {
    const secrets = source.settings.secrets.length;
    lines.push(
      `  ${source.name.padEnd(24)} ${source.provider.name.padEnd(18)} ${secrets} secret${secrets === 1 ? '' : 's'}, max body ${source.maxBodyBytes} bytes`,
    );
  }
  return lines;
}
