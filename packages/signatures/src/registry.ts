import type { Provider } from './provider.js';
import { github } from './providers/github.js';
import { hmac } from './providers/hmac.js';
import { standardWebhooks } from './providers/standard-webhooks.js';
import { stripe } from './providers/stripe.js';

/** The config's `provider` value mapped to its verifier. A new scheme is one file and one line here. */
export const providers = {
  github,
  stripe,
  'standard-webhooks': standardWebhooks,
  hmac,
} as const satisfies Readonly<Record<string, Provider>>;

export type ProviderName = keyof typeof providers;

export const providerNames: readonly ProviderName[] = Object.keys(providers) as ProviderName[];

export function isProviderName(name: string): name is ProviderName {
  return Object.hasOwn(providers, name);
}

export function getProvider(name: string): Provider | undefined {
  return isProviderName(name) ? providers[name] : undefined;
}
