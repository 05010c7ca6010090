import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadSources } from '@inlet/config';
import { CliError } from './cli-error.js';

export const sendUsage = `Usage: inlet send --source NAME [--data JSON | --file PATH] [options]

Signs a payload the way the source's provider does and posts it to ingest.

Options:
  --source NAME      the source to sign for (required)
  --data TEXT        the body to send (default: a small JSON test event)
  --file PATH        read the body from a file
  --url URL          where to post (default: http://127.0.0.1:$PORT/webhooks/NAME, PORT 8080)
  --sources FILE     the sources file (default: $INLET_SOURCES or ./inlet.sources.json)
  --id ID            delivery id for schemes that carry one (default: derived from the body,
                     so sending the same body again is recognised as the same event)
  --secret SECRET    sign with this secret instead of the source's first one
  --key PATH         sign with the key in this file: a jwt source's private key (PEM or JWK),
                     or a Standard Webhooks whsk_ signing key
  --timestamp SECS   sign with this Unix time instead of now (to test the replay window)
  --tamper           change the body after signing (to see the signature refused)
  --content-type T   Content-Type header (default: application/json)`;

export const defaultTestBody = '{"type":"inlet.test","message":"Hello from inlet send"}';

interface SendResult {
  readonly status: number;
  readonly body: string;
}

export async function send(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<SendResult> {
  const { values } = parseArgs({
    args: argv,
    options: {
      source: { type: 'string' },
      data: { type: 'string' },
      file: { type: 'string' },
      url: { type: 'string' },
      sources: { type: 'string' },
      id: { type: 'string' },
      secret: { type: 'string' },
      key: { type: 'string' },
      timestamp: { type: 'string' },
      tamper: { type: 'boolean', default: false },
      'content-type': { type: 'string', default: 'application/json' },
    },
    strict: true,
  });
  if (!values.source) throw new CliError('--source is required', sendUsage);
  if (values.data !== undefined && values.file !== undefined)
    throw new CliError('give --data or --file, not both');
  const sourcesFile = values.sources ?? env.INLET_SOURCES ?? './inlet.sources.json';
  const sources = await loadSources(sourcesFile, { env });
  const source = sources.get(values.source);
  if (!source) {
    throw new CliError(
      `no source "${values.source}" in ${sourcesFile} (have: ${[...sources.keys()].join(', ') || 'none'})`,
    );
  }
  let timestamp = Math.floor(Date.now() / 1000);
  if (values.timestamp !== undefined) {
    if (!/^\d{1,12}$/.test(values.timestamp)) throw new CliError('--timestamp must be Unix seconds');
    timestamp = Number(values.timestamp);
  }
  const body =
    values.file !== undefined
      ? await readFile(values.file, 'utf8')
      : (values.data ?? source.provider.exampleBody?.({ timestamp }) ?? defaultTestBody);
  if (values.secret !== undefined && values.key !== undefined)
    throw new CliError('give --secret or --key, not both');
  const secret =
    values.key !== undefined
      ? (await readFile(values.key, 'utf8')).trim()
      : (values.secret ?? source.settings.secrets[0]);
  if (secret === undefined) {
    throw new CliError(
      `source "${source.name}" has no secret to sign with; pass --key (a private key file) or --secret`,
    );
  }
  const id = values.id ?? `msg_${createHash('sha256').update(body).digest('hex').slice(0, 24)}`;
  const headers = await source.provider.sign({ body, secret, timestamp, id }, source.settings);
  const sent = values.tamper ? `${body} ` : body;
  const port = env.PORT ?? '8080';
  const url = values.url ?? `http://127.0.0.1:${port}/webhooks/${encodeURIComponent(source.name)}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': values['content-type'], 'User-Agent': 'inlet-send', ...headers },
      body: sent,
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new CliError(`could not reach ${url} (${cause}); is ingest running?`);
  }
  return { status: response.status, body: await response.text() };
}
