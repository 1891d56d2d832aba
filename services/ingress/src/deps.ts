import type { Settings } from '@tessera/config';
import type { Logger } from '@tessera/config/log';
import { TokenCache } from '@tessera/core';
import { PasswordHasher, VerifyPool } from '@tessera/passwords';
import {
  ClientRepository,
  connectRedis,
  type KeyLayout,
  keyLayout,
  LoginGate,
  legacyLayoutProblem,
  type RevocationFeed,
  revocationFeed,
  type TesseraRedis,
  TokenRepository,
  UserRepository,
} from '@tessera/store';
import type { HandlerDeps } from './handler.ts';
import { openJwtKeys } from './jwt-keys.ts';
import { Upstreams } from './upstream.ts';

export interface OpenDeps extends HandlerDeps {
  readonly redis: TesseraRedis;
  /** The subscription that keeps `tokenCache` told of revocations (present with it). */
  readonly revocationFeed?: RevocationFeed;
  close(): void;
}

/** Everything the handler needs, for any runtime: Redis, repositories, the warmed-up hasher. */
export async function openDeps(settings: Settings, log: Logger, connectionName: string): Promise<OpenDeps> {
  const redis = await connectRedis({ url: settings.redisUrl, commandTimeoutMs: settings.redisCommandTimeoutMs, connectionName });
  const keys = keyLayout(settings.redisPrefix, settings.accountShards);
  const legacy = await legacyLayoutProblem(redis, keys);
  if (legacy !== null) {
    redis.disconnect();
    throw new Error(legacy);
  }
  const jwt = await openJwtKeys(settings, redis, keys, log);
  const hasher = new PasswordHasher(settings.argon2);
  await hasher.dummyHash();
  const tokens = new TokenRepository(redis, keys, { ...settings.tokenLimits, jwtLeewayMs: settings.jwtClaims.leeway * 1000 });
  const cache = await openTokenCache(settings, keys, tokens);
  const upstreams = new Upstreams(settings.upstream, log);
  return {
    upstreams,
    redis,
    users: new UserRepository(redis, keys),
    tokens,
    ...(cache === null ? {} : { tokenCache: cache.cache, revocationFeed: cache.feed }),
    clients: new ClientRepository(redis, keys),
    gate: new LoginGate(redis, keys, settings.lockout),
    pool: new VerifyPool(settings.verifyPool.size, settings.verifyPool.maxWaitMs),
    hasher,
    signer: jwt.signer,
    log,
    ping: () => redis.ping(),
    close: () => {
      upstreams.close();
      cache?.close();
      jwt.close();
      redis.disconnect();
    },
  };
}

/**
 * The in-process token memory of introspection (when `settings.tokenCache.enabled`), subscribed
 * to the revocation push; this process's own revocations reach it before their answer is sent.
 */
export async function openTokenCache(
  settings: Settings,
  keys: KeyLayout,
  tokens: TokenRepository,
): Promise<{ cache: TokenCache; feed: RevocationFeed; close(): void } | null> {
  if (!settings.tokenCache.enabled) return null;
  const cache = new TokenCache({ ...settings.tokenCache, now: Date.now });
  const feed = await revocationFeed(settings.redisUrl, keys, cache);
  tokens.onForget = (hashes) => cache.revoked(hashes);
  return { cache, feed, close: () => feed.close() };
}
