export {
  type CertificatePair,
  createTestCertificates,
  opensslAvailable,
  type TestCertificates,
} from './certificates.js';
export { createDatabaseOn, createTestDatabase, type TestDatabase } from './database.js';
export { deleteLeftoverQueueKeys } from './leftover-keys.js';
export { testDatabaseServerUrl, testRedisUrl, uniqueName, uniqueQueue } from './names.js';
export { type PostgresServer, type PostgresServerOptions, startPostgresServer } from './postgres-server.js';
export {
  exited,
  freePort,
  type RedisServer,
  type RedisServerOptions,
  startRedisServer,
  waitFor,
} from './processes.js';
