import type { z } from 'zod';

/** `sources.github.secrets[0]` style path of a zod issue, under `root`. */
export function issuePath(root: readonly PropertyKey[], issue: z.core.$ZodIssue): string {
  let out = '';
  for (const key of [...root, ...issue.path]) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(root)';
}
