import { deleteLeftoverQueueKeys } from './leftover-keys.js';

/** Vitest's global setup for workspaces whose tests use Redis: after the run, no key is left. */
export function setup(): () => Promise<void> {
  return async () => {
    await deleteLeftoverQueueKeys();
  };
}
