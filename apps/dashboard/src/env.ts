import {
  ConfigError,
  commonEnv,
  databaseEnv,
  databaseTlsFromEnv,
  ipRangeListFromEnv,
  parseEnv,
  portSchema,
  redisTlsFromEnv,
  serverTlsEnv,
  serverTlsFromEnv,
} from '@inlet/config';
import { z } from 'zod';
import type { DashboardUser } from './auth.js';

// Basic auth splits "user:password" at the first colon, so a user name cannot hold one.
const userNameSchema = z.string().regex(/^[^\s:]{1,64}$/, 'must be 1 to 64 characters without spaces or ":"');

/** Shorter passwords are refused at start: a guess-per-request budget cannot protect a short one. */
export const MIN_PASSWORD_LENGTH = 12;

/** A password: required where it appears, never echoed back in an error. */
const passwordSchema = z
  .string({
    error: (issue) =>
      issue.input === undefined ? 'is required: set a password for the dashboard' : 'invalid',
  })
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(1024, 'must be at most 1024 characters');

export const dashboardEnvShape = {
  ...commonEnv,
  ...databaseEnv,
  ...serverTlsEnv,
  DASHBOARD_PORT: portSchema.default(8081),
  /** Proxies whose X-Forwarded-For is believed for sign-in throttling; nobody's by default. */
  INLET_TRUSTED_PROXIES: ipRangeListFromEnv.default([]),
  DASHBOARD_USER: userNameSchema.default('admin'),
  DASHBOARD_PASSWORD: passwordSchema,
  DASHBOARD_READONLY_USER: userNameSchema.optional(),
  DASHBOARD_READONLY_PASSWORD: passwordSchema.optional(),
  /** Ingest's Prometheus endpoint, read for signature failures; `off` turns the panel off. */
  INLET_INGEST_METRICS_URL: z
    .string()
    .refine(
      (value) => {
        if (value === 'off') return true;
        try {
          return ['http:', 'https:'].includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      { message: 'must be an http:// or https:// URL, or off' },
    )
    .default('http://127.0.0.1:8080/metrics'),
};

export type DashboardEnv = ReturnType<typeof parseDashboardEnv>;

export function parseDashboardEnv(env: Readonly<Record<string, string | undefined>> = process.env) {
  const parsed = parseEnv(dashboardEnvShape, env);
  const { DASHBOARD_READONLY_USER: readonlyUser, DASHBOARD_READONLY_PASSWORD: readonlyPassword } = parsed;
  if (readonlyUser !== undefined && readonlyPassword === undefined) {
    throw new ConfigError('DASHBOARD_READONLY_PASSWORD', 'is required when DASHBOARD_READONLY_USER is set');
  }
  if (readonlyPassword !== undefined && readonlyUser === undefined) {
    throw new ConfigError('DASHBOARD_READONLY_USER', 'is required when DASHBOARD_READONLY_PASSWORD is set');
  }
  if (readonlyUser !== undefined && readonlyUser === parsed.DASHBOARD_USER) {
    throw new ConfigError('DASHBOARD_READONLY_USER', 'must differ from DASHBOARD_USER');
  }
  // The certificate and CA files are read here, once.
  return {
    ...parsed,
    redisTls: redisTlsFromEnv(parsed),
    databaseTls: databaseTlsFromEnv(parsed),
    serverTls: serverTlsFromEnv(parsed),
  };
}

/** The logins the environment configures: the operator, and the look-only user when set. */
export function usersFromEnv(env: DashboardEnv): DashboardUser[] {
  const users: DashboardUser[] = [
    { name: env.DASHBOARD_USER, password: env.DASHBOARD_PASSWORD, role: 'admin' },
  ];
  if (env.DASHBOARD_READONLY_USER !== undefined && env.DASHBOARD_READONLY_PASSWORD !== undefined) {
    users.push({
      name: env.DASHBOARD_READONLY_USER,
      password: env.DASHBOARD_READONLY_PASSWORD,
      role: 'readonly',
    });
  }
  return users;
}

/** The URL to scrape for ingest's signature failures, or null when turned off. */
export function ingestMetricsUrlFromEnv(env: DashboardEnv): string | null {
  return env.INLET_INGEST_METRICS_URL === 'off' ? null : env.INLET_INGEST_METRICS_URL;
}
