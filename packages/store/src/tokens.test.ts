import { setTimeout as sleep } from 'node:timers/promises';
import { type TokenGrant, type TokenRecord, UnavailableError } from '@tessera/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { countRoundTrips, dropPrefix, keysMatching, outboxEntries, testKeys, testPrefix } from '../../../test/support/stack.ts';
import { tokenHash } from './hash.ts';
import { type KeyLayout, keyLayout, shardTags } from './keys.ts';
import { decodeRecord, encodeRecord, recordShardTag } from './record.ts';
import { connectRedis, isClusterUrl, newRedisClient, type TesseraRedis } from './redis.ts';
import { entryHash } from './token-index.ts';
import { type TokenLimits, TokenRepository } from './tokens.ts';
import { UserRepository } from './users.ts';

let redis: TesseraRedis;
let prefix: string;
let keys: KeyLayout;
let tokens: TokenRepository;
const LIMITS: TokenLimits = { perFamily: 128, familiesPerUser: 128 };
/** On a cluster some steps differ by design (packages/store/src/tokens.ts says which). */
const ON_CLUSTER = isClusterUrl(inject('redisUrl'));

beforeAll(async () => {
  redis = await connectRedis({ url: inject('redisUrl') });
});
afterAll(async () => {
  await redis.quit();
});
beforeEach(() => {
  prefix = testPrefix();
  keys = testKeys(prefix);
  tokens = new TokenRepository(redis, keys, LIMITS);
});
afterEach(async () => {
  await dropPrefix(redis, prefix);
});

function grant(value: string, kind: TokenGrant['kind'], lifetime: number, issuedAt = Math.floor(Date.now() / 1000) * 1000): TokenGrant {
  return { value, kind, format: 'uuid', lifetime, issuedAt, expiresAt: issuedAt + lifetime * 1000 };
}

function recordOf(g: TokenGrant): TokenRecord {
  return {
    kind: g.kind,
    format: g.format,
    dialect: 'moh',
    userId: 7,
    username: 'MOH-90008',
    scopes: ['', 'read', 'write'],
    iat: Math.floor(g.issuedAt / 1000),
    exp: Math.floor(g.expiresAt / 1000),
    family: 'family-1',
  };
}

/** User 7's token index (indexTokens-1.lua): families score above 2^20 (end * 2^20 + alias), tokens their alias. */
const ALIASES = 2 ** 20;
const index = () => `${prefix}ti:{u7}`;
/** A grant's expiry in a token entry: seconds, base 36, after their digit count. */
const expiryOf = (g: TokenGrant) => {
  const s = Math.ceil(g.expiresAt / 1000).toString(36);
  return `${s.length}${s}`;
};
/** The families in user 7's index, the one that ends first first. */
const familiesOf = () => redis.zrange(index(), ALIASES, '+inf', 'BYSCORE');
/** A family's token entries (seq, expiry, kind, hash), oldest first. */
async function entriesOf(field: string): Promise<string[]> {
  const score = await redis.zscore(index(), field);
  const alias = Number(score) % ALIASES;
  return score === null ? [] : redis.zrange(index(), alias, alias, 'BYSCORE');
}

/** The events in the outbox, without their id, time and version. */
async function outbox(): Promise<Record<string, unknown>[]> {
  return (await outboxEntries(redis, keys)).map(([, f]) => {
    const { v, id, at, ...rest } = JSON.parse(f[1] as string) as Record<string, unknown>;
    return rest;
  });
}

const ACCESS = 'd0816a77-af67-43fc-bad1-2edb2aae3dc5';
const REFRESH = '542f00d0-4be3-4b47-940a-62e354b9c3e7';

describe('tokenHash', () => {
  it('is the first 128 bits of SHA-256, base64url', () => {
    expect(tokenHash('abc')).toBe('ungWv48Bz-pBQUDeXa4iIw');
    expect(tokenHash('')).toBe('47DEQpj8HBSa-_TImW-5JA');
  });
});

describe('token records', () => {
  const record: TokenRecord = {
    kind: 'access',
    format: 'uuid',
    dialect: 'moh',
    userId: 90_008,
    username: 'MOH-90008',
    scopes: ['', 'read', 'write'],
    iat: 1_760_000_000,
    exp: 1_760_086_400,
    family: 'd0816a77-af67-43fc-bad1-2edb2aae3dc5',
  };

  it('are short strings: kind first, a UUID family in 22 characters, the default scopes as nothing', () => {
    expect(encodeRecord(record)).toBe('aum1xg8|t3uwow|1uo0|0IFqd69nQ_y60S7bKq49xQ|MOH-90008||');
    expect(decodeRecord(encodeRecord(record))).toStrictEqual(record);
  });

  it('keep any family, jti and scopes', () => {
    const jwt: TokenRecord = {
      ...record,
      kind: 'refresh',
      format: 'jwt',
      dialect: 'simplejwt',
      family: 'family-1',
      scopes: ['a|b', 'read'],
      jti: '0123456789abcdef0123456789abcdef',
    };
    expect(encodeRecord(jwt)).toMatch(/^rjs1xg8\|/);
    expect(decodeRecord(encodeRecord(jwt))).toStrictEqual(jwt);
    expect(decodeRecord(encodeRecord({ ...record, scopes: [] }))).toStrictEqual({ ...record, scopes: [] });
    const peb: TokenRecord = { ...record, format: 'hex128', dialect: 'peb', exp: record.iat - 5 };
    expect(decodeRecord(encodeRecord(peb))).toStrictEqual(peb);
    // a SimpleJWT sliding token: its own kind, which no script takes for an access or a refresh token
    const sliding: TokenRecord = { ...jwt, kind: 'sliding' };
    expect(encodeRecord(sliding)).toMatch(/^sjs1xg8\|/);
    expect(decodeRecord(encodeRecord(sliding))).toStrictEqual(sliding);
  });

  it("carry their owner's account shard tag when given, after the user id without its 's'; a record of an earlier release, without one, reads as before", () => {
    const refresh: TokenRecord = { ...record, kind: 'refresh' };
    const stored = encodeRecord(refresh, 's47.15');
    expect(stored).toBe('rum1xg8.47.15|t3uwow|1uo0|0IFqd69nQ_y60S7bKq49xQ|MOH-90008||');
    expect(decodeRecord(stored)).toStrictEqual(refresh);
    expect(decodeRecord('rum1xg8|t3uwow|1uo0|0IFqd69nQ_y60S7bKq49xQ|MOH-90008||')).toStrictEqual(refresh);
    expect([recordShardTag(stored), recordShardTag(`U${stored}`), recordShardTag(encodeRecord(refresh))]).toStrictEqual([
      's47.15',
      's47.15',
      undefined,
    ]);
    expect(() => encodeRecord(refresh, '{s47.15}')).toThrow(TypeError);
  });
});

