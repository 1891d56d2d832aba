import { readFile } from 'node:fs/promises';
import { UnavailableError } from '@tessera/core';
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { freePort } from '../../../test/support/redis-source.ts';
import { isRedisUnavailable } from './errors.ts';
import { newRedisClient } from './redis.ts';

/** What a promise rejects with. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

describe('isRedisUnavailable', () => {
  it('is true for what ioredis throws while Redis is out of reach', async () => {
    const port = await freePort();
    const refused = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    refused.on('error', () => {});
    expect(isRedisUnavailable(await rejection(refused.connect()))).toBe(true); // ECONNREFUSED
    expect(isRedisUnavailable(await rejection(refused.get('k')))).toBe(true); // Connection is closed.
    const offline = new Redis(port, '127.0.0.1', { lazyConnect: true, enableOfflineQueue: false });
    expect(isRedisUnavailable(await rejection(offline.get('k')))).toBe(true); // Stream isn't writeable...
    offline.disconnect();
    const retried = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => 10 });
    retried.on('error', () => {});
    expect(isRedisUnavailable(await rejection(retried.get('k')))).toBe(true); // MaxRetriesPerRequestError
    retried.disconnect();
    expect(isRedisUnavailable(new UnavailableError('Redis is unavailable'))).toBe(true);
  });

  it('is false for a reply error, a bug or another system error', async () => {
    const redis = newRedisClient(inject('redisUrl'));
    expect(isRedisUnavailable(await rejection(redis.call('NO-SUCH-COMMAND')))).toBe(false);
    redis.disconnect();
    expect(isRedisUnavailable(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe(false);
    expect(isRedisUnavailable(await rejection(readFile('/nonexistent/tessera')))).toBe(false); // ENOENT
    expect(isRedisUnavailable('ECONNREFUSED')).toBe(false);
    expect(isRedisUnavailable(null)).toBe(false);
  });
});
