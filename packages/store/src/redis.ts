import { readdirSync, readFileSync } from 'node:fs';
import { newRedisClient } from '@tessera/client/redis';
import { Cluster, type Redis, type RedisOptions } from 'ioredis';

export interface RedisConnectOptions {
  readonly url: string;
  /** A command slower than this fails (and the request answers "unavailable"). */
  readonly commandTimeoutMs?: number;
  readonly connectionName?: string;
}

/**
 * The commands the Lua scripts in `lua/` become (one script a file, `name-<number of keys>.lua`,
 * found there when a client connects), typed: keys first, then arguments. A script of `name-n.lua`
 * takes any number of keys (all of one slot): its command takes their number first. Their numeric answers
 * are named in lua-codes.ts.
 */
export interface ScriptCommands {
  putUsers(outbox: string, revoke: string, ...argv: string[]): Promise<number[]>;
  /** `argv`: per entry, the claiming username and the holder found stale. */
  claimIndex(entries: number, ...keysThenArgv: (string | number)[]): Promise<(string | number)[]>;
  settleIndex(entries: number, ...keys: string[]): Promise<number>;
  readUsers(accounts: number, ...keys: string[]): Promise<string[][]>;
  repairIndex(entries: number, ...keysThenUsernames: string[]): Promise<number>;
  releaseIndex(entry: string, username: string): Promise<number>;
  /** `ids`: each an id to move past, or '' for the next id. */
  raiseSeq(seq: string, ...ids: string[]): Promise<number[]>;
  setPassword(k1: string, k2: string, expected: string, hash: string, event: string): Promise<number>;
  patchUser(k1: string, ...fieldValues: string[]): Promise<number>;
  indexTokens(index: string, family: string, maxTokens: number, maxFamilies: number, ...argv: (string | number)[]): Promise<string[][]>;
  revokeStep(index: string, family: string, count: number, ...done: string[]): Promise<string[]>;
  dropLegacyFamily(k1: string, family: string, entry: string): Promise<number>;
  beginLogin(k1: string, k2: string, k3: string, ...argv: (string | number)[]): Promise<(string | number)[]>;
  countRate(counter: string, windowMs: number): Promise<[number, number]>;
  finishLogin(k1: string, k2: string, k3: string, k4: string, k5: string, ...argv: (string | number)[]): Promise<number[]>;
  escalateLock(k1: string, k2: string, ...argv: (string | number)[]): Promise<number>;
  clearLock(index: string, outbox: string, prefix: string, event: string, ...locks: string[]): Promise<number>;
  appendAudit(stream: string, seen: string, id: string, event: string, maxLen: number, seenTtlS: number): Promise<number>;
  useRefresh(k1: string, ...ownerArgs: string[]): Promise<[number, string?, string[]?]>;
  consumeAccess(k1: string): Promise<[number, string?]>;
  familyLive(revokedMark: string, outbox: string, event: string): Promise<number>;
  revokeToken(token: string, expired: string, outbox: string, event: string): Promise<number>;
}

export type TesseraRedis = Redis & ScriptCommands;

// Read from the sources, from src/ and dist/ alike: a build (or a build cache restoring dist/)
// never leaves a script there that the sources no longer have.
const LUA_DIR = new URL('../src/lua/', import.meta.url);

/**
 * The scripts in `lua/`: each file `name-<number of keys>.lua` (`name-n.lua`: any number, null
 * here); a name twice is an error.
 */
export function luaScripts(): { readonly name: string; readonly numberOfKeys: number | null; readonly lua: string }[] {
  const found = new Map<string, { name: string; numberOfKeys: number | null; lua: string }>();
  for (const file of readdirSync(LUA_DIR).sort()) {
    const m = /^([A-Za-z]\w*)-(\d+|n)\.lua$/.exec(file);
    if (m === null) continue;
    const name = m[1] as string;
    if (found.has(name)) throw new Error(`two Lua scripts named ${name} in ${LUA_DIR.pathname}`);
    const numberOfKeys = m[2] === 'n' ? null : Number(m[2]);
    found.set(name, { name, numberOfKeys, lua: readFileSync(new URL(file, LUA_DIR), 'utf8') });
  }
  return [...found.values()];
}

/** Registers each Lua script as a command called by SHA. */
function defineScripts(redis: Redis | Cluster): void {
  for (const { name, numberOfKeys, lua } of luaScripts())
    redis.defineCommand(name, numberOfKeys === null ? { lua } : { numberOfKeys, lua });
}

// One parser of `redis-cluster://` URLs for Tessera and its SDK (which subscribes to revocations
// on the same Redis): @tessera/client/redis.
export { clusterConfig, isClusterUrl, newRedisClient } from '@tessera/client/redis';

/**
 * Opens the request-path connection: auto-pipelined, no offline queue (a command issued while
 * Redis is down fails at once instead of waiting), bounded command time. Resolves once ready.
 * Works on one Redis and on Redis Cluster (`redis-cluster://` URLs): every script's keys share a
 * hash tag.
 */
export async function connectRedis(options: RedisConnectOptions): Promise<TesseraRedis> {
  const redisOptions: RedisOptions = {
    lazyConnect: true,
    enableAutoPipelining: true,
    // a script of any number of keys takes their number first, which ioredis's auto-pipelining
    // would take for the key that places it on a cluster's node: sent on their own (at once, too)
    autoPipeliningIgnoredCommands: luaScripts()
      .filter((s) => s.numberOfKeys === null)
      .map((s) => s.name),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    connectionName: options.connectionName ?? 'tessera',
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
  };
  const redis = newRedisClient(options.url, redisOptions);
  // Errors surface through the commands; an unhandled 'error' event would crash the process.
  redis.on('error', () => {});
  defineScripts(redis);
  await redis.connect();
  return redis as TesseraRedis;
}

/**
 * A connection of its own for blocking reads (XREAD BLOCK) beside `redis`: its commands wait while
 * it connects (an offline queue) and have no time limit. On one Redis or a Cluster alike: a
 * Cluster's `duplicate` takes its start-up nodes first and per-node options apart, so the options
 * of a Redis `duplicate` given to it would be dropped (its commands then fail at once, not ready).
 */
export function blockingReader(redis: Redis): Redis {
  // newRedisClient gives a Cluster under the Redis type
  if ((redis as Redis | Cluster) instanceof Cluster) {
    const cluster = redis as unknown as Cluster;
    const perNode = { ...cluster.options.redisOptions, commandTimeout: undefined };
    return cluster.duplicate([], { enableOfflineQueue: true, redisOptions: perNode }) as unknown as Redis;
  }
  return redis.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
}