describe('TokenRepository', () => {
  it('names a token <prefix>t:{tokenHash(token)}', () => {
    expect(tokens.keyOf('abc')).toBe(`${prefix}t:{ungWv48Bz-pBQUDeXa4iIw}`);
    expect(keys.token('x')).toBe(`${prefix}t:{x}`);
  });

  it('saves a refresh in one round trip: the tokens, then the family check and its event, in one pipeline (a cluster: 3 steps)', async () => {
    const grants = [grant(ACCESS, 'access', 86_400), grant(REFRESH, 'refresh', 2_592_000)];
    const event = JSON.stringify({ type: 'token.refreshed', family: 'family-1' });
    let live = false;
    const trips = await countRoundTrips(redis, async () => {
      live = await tokens.saveRefreshed(grants, recordOf, 'family-1', event);
    });
    // on a cluster the writes, the check and the event are three steps (saveRefreshed)
    expect([live, trips]).toStrictEqual([true, ON_CLUSTER ? 3 : 1]);
    for (const g of grants) expect(decodeRecord((await redis.get(tokens.keyOf(g.value))) as string)).toStrictEqual(recordOf(g));
    expect(await outbox()).toStrictEqual([{ type: 'token.refreshed', family: 'family-1' }]);
  });

  it('reports a family revoked while its refresh wrote, and appends no event then', async () => {
    await redis.set(keys.revokedFamily('family-1'), '1', 'PX', 60_000);
    const grants = [grant(ACCESS, 'access', 86_400)];
    expect(await tokens.saveRefreshed(grants, recordOf, 'family-1', JSON.stringify({ type: 'token.refreshed' }))).toBe(false);
    expect(await outbox()).toStrictEqual([]);
  });

  it('saves each grant under its hash with its record, expiring at the token expiry', async () => {
    const grants = [grant(ACCESS, 'access', 86_400), grant(REFRESH, 'refresh', 2_592_000)];
    await tokens.save(grants, recordOf);
    for (const g of grants) {
      const key = `${prefix}t:{${tokenHash(g.value)}}`;
      expect(decodeRecord((await redis.get(key)) as string)).toStrictEqual(recordOf(g));
      expect(await redis.pexpiretime(key)).toBe(g.expiresAt);
      const pttl = await redis.pttl(key);
      expect(pttl).toBeLessThanOrEqual(g.lifetime * 1000);
      expect(pttl).toBeGreaterThan(g.lifetime * 1000 - 2000);
    }
    const expiry = Math.max(...grants.map((g) => g.expiresAt));
    expect((await keysMatching(redis, `${prefix}*`)).sort()).toStrictEqual(
      [...grants.map((g) => `${prefix}t:{${tokenHash(g.value)}}`), `${prefix}ti:{u7}`].sort(),
    );
    // one sorted set: the alias counter, the family's tokens (score its alias 1; seq, expiry, kind
    // and hash, in the order they joined), the family (score its end in seconds * 2^20 + its alias);
    // it lives as long as the latest token
    expect(await redis.zrange(index(), '-inf', '+inf', 'BYSCORE', 'WITHSCORES')).toStrictEqual([
      '#',
      '-1',
      `10${expiryOf(grants[0] as TokenGrant)}a${tokenHash(ACCESS)}`,
      '1',
      `11${expiryOf(grants[1] as TokenGrant)}r${tokenHash(REFRESH)}`,
      '1',
      '~family-1',
      String((expiry / 1000) * ALIASES + 1),
    ]);
    expect(await redis.object('ENCODING', index())).toBe('listpack');
    expect(await redis.pexpiretime(index())).toBe(expiry);
  });

  it('rotated tokens join their family; the index never expires before its latest token', async () => {
    const first = [grant(ACCESS, 'access', 86_400), grant(REFRESH, 'refresh', 2_592_000)];
    await tokens.save(first, recordOf);
    await sleep(2);
    const second = [grant('0f7d4a9e-1c2b-4d3e-8f4a-5b6c7d8e9f00', 'access', 60)];
    await tokens.save(second, recordOf);
    const members = await entriesOf('~family-1');
    expect(members.slice(2)).toStrictEqual([`12${expiryOf(second[0] as TokenGrant)}a${tokenHash(second[0]?.value as string)}`]);
    expect(await redis.pexpiretime(index())).toBe((first[1] as TokenGrant).expiresAt);
    expect(await tokens.revokeFamily(7, 'family-1', 'reuse')).toBe(3);
    expect(await keysMatching(redis, `${prefix}t:*`)).toStrictEqual([]);
    expect(await redis.exists(index())).toBe(0);
  });

  it('drops families whose every token has expired from the index', async () => {
    const now = Date.now();
    const short: TokenGrant = { value: ACCESS, kind: 'access', format: 'uuid', lifetime: 1, issuedAt: now, expiresAt: now + 1000 };
    await tokens.save([short], (g) => ({ ...recordOf(g), family: 'old' }));
    expect(await familiesOf()).toStrictEqual(['~old']);
    await sleep(2100);
    await tokens.save([grant(REFRESH, 'refresh', 600)], recordOf);
    expect(await familiesOf()).toStrictEqual(['~family-1']);
    // with its tokens: what is left is the counter and the family written
    expect(await redis.zcard(index())).toBe(3);
  });

  it('a used refresh token is kept, marked, and recognised; kinds are checked', async () => {
    await tokens.save([grant(ACCESS, 'access', 300), grant(REFRESH, 'refresh', 600)], recordOf);
    expect((await tokens.useRefresh(ACCESS)).state).toBe('wrong_kind');
    expect((await tokens.consume(REFRESH)).state).toBe('wrong_kind');
    expect(await tokens.useRefresh(REFRESH)).toMatchObject({ state: 'live', record: { kind: 'refresh', family: 'family-1' } });
    expect((await redis.get(tokens.keyOf(REFRESH)))?.startsWith('U')).toBe(true);
    expect(await tokens.useRefresh(REFRESH)).toMatchObject({ state: 'used', record: { kind: 'refresh', userId: 7 } });
    expect(await tokens.lookup(REFRESH)).toMatchObject({ state: 'used' });
    expect((await tokens.consume(REFRESH)).state).toBe('wrong_kind');
    expect(await tokens.consume(ACCESS)).toMatchObject({ state: 'live', record: { kind: 'access' } });
    expect(await tokens.lookup(ACCESS)).toStrictEqual({ state: 'unknown' });
  });

  it("saves the owner's account shard tag in opaque refresh records only: useRefresh reads the owner by it", async () => {
    const jwt: TokenGrant = { ...grant('h.p.s', 'refresh', 600), format: 'jwt' };
    await tokens.save([grant(ACCESS, 'access', 300), grant(REFRESH, 'refresh', 600), jwt], (g) =>
      g.format === 'jwt' ? { ...recordOf(g), dialect: 'simplejwt', jti: 'j1' } : recordOf(g),
    );
    const tagOf = async (value: string) => recordShardTag((await redis.get(tokens.keyOf(value))) as string);
    expect([await tagOf(ACCESS), await tagOf(REFRESH), await tagOf('h.p.s')]).toStrictEqual([
      undefined,
      shardTags(keys.shards)[keys.shardOf('MOH-90008')],
      undefined,
    ]);
  });

  it('useRefresh reads the owner in the same step, from the account shard its record names; on a cluster it does not (another slot)', async () => {
    const users = new UserRepository(redis, keys);
    // names of many shards, and names whose UTF-8 bytes are more than one per character
    const names = [...Array.from({ length: 60 }, (_, i) => `owner.${i}`), 'Ünïcødé', 'пользователь', '用户名', 'MOH-90008'];
    for (const [i, username] of names.entries()) {
      const user = await users.create({ username, passwordHash: `h${i}` });
      const value = `${REFRESH.slice(0, -4)}${String(i).padStart(4, '0')}`;
      await tokens.save([grant(value, 'refresh', 600)], (g) => ({ ...recordOf(g), userId: user.id, username }));
      const st = await tokens.useRefresh(value);
      if (ON_CLUSTER) expect([st.state, 'owner' in st]).toStrictEqual(['live', false]);
      else expect(st).toMatchObject({ state: 'live', owner: { id: user.id, username, passwordHash: `h${i}` } });
    }
    expect(new Set(names.map((n) => keys.shardOf(n))).size).toBeGreaterThan(20);
    // a gone owner reads as null
    const value = `${REFRESH.slice(0, -4)}gone`;
    await tokens.save([grant(value, 'refresh', 600)], (g) => ({ ...recordOf(g), userId: 999, username: 'no.such.user' }));
    const gone = await tokens.useRefresh(value);
    if (ON_CLUSTER) expect([gone.state, 'owner' in gone]).toStrictEqual(['live', false]);
    else expect(gone).toMatchObject({ state: 'live', owner: null });
  });

  it('useRefresh trades in a record written before records carried the shard tag (an earlier release): live, marked used, its owner left to the caller', async () => {
    const user = await new UserRepository(redis, keys).create({ username: 'MOH-90008', passwordHash: 'h' });
    const old = `rum${user.id.toString(36)}|t3uwow|1jk00|0IFqd69nQ_y60S7bKq49xQ|MOH-90008||`;
    await redis.set(tokens.keyOf(REFRESH), old, 'PX', 60_000);
    expect(await tokens.useRefresh(REFRESH)).toStrictEqual({
      state: 'live',
      record: {
        ...recordOf(grant(REFRESH, 'refresh', 2_592_000, 1_760_000_000_000)),
        userId: user.id,
        family: 'd0816a77-af67-43fc-bad1-2edb2aae3dc5',
      },
    });
    expect(await redis.get(tokens.keyOf(REFRESH))).toBe(`U${old}`);
    expect((await tokens.useRefresh(REFRESH)).state).toBe('used');
  });

  it("useRefresh believes the owner its record's tag names only where the username's account is now: after TESSERA_ACCOUNT_SHARDS changed, it leaves the owner to the caller, never an account stranded under the old tag", async () => {
    // 48 shards then 96: shard 0's tag of 48 (s0.112) is shard 0's of 96 too, the others differ
    const [before, now] = [keyLayout(prefix, 48), keyLayout(prefix, 96)];
    const tagIn = (k: KeyLayout, u: string) => shardTags(k.shards)[k.shardOf(u)];
    const names = Array.from({ length: 2000 }, (_, i) => `moved.${i}`);
    const pick = (test: (u: string) => boolean) => names.find(test) as string;
    const cases = [
      // was in shard 0, is in shard 1 of 96: the old tag is now shard 0's, where a stale copy was left
      { username: pick((u) => before.shardOf(u) === 0 && now.shardOf(u) === 1), stale: true, believed: false },
      // shard 0 in both layouts: the tag is still its account's
      { username: pick((u) => before.shardOf(u) === 0 && now.shardOf(u) === 0), stale: false, believed: true },
      // another tag now, with and without a stale copy under the old one
      { username: pick((u) => before.shardOf(u) === 5), stale: true, believed: false },
      { username: pick((u) => before.shardOf(u) === 6), stale: false, believed: false },
    ];
    expect(tagIn(before, cases[0]?.username as string)).toBe(tagIn(now, cases[1]?.username as string));
    const written = new TokenRepository(redis, before, LIMITS);
    const read = new TokenRepository(redis, now, LIMITS);
    for (const [i, { username, stale, believed }] of cases.entries()) {
      const id = 5000 + i;
      await new UserRepository(redis, now).create({ id, username, passwordHash: 'live' });
      if (stale) await new UserRepository(redis, before).create({ id, username, passwordHash: 'stale' });
      const value = `${REFRESH.slice(0, -4)}${String(i).padStart(4, '0')}`;
      await written.save([grant(value, 'refresh', 600)], (g) => ({ ...recordOf(g), userId: id, username }));
      const st = await read.useRefresh(value);
      expect(st.state).toBe('live');
      if (believed && !ON_CLUSTER) expect(st).toMatchObject({ owner: { id, username, passwordHash: 'live' } });
      else expect('owner' in st, username).toBe(false);
      // what the caller then reads: the account where it is now
      expect(await new UserRepository(redis, now).findById(id, username)).toMatchObject({ passwordHash: 'live' });
    }
  });

  it("useRefresh leaves the owner to the caller when the account of the record's username has another id than the record", async () => {
    const user = await new UserRepository(redis, keys).create({ username: 'MOH-90008', passwordHash: 'h' });
    await tokens.save([grant(REFRESH, 'refresh', 600)], (g) => ({ ...recordOf(g), userId: user.id + 1 }));
    const st = await tokens.useRefresh(REFRESH);
    expect([st.state, 'owner' in st]).toStrictEqual(['live', false]);
  });

  it('revokes a family and a user at once, announcing the hashes', async () => {
    const sub = newRedisClient(inject('redisUrl'));
    const messages: string[] = [];
    await sub.subscribe(keys.revocations);
    sub.on('message', (_c, m) => messages.push(m));
    const grants = [grant(ACCESS, 'access', 86_400), grant(REFRESH, 'refresh', 2_592_000)];
    await tokens.save(grants, recordOf);
    expect(await tokens.revokeFamily(7, 'family-1', 'admin')).toBe(2);
    expect(await tokens.get(ACCESS)).toBeNull();
    expect(await tokens.get(REFRESH)).toBeNull();
    expect(await tokens.isFamilyRevoked('family-1')).toBe(true);
    // the mark lasts while a token of the family could still be rotated
    expect(await redis.pttl(keys.revokedFamily('family-1'))).toBeGreaterThan(2_592_000_000 - 5000);
    for (let i = 0; i < 50 && messages.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(JSON.parse(messages[0] as string)).toStrictEqual({
      hashes: expect.arrayContaining(grants.map((g) => tokenHash(g.value))),
      reason: 'admin',
    });
    await tokens.save([grant('c1a3e1e2-5b57-4f59-9e3b-0c7d3a3c4d5e', 'access', 60)], (g) => ({ ...recordOf(g), family: 'family-2' }));
    await tokens.save([grant('7e57a9c4-2d1b-4c3a-9e8f-0a1b2c3d4e5f', 'refresh', 60)], (g) => ({
      ...recordOf(g),
      family: 'a6c3d3a1-8b0e-4f3e-9d6c-2b1a0f9e8d7c',
    }));
    expect(await tokens.revokeUser(7, 'user_disabled')).toBe(2);
    expect(await tokens.isFamilyRevoked('a6c3d3a1-8b0e-4f3e-9d6c-2b1a0f9e8d7c')).toBe(true);
    expect(await redis.exists(index())).toBe(0);
    expect(await keysMatching(redis, `${prefix}t:*`)).toStrictEqual([]);
    await sub.quit();
  });

  it('a family revocation cut short is completed by the next one; the family leaves the index once empty', async () => {
    const grants = [grant(ACCESS, 'access', 86_400), grant(REFRESH, 'refresh', 2_592_000)];
    await tokens.save(grants, recordOf);
    // as if a first revocation had deleted one token and then lost Redis before the rest
    await redis.del(tokens.keyOf(ACCESS));
    expect(await tokens.revokeFamily(7, 'family-1', 'admin')).toBe(1);
    expect(await tokens.get(REFRESH)).toBeNull();
    expect(await redis.exists(index())).toBe(0);
    // each step takes out what the previous one read; the family goes with the step that finds it empty
    await tokens.save(grants, recordOf);
    const [oldest, newest] = await entriesOf('~family-1');
    expect(await redis.revokeStep(index(), '~family-1', 1)).toStrictEqual([oldest]);
    expect(await redis.revokeStep(index(), '~family-1', 1, oldest as string)).toStrictEqual([newest]);
    expect(await familiesOf()).toStrictEqual(['~family-1']);
    expect(await redis.revokeStep(index(), '~family-1', 1, newest as string)).toStrictEqual([]);
    expect(await redis.exists(index())).toBe(0);
    expect(await redis.revokeStep(index(), '~family-1', 1)).toStrictEqual([]);
  });

  it('revocations still reach tokens indexed in the earlier layout (one hash per user)', async () => {
    const entry = (g: TokenGrant) =>
      `${Math.ceil(g.expiresAt / 1000)
        .toString(36)
        .padStart(7, '0')}${tokenHash(g.value)}`;
    const index = `${prefix}ui:{u7}`;
    const old = [grant(ACCESS, 'access', 86_400), grant(REFRESH, 'refresh', 2_592_000)];
    const other = grant('0c6f6f0e-3b0a-4c53-8f8e-6b0f2d1e3a4b', 'access', 86_400);
    for (const g of [...old, other]) await redis.set(tokens.keyOf(g.value), encodeRecord(recordOf(g)), 'PXAT', g.expiresAt);
    await redis.hset(index, '~family-1', old.map(entry).join(''), '~family-2', entry(other));
    // a family written since has tokens in both layouts
    const fresh = grant('7e57a9c4-2d1b-4c3a-9e8f-0a1b2c3d4e5f', 'access', 60);
    await tokens.save([fresh], recordOf);
    expect(await tokens.revokeFamily(7, 'family-1', 'admin')).toBe(3);
    expect(await redis.hkeys(index)).toStrictEqual(['~family-2']);
    expect(await tokens.get(other.value)).not.toBeNull();
    expect(await tokens.revokeUser(7, 'user_disabled')).toBe(1);
    // what is left: the families' marks, and the events of the two revocations
    expect((await keysMatching(redis, `${prefix}*`)).sort()).toStrictEqual(
      [`${prefix}fr:{family-1}`, `${prefix}fr:{family-2}`, keys.outbox(keys.shardOf('7'))].sort(),
    );
    expect(await outbox()).toMatchObject([
      { family: 'family-1', count: 3 },
      { userId: 7, reason: 'user_disabled', count: 1 },
    ]);
    // an entry grown since it was read is left
    await redis.hset(index, '~family-3', entry(other));
    expect(await redis.dropLegacyFamily(index, '~family-3', '')).toBe(0);
    expect(await redis.dropLegacyFamily(index, '~family-3', entry(other))).toBe(1);
  });

  it('never writes a raw token value, in keys or values', async () => {
    await tokens.save([grant(ACCESS, 'access', 60), grant(REFRESH, 'refresh', 60)], recordOf);
    for (const key of await keysMatching(redis, `${prefix}*`)) {
      const value = (await redis.type(key)) === 'zset' ? JSON.stringify(await redis.zrange(key, 0, -1)) : ((await redis.get(key)) ?? '');
      for (const raw of [ACCESS, REFRESH]) {
        expect(key.includes(raw)).toBe(false);
        expect(value.includes(raw)).toBe(false);
      }
    }
  });

  it('reads a token back by its value; an unknown token is null', async () => {
    const g = grant(ACCESS, 'access', 300);
    await tokens.save([g], recordOf);
    expect(await tokens.get(ACCESS)).toStrictEqual(recordOf(g));
    expect(await tokens.get(REFRESH)).toBeNull();
    expect(await tokens.get(tokenHash(ACCESS))).toBeNull();
  });

  it('a token is gone once its expiry passes', async () => {
    const now = Date.now();
    const g: TokenGrant = { value: ACCESS, kind: 'access', format: 'uuid', lifetime: 1, issuedAt: now, expiresAt: now + 400 };
    await tokens.save([g], recordOf);
    expect(await tokens.get(ACCESS)).not.toBeNull();
    await sleep(600);
    expect(await tokens.get(ACCESS)).toBeNull();
    expect(await redis.exists(tokens.keyOf(ACCESS))).toBe(0);
  });

  it('a grant already expired is not kept', async () => {
    const now = Date.now();
    await tokens.save(
      [{ value: ACCESS, kind: 'access', format: 'uuid', lifetime: 1, issuedAt: now - 5000, expiresAt: now - 1000 }],
      recordOf,
    );
    expect(await tokens.get(ACCESS)).toBeNull();
    expect(await keysMatching(redis, `${prefix}*`)).toStrictEqual([]);
  });

  it('saving nothing writes nothing', async () => {
    await tokens.save([], recordOf);
    expect(await keysMatching(redis, `${prefix}*`)).toStrictEqual([]);
  });

  it('a closed connection is UnavailableError', async () => {
    const closed = await connectRedis({ url: inject('redisUrl') });
    closed.disconnect();
    const repo = new TokenRepository(closed, keys, LIMITS);
    for (const op of [() => repo.save([grant(ACCESS, 'access', 60)], recordOf), () => repo.get(ACCESS)]) {
      const err = await op().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
    }
  });
});

describe('TokenRepository audit events', () => {
  const uuid = () => crypto.randomUUID();
  const revoked = (fields: Record<string, unknown>) => ({ type: 'token.revoked', ...fields, outcome: 'revoked' });

  it('a token revoked: one token.revoked naming who asked, counting it if it was there', async () => {
    await tokens.save([grant(ACCESS, 'access', 600)], recordOf);
    expect(await tokens.revoke(ACCESS, 'client', 'oauth')).toBe(true);
    expect(await tokens.revoke(ACCESS, 'client', 'oauth')).toBe(false);
    expect(await outbox()).toStrictEqual([
      revoked({ dialect: 'oauth', reason: 'client', count: 1 }),
      revoked({ dialect: 'oauth', reason: 'client', count: 0 }),
    ]);
  });

  it('a family revoked in several steps: one event with every token counted; reuse is token.reuse_detected', async () => {
    const big = new TokenRepository(redis, keys, { perFamily: 1024, familiesPerUser: 8 });
    // 300 tokens: three steps of at most 128
    await big.save(
      Array.from({ length: 300 }, () => grant(uuid(), 'access', 600)),
      recordOf,
    );
    expect(await big.revokeFamily(7, 'family-1', 'admin', 'cli')).toBe(300);
    await big.save([grant(ACCESS, 'access', 600), grant(REFRESH, 'refresh', 600)], (g) => ({ ...recordOf(g), family: 'family-2' }));
    expect(await big.revokeFamily(7, 'family-2', 'reuse')).toBe(2);
    expect(await big.revokeFamily(7, 'family-2', 'reuse')).toBe(0);
    expect(await outbox()).toStrictEqual([
      revoked({ dialect: 'cli', userId: 7, family: 'family-1', reason: 'admin', count: 300 }),
      { type: 'token.reuse_detected', userId: 7, family: 'family-2', reason: 'reuse', count: 2, outcome: 'revoked' },
      { type: 'token.reuse_detected', userId: 7, family: 'family-2', reason: 'reuse', count: 0, outcome: 'revoked' },
    ]);
  });

  it('every token of a user revoked: one event for the user, no family, none per family', async () => {
    for (const family of ['family-1', 'family-2', 'family-3'])
      await tokens.save([grant(uuid(), 'access', 600), grant(uuid(), 'refresh', 600)], (g) => ({ ...recordOf(g), family }));
    expect(await tokens.revokeUser(7, 'password_changed', 'cli')).toBe(6);
    expect(await outbox()).toStrictEqual([revoked({ dialect: 'cli', userId: 7, reason: 'password_changed', count: 6 })]);
  });

  it('tokens a save pushed out: one event per family they left, reason evicted', async () => {
    const bounded = new TokenRepository(redis, keys, { perFamily: 2, familiesPerUser: 1 });
    await bounded.save([grant(uuid(), 'access', 600), grant(uuid(), 'refresh', 600)], recordOf);
    expect(await outbox()).toStrictEqual([]);
    await sleep(2);
    await bounded.save([grant(uuid(), 'access', 600)], recordOf);
    await bounded.save([grant(uuid(), 'access', 600)], (g) => ({ ...recordOf(g), family: 'family-2' }));
    expect(await outbox()).toStrictEqual([
      revoked({ userId: 7, family: 'family-1', reason: 'evicted', count: 1 }),
      revoked({ userId: 7, family: 'family-1', reason: 'evicted', count: 2 }),
    ]);
  });
});

describe('TokenRepository bounds', () => {
  const uuid = () => crypto.randomUUID();
  /** The revocation messages of this prefix, as they arrive. */
  async function listen(): Promise<{ messages: { hashes: string[]; reason: string }[]; close(): Promise<void> }> {
    const sub = newRedisClient(inject('redisUrl'));
    const messages: { hashes: string[]; reason: string }[] = [];
    await sub.subscribe(keys.revocations);
    sub.on('message', (_c, m) => messages.push(JSON.parse(m)));
    return { messages, close: async () => void (await sub.quit()) };
  }
  const settle = async (until: () => boolean) => {
    for (let i = 0; i < 100 && !until(); i++) await sleep(10);
  };

  it('a family keeps its newest tokens: the oldest are revoked and announced, its refresh token spared', async () => {
    const bounded = new TokenRepository(redis, keys, { perFamily: 4, familiesPerUser: 8 });
    const feed = await listen();
    const forgotten: string[] = [];
    bounded.onForget = (hs) => forgotten.push(...hs);
    // a SimpleJWT-like family: one refresh token, then access tokens only
    const login = [grant(uuid(), 'access', 300), grant(REFRESH, 'refresh', 86_400)];
    expect(await bounded.save(login, recordOf)).toStrictEqual([]);
    const accesses = [login[0] as TokenGrant];
    const evictions = [];
    for (let i = 0; i < 6; i++) {
      await sleep(2);
      const g = grant(uuid(), 'access', 300);
      accesses.push(g);
      evictions.push(...(await bounded.save([g], recordOf)));
    }
    expect(await entriesOf('~family-1')).toHaveLength(4);
    expect(await redis.object('ENCODING', index())).toBe('listpack');
    // the refresh token and the newest three access tokens are left; the first four went, one per save
    const kept = [tokenHash(REFRESH), ...accesses.slice(4).map((g) => tokenHash(g.value))];
    expect((await entriesOf('~family-1')).map(entryHash).sort()).toStrictEqual(kept.sort());
    expect(evictions).toStrictEqual(Array.from({ length: 4 }, () => ({ userId: 7, family: 'family-1', count: 1, whole: false })));
    for (const g of accesses.slice(0, 4)) expect(await bounded.lookup(g.value)).toStrictEqual({ state: 'unknown' });
    for (const g of accesses.slice(4)) expect(await bounded.get(g.value)).not.toBeNull();
    expect(await bounded.get(REFRESH)).not.toBeNull();
    // this process's memory was told first, and the channel announced them with their reason
    const evicted = accesses.slice(0, 4).map((g) => tokenHash(g.value));
    expect(forgotten).toStrictEqual(evicted);
    await settle(() => feed.messages.length >= 4);
    // on a cluster each PUBLISH may go through another node and cross the bus: the same messages,
    // in an order of their own
    const byHash = (m: { hashes: string[] }[]) =>
      ON_CLUSTER ? [...m].sort((a, b) => ((a.hashes[0] ?? '') < (b.hashes[0] ?? '') ? -1 : 1)) : m;
    expect(byHash(feed.messages)).toStrictEqual(byHash(evicted.map((h) => ({ hashes: [h], reason: 'evicted' }))));
    // the family is not revoked: it lives on
    expect(await bounded.isFamilyRevoked('family-1')).toBe(false);
    await feed.close();
  });

  it('a family written sheds its expired tokens, 16 looked at a save, without revoking them; its live refresh token stays', async () => {
    const feed = await listen();
    const forgotten: string[] = [];
    tokens.onForget = (hs) => forgotten.push(...hs);
    // a SimpleJWT login and 20 refreshes without rotation, their access tokens expiring together,
    // a second or more after the saves begin (so that none has expired before the last save)
    const second = Math.floor(Date.now() / 1000) * 1000;
    const short = () => grant(uuid(), 'access', 2, second);
    const login = [short(), grant(REFRESH, 'refresh', 86_400)];
    await tokens.save(login, recordOf);
    const expired = [login[0] as TokenGrant];
    for (let i = 0; i < 20; i++) {
      const g = short();
      expired.push(g);
      expect(await tokens.save([g], recordOf)).toStrictEqual([]);
    }
    expect(await entriesOf('~family-1')).toHaveLength(22);
    await sleep(second + 2100 - Date.now());
    // the 16 oldest entries are looked at: the login's access token, its refresh token (live, kept)
    // and 14 refreshes' access tokens; the expired go
    const next = grant(uuid(), 'access', 60);
    expect(await tokens.save([next], recordOf)).toStrictEqual([]);
    const left = (await entriesOf('~family-1')).map(entryHash);
    expect(left).toStrictEqual([tokenHash(REFRESH), ...expired.slice(15).map((g) => tokenHash(g.value)), tokenHash(next.value)]);
    // the next save takes the rest: the family holds its live tokens only
    const last = grant(uuid(), 'access', 60);
    expect(await tokens.save([last], recordOf)).toStrictEqual([]);
    expect((await entriesOf('~family-1')).map(entryHash)).toStrictEqual([tokenHash(REFRESH), tokenHash(next.value), tokenHash(last.value)]);
    expect(await tokens.get(REFRESH)).not.toBeNull();
    // dead already: nothing is revoked or announced for them
    await sleep(50);
    expect(forgotten).toStrictEqual([]);
    expect(feed.messages).toStrictEqual([]);
    await feed.close();
  });

  it('reads entries written before they carried an expiry (d7be6cf): kept, evicted and revoked like the others', async () => {
    const bounded = new TokenRepository(redis, keys, { perFamily: 3, familiesPerUser: 8 });
    const old = [grant(uuid(), 'access', 300), grant(REFRESH, 'refresh', 86_400)];
    for (const g of old) await redis.set(tokens.keyOf(g.value), encodeRecord(recordOf(g)), 'PXAT', g.expiresAt);
    const end = Math.ceil((old[1] as TokenGrant).expiresAt / 1000);
    // the index as d7be6cf wrote it: seq .. kind .. tokenHash
    await redis.zadd(
      index(),
      -1,
      '#',
      1,
      `10a${tokenHash(old[0]?.value as string)}`,
      1,
      `11r${tokenHash(REFRESH)}`,
      end * ALIASES + 1,
      '~family-1',
    );
    const fresh = [grant(uuid(), 'access', 300), grant(uuid(), 'access', 300), grant(uuid(), 'access', 300)];
    const save = (g: TokenGrant) => bounded.save([g], recordOf);
    const evicted = [{ userId: 7, family: 'family-1', count: 1, whole: false }];
    // the first fills the family, the second evicts the old access token, the third spares the old
    // refresh token (it joins again, still without expiry) and evicts the first new one
    expect(await save(fresh[0] as TokenGrant)).toStrictEqual([]);
    expect(await save(fresh[1] as TokenGrant)).toStrictEqual(evicted);
    expect(await save(fresh[2] as TokenGrant)).toStrictEqual(evicted);
    for (const g of [old[0], fresh[0]] as TokenGrant[]) expect(await bounded.get(g.value)).toBeNull();
    const entries = await entriesOf('~family-1');
    expect(entries.map(entryHash)).toStrictEqual([fresh[1], fresh[2], old[1]].map((g) => tokenHash((g as TokenGrant).value)));
    expect(entries[2]).toBe(`15r${tokenHash(REFRESH)}`);
    expect(await bounded.revokeFamily(7, 'family-1', 'admin')).toBe(3);
    expect(await keysMatching(redis, `${prefix}t:*`)).toStrictEqual([]);
  });

  it('a family that rotates keeps its newest pair, whatever it has held', async () => {
    const bounded = new TokenRepository(redis, keys, { perFamily: 4, familiesPerUser: 8 });
    let pair: TokenGrant[] = [];
    for (let i = 0; i < 5; i++) {
      await sleep(2);
      pair = [grant(uuid(), 'access', 86_400), grant(uuid(), 'refresh', 2_592_000)];
      await bounded.save(pair, recordOf);
    }
    expect(await entriesOf('~family-1')).toHaveLength(4);
    for (const g of pair) expect(await bounded.get(g.value)).not.toBeNull();
    expect((await keysMatching(redis, `${prefix}t:*`)).length).toBe(4);
  });

  it('a family keeps its newest tokens past 36 joins, in the order they joined', async () => {
    // seqs of two base-36 digits ('10' for 36) must still sort after those of one ('z' for 35)
    const bounded = new TokenRepository(redis, keys, { perFamily: 4, familiesPerUser: 8 });
    const all: TokenGrant[] = [];
    for (let i = 0; i < 40; i++) {
      const g = grant(uuid(), 'access', 600);
      all.push(g);
      await bounded.save([g], recordOf);
    }
    expect((await entriesOf('~family-1')).map(entryHash)).toStrictEqual(all.slice(-4).map((g) => tokenHash(g.value)));
    for (const g of all.slice(-4)) expect(await bounded.get(g.value)).not.toBeNull();
    expect((await keysMatching(redis, `${prefix}t:*`)).length).toBe(4);
  });

  it('a new family takes an alias no family holds, once the counter has gone round', async () => {
    const inFamily = (family: string) => (g: TokenGrant) => ({ ...recordOf(g), family });
    const a = [grant(uuid(), 'access', 600), grant(uuid(), 'refresh', 3600)];
    await tokens.save(a, inFamily('a'));
    expect(Number(await redis.zscore(index(), '~a')) % ALIASES).toBe(1);
    // as if 2^20 - 1 families had come (and all but 'a' gone) since: the next alias would be 1 again
    await redis.zadd(index(), -(ALIASES - 1), '#');
    const b = [grant(uuid(), 'access', 600), grant(uuid(), 'refresh', 3600)];
    await tokens.save(b, inFamily('b'));
    expect(Number(await redis.zscore(index(), '~b')) % ALIASES).toBe(2);
    expect((await entriesOf('~a')).map(entryHash)).toStrictEqual(a.map((g) => tokenHash(g.value)));
    expect(await tokens.revokeFamily(7, 'b', 'admin')).toBe(2);
    for (const g of a) expect(await tokens.get(g.value)).not.toBeNull();
    expect((await entriesOf('~a')).map(entryHash)).toStrictEqual(a.map((g) => tokenHash(g.value)));
  });

  it('a user keeps a bounded number of families: the one that ends first goes whole, never the one written', async () => {
    const bounded = new TokenRepository(redis, keys, { perFamily: 8, familiesPerUser: 2 });
    const feed = await listen();
    const inFamily = (family: string) => (g: TokenGrant) => ({ ...recordOf(g), family });
    const a = [grant(uuid(), 'access', 600), grant(uuid(), 'refresh', 3600)];
    const b = [grant(uuid(), 'access', 600), grant(uuid(), 'refresh', 7200)];
    await bounded.save(a, inFamily('a'));
    await bounded.save(b, inFamily('b'));
    // c ends before both: still a ends first of the others, and goes
    const c = [grant(uuid(), 'access', 60), grant(uuid(), 'refresh', 120)];
    expect(await bounded.save(c, inFamily('c'))).toStrictEqual([{ userId: 7, family: 'a', count: 2, whole: true }]);
    expect(await familiesOf()).toStrictEqual(['~c', '~b']);
    // a's tokens left the index with it
    expect(await redis.zcard(index())).toBe(1 + 2 + 4);
    for (const g of a) expect(await bounded.get(g.value)).toBeNull();
    for (const g of [...b, ...c]) expect(await bounded.get(g.value)).not.toBeNull();
    // the family is marked revoked, so a rotation racing the eviction revokes what it adds
    expect(await bounded.isFamilyRevoked('a')).toBe(true);
    expect(await redis.get(keys.revokedFamily('a'))).toBe('evicted');
    await settle(() => feed.messages.length >= 1);
    expect(feed.messages).toStrictEqual([{ hashes: expect.arrayContaining(a.map((g) => tokenHash(g.value))), reason: 'evicted' }]);
    await feed.close();
  });

  it('revoking a user reaches every token of many families, in bounded steps', async () => {
    const families = 300;
    const bounded = new TokenRepository(redis, keys, { perFamily: 8, familiesPerUser: 1024 });
    const all: TokenGrant[] = [];
    for (let i = 0; i < families; i++) {
      const pair = [grant(uuid(), 'access', 600), grant(uuid(), 'refresh', 3600)];
      all.push(...pair);
      await bounded.save(pair, (g) => ({ ...recordOf(g), family: `f${i}` }));
    }
    // more than one step of families (128 at a time)
    expect(await familiesOf()).toHaveLength(families);
    expect(await redis.object('ENCODING', index())).toBe('skiplist');
    expect(await bounded.revokeUser(7, 'admin')).toBe(2 * families);
    for (const g of all.slice(0, 10)) expect(await bounded.get(g.value)).toBeNull();
    expect(await keysMatching(redis, `${prefix}t:*`)).toStrictEqual([]);
    expect(await redis.exists(index())).toBe(0);
  });
});
