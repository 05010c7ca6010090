export { createTestDatabase, type TestDatabase } from './database.js';
export { testDatabaseServerUrl, testRedisUrl, uniqueName, uniqueQueue } from './names.js';
export { exited, freePort, type RedisServer, startRedisServer, waitFor } from './processes.js';
