import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { loadSources } from './sources.js';

const SECRET = 'whsec_PRIV4TE-E-123456';

/** Every run of 4 or more characters of the secret: none may appear in an error. */
function fragments(secret: string): string[] {
  const found = [];
  for (let start = 0; start + 4 <= secret.length; start += 1) found.push(secret.slice(start, start + 4));
  return found;
}

describe('a sources file that is not valid JSON', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'inlet-config-json-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const brokenNearSecret = {
    // A trailing comma after the secret: JSON.parse's message quotes the text just before it.
    'a trailing comma': [
      '{',
      '  "sources": {',
      `    "acme": { "provider": "standard-webhooks", "secrets": ["${SECRET}",] }`,
      '  }',
      '}',
    ],
    // An unknown token right after the secret: V8's message quotes the secret itself.
    'a stray token': [
      '{',
      '  "sources": {',
      `    "acme": { "provider": "standard-webhooks", "secrets": ["${SECRET}" x] }`,
      '  }',
      '}',
    ],
    // The secret's closing quote missing: the string runs to the end of the file.
    'an unterminated string': [
      '{',
      '  "sources": {',
      `    "acme": { "provider": "standard-webhooks", "secrets": ["${SECRET}] }`,
      '  }',
      '}',
    ],
  };
  // Columns from 1: the ']' after the comma, the 'x', and the line break that ends the string.
  const line3 = (name: keyof typeof brokenNearSecret) => brokenNearSecret[name][2] ?? '';
  const where = {
    'a trailing comma': `line 3, column ${line3('a trailing comma').indexOf(',]') + 2}`,
    'a stray token': `line 3, column ${line3('a stray token').indexOf(' x]') + 2}`,
    'an unterminated string': `line 3, column ${line3('an unterminated string').length + 1}`,
  };

  it.each(Object.keys(brokenNearSecret) as (keyof typeof brokenNearSecret)[])(
    'names the file, line and column of %s, and no part of the secret',
    async (name) => {
      const file = path.join(dir, `${name.replaceAll(' ', '-')}.json`);
      const text = brokenNearSecret[name].join('\n');
      await writeFile(file, text);
      // What JSON.parse would have said, to show the test would catch a leak.
      expect(() => JSON.parse(text)).toThrow();

      const error = await loadSources(file).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain(`${file}: (root): not valid JSON at ${where[name]}`);
      for (const fragment of fragments(SECRET)) expect(message).not.toContain(fragment);
      expect(message).not.toContain('"');
    },
  );

  it("never repeats what JSON.parse's own message quotes", async () => {
    const file = path.join(dir, 'trailing.json');
    const text = `{"sources":{"x":{"provider":"github","secrets":["${SECRET}",]}}}`;
    await writeFile(file, text);
    // V8's message here quotes the end of the secret (..."E-123456",]}}}" is not valid JSON).
    expect(() => JSON.parse(text)).toThrow('E-123456');
    const error = await loadSources(file).then(
      () => new Error('loaded'),
      (caught: unknown) => caught as Error,
    );
    expect(error.message).toContain(`not valid JSON at line 1, column ${text.indexOf(',]') + 2}`);
    for (const fragment of fragments(SECRET)) expect(error.message).not.toContain(fragment);
  });
});
