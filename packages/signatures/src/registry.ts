import type { Provider } from './provider.js';
import { github } from './providers/github.js';
import { hmac } from './providers/hmac.js';
import { jwt } from './providers/jwt.js';
import { linear } from './providers/linear.js';
import { paddle } from './providers/paddle.js';
import { shopify } from './providers/shopify.js';
import { slack } from './providers/slack.js';
import { square } from './providers/square.js';
import { standardWebhooks } from './providers/standard-webhooks.js';
import { stripe } from './providers/stripe.js';
import { svix } from './providers/svix.js';
import { twilio } from './providers/twilio.js';
import { twitch } from './providers/twitch.js';
import { zoom } from './providers/zoom.js';

/** The config's `provider` value mapped to its verifier. A new scheme is one file and one line here. */
export const providers = {
  stripe,
  github,
  shopify,
  slack,
  twilio,
  'standard-webhooks': standardWebhooks,
  svix,
  paddle,
  square,
  linear,
  zoom,
  twitch,
  hmac,
  jwt,
} as const satisfies Readonly<Record<string, Provider>>;
export type ProviderName = keyof typeof providers;

export const providerNames: readonly ProviderName[] = Object.keys(providers) as ProviderName[];

export function isProviderName(name: string): name is ProviderName {
  return Object.hasOwn(providers, name);
}

export function getProvider(name: string): Provider | undefined {
  return isProviderName(name) ? providers[name] : undefined;
}
