export { createApp, type DashboardAppEnv, type DashboardDeps } from './app.js';
export type { AuthenticatedUser, DashboardUser, Role } from './auth.js';
export {
  type DashboardEnv,
  dashboardEnvShape,
  ingestMetricsUrlFromEnv,
  parseDashboardEnv,
  usersFromEnv,
} from './env.js';
export { DashboardError, type DashboardErrorCode } from './errors.js';
export { LoginLimiter, type LoginLimiterOptions } from './login-limiter.js';
export { createDashboardMetrics, type DashboardMetrics } from './metrics.js';
