export { createApp, type DashboardAppEnv, type DashboardDeps } from './app.js';
export type { AuthenticatedUser, DashboardUser, Role } from './auth.js';
export {
  DEVICE_COOKIE,
  type Device,
  DeviceCookies,
  type DeviceCookiesOptions,
} from './device-cookie.js';
export {
  type DashboardEnv,
  dashboardEnvShape,
  ingestMetricsUrlFromEnv,
  parseDashboardEnv,
  usersFromEnv,
} from './env.js';
export { DashboardError, type DashboardErrorCode } from './errors.js';
export { addressKey, type LoginAttempt, LoginLimiter, type LoginLimiterOptions } from './login-limiter.js';
export { createDashboardMetrics, type DashboardMetrics } from './metrics.js';
