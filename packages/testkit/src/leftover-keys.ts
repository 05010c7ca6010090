import { Redis } from 'ioredis';
import { testRedisUrl } from './names.js';

/** A test queue's hash tag names the process that made it: `{inlet-test_<pid>_<random>}`. */
const TEST_PREFIX = /^\{inlet-test_(\d+)_[0-9a-f]+\}/;

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes the keys of test queues whose process has ended. BullMQ writes a queue's meta hash as
 * soon as a Queue connects, so a test that adds nothing, or one whose cleanup failed, leaves keys
 * behind; a run of another checkout on the same machine is still running and keeps its own.
 */
export async function deleteLeftoverQueueKeys(redisUrl = testRedisUrl()): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', '{inlet-test_*', 'COUNT', 1000);
      cursor = next;
      const ended = keys.filter((key) => {
        const pid = TEST_PREFIX.exec(key)?.[1];
        return pid !== undefined && !running(Number(pid));
      });
      if (ended.length > 0) deleted += await redis.del(...ended);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}
