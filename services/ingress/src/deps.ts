import type { Settings } from '@tessera/config';
import { PasswordHasher, VerifyPool } from '@tessera/passwords';
import { ClientRepository, connectRedis, keyLayout, LoginGate, type TesseraRedis, TokenRepository, UserRepository } from '@tessera/store';
import type { HandlerDeps } from './handler.ts';
import type { Logger } from './log.ts';

export interface OpenDeps extends HandlerDeps {
  readonly redis: TesseraRedis;
  close(): void;
}

/** Everything the handler needs, for any runtime: Redis, repositories, the warmed-up hasher. */
export async function openDeps(settings: Settings, log: Logger, connectionName: string): Promise<OpenDeps> {
  const redis = await connectRedis({ url: settings.redisUrl, commandTimeoutMs: settings.redisCommandTimeoutMs, connectionName });
  const keys = keyLayout(settings.redisPrefix);
  const hasher = new PasswordHasher(settings.argon2);
  await hasher.dummyHash();
  return {
    redis,
    users: new UserRepository(redis, keys),
    tokens: new TokenRepository(redis, keys),
    clients: new ClientRepository(redis, keys),
    gate: new LoginGate(redis, keys, settings.lockout),
    pool: new VerifyPool(settings.verifyPool.size, settings.verifyPool.maxWaitMs),
    hasher,
    log,
    ping: () => redis.ping(),
    close: () => redis.disconnect(),
  };
}
