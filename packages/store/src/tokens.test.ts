import { setTimeout as sleep } from 'node:timers/promises';
import { type TokenGrant, type TokenRecord, UnavailableError } from '@tessera/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { dropPrefix, testPrefix } from '../../../test/support/stack.ts';
import { tokenHash } from './hash.ts';
import { type KeyLayout, keyLayout } from './keys.ts';
import { connectRedis, type TesseraRedis } from './redis.ts';
import { TokenRepository } from './tokens.ts';

let redis: TesseraRedis;
let prefix: string;
let keys: KeyLayout;
let tokens: TokenRepository;

beforeAll(async () => {
  redis = await connectRedis({ url: inject('redisUrl') });
});
afterAll(async () => {
  await redis.quit();
});
beforeEach(() => {
  prefix = testPrefix();
  keys = keyLayout(prefix);
  tokens = new TokenRepository(redis, keys);
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

const ACCESS = 'd0816a77-af67-43fc-bad1-2edb2aae3dc5';
const REFRESH = '542f00d0-4be3-4b47-940a-62e354b9c3e7';

describe('tokenHash', () => {
  it('is SHA-256, lowercase hex', () => {
    expect(tokenHash('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(tokenHash('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('TokenRepository', () => {
  it('names a token <prefix>t:{sha256(token)}', () => {
    expect(tokens.keyOf('abc')).toBe(`${prefix}t:{ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad}`);
    expect(keys.token('x')).toBe(`${prefix}t:{x}`);
  });

  it('saves each grant under its hash with its record, expiring at the token expiry', async () => {
    const grants = [grant(ACCESS, 'access', 86_400), grant(REFRESH, 'refresh', 2_592_000)];
    await tokens.save(grants, recordOf);
    for (const g of grants) {
      const key = `${prefix}t:{${tokenHash(g.value)}}`;
      expect(JSON.parse((await redis.get(key)) as string)).toStrictEqual(recordOf(g));
      expect(await redis.pexpiretime(key)).toBe(g.expiresAt);
      const pttl = await redis.pttl(key);
      expect(pttl).toBeLessThanOrEqual(g.lifetime * 1000);
      expect(pttl).toBeGreaterThan(g.lifetime * 1000 - 2000);
    }
    const expiry = Math.max(...grants.map((g) => g.expiresAt));
    expect((await redis.keys(`${prefix}*`)).sort()).toStrictEqual(
      [...grants.map((g) => `${prefix}t:{${tokenHash(g.value)}}`), `${prefix}f:{family-1}`, `${prefix}uf:{u7}`].sort(),
    );
    // the family holds the token hashes, the user index the family; both live as long as the longest token
    expect((await redis.smembers(`${prefix}f:{family-1}`)).sort()).toStrictEqual(grants.map((g) => tokenHash(g.value)).sort());
    expect(await redis.smembers(`${prefix}uf:{u7}`)).toStrictEqual(['family-1']);
    expect(await redis.pexpiretime(`${prefix}f:{family-1}`)).toBe(expiry);
    expect(await redis.pexpiretime(`${prefix}uf:{u7}`)).toBe(expiry);
  });

  it('revokes a family and a user at once, announcing the hashes', async () => {
    const sub = redis.duplicate({ enableOfflineQueue: true });
    const messages: string[] = [];
    await sub.subscribe(keys.revocations);
    sub.on('message', (_c, m) => messages.push(m));
    const grants = [grant(ACCESS, 'access', 86_400), grant(REFRESH, 'refresh', 2_592_000)];
    await tokens.save(grants, recordOf);
    expect(await tokens.revokeFamily('family-1', 'admin')).toBe(2);
    expect(await tokens.get(ACCESS)).toBeNull();
    expect(await tokens.get(REFRESH)).toBeNull();
    expect(await tokens.isFamilyRevoked('family-1')).toBe(true);
    for (let i = 0; i < 50 && messages.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(JSON.parse(messages[0] as string)).toStrictEqual({
      hashes: expect.arrayContaining(grants.map((g) => tokenHash(g.value))),
      reason: 'admin',
    });
    await tokens.save([grant('c1a3e1e2-5b57-4f59-9e3b-0c7d3a3c4d5e', 'access', 60)], (g) => ({ ...recordOf(g), family: 'family-2' }));
    expect(await tokens.revokeUser(7, 'user_disabled')).toBe(1);
    expect(await redis.exists(`${prefix}uf:{u7}`)).toBe(0);
    await sub.quit();
  });

  it('never writes a raw token value, in keys or values', async () => {
    await tokens.save([grant(ACCESS, 'access', 60), grant(REFRESH, 'refresh', 60)], recordOf);
    for (const key of await redis.keys(`${prefix}*`)) {
      const value = (await redis.type(key)) === 'set' ? (await redis.smembers(key)).join(' ') : ((await redis.get(key)) ?? '');
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
  });

  it('saving nothing writes nothing', async () => {
    await tokens.save([], recordOf);
    expect(await redis.keys(`${prefix}*`)).toStrictEqual([]);
  });

  it('a closed connection is UnavailableError', async () => {
    const closed = await connectRedis({ url: inject('redisUrl') });
    closed.disconnect();
    const repo = new TokenRepository(closed, keys);
    for (const op of [() => repo.save([grant(ACCESS, 'access', 60)], recordOf), () => repo.get(ACCESS)]) {
      const err = await op().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
    }
  });
});
