import { commonEnv, parseEnv, portSchema } from '@inlet/config';
import { z } from 'zod';

export const ingestEnvShape = {
  ...commonEnv,
  PORT: portSchema.default(8080),
  INLET_SOURCES: z.string().min(1).default('./inlet.sources.json'),
};

export type IngestEnv = ReturnType<typeof parseIngestEnv>;

export function parseIngestEnv(env: Readonly<Record<string, string | undefined>> = process.env) {
  return parseEnv(ingestEnvShape, env);
}
