import { KeyEncryptionKey } from '@tessera/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dropPrefix, testPrefix } from '../../../test/support/stack.ts';
import { keyLayout } from './keys.ts';
import { connectRedis, isClusterUrl, type TesseraRedis } from './redis.ts';
import { KeyStateError, SigningKeyRepository, type StoredSigningKey, signingKeyAt, UnknownKeyError } from './signing-keys.ts';

const T = Date.UTC(2026, 10, 27);
const stored = (kid: string, activeFrom?: number, retiresAt?: number): StoredSigningKey => ({
  kid,
  alg: 'HS256',
  createdAt: T,
  sealed: '',
  ...(activeFrom === undefined ? {} : { activeFrom }),
  ...(retiresAt === undefined ? {} : { retiresAt }),
});

describe('signingKeyAt', () => {
  it('is the key activated last whose time has come and that has not retired; none before any', () => {
    const keys = [stored('a', T + 10), stored('b', T + 20), stored('c'), stored('d', T + 30, T + 40)];
    expect(signingKeyAt(keys, T + 5)).toBeUndefined();
    expect(signingKeyAt(keys, T + 10)?.kid).toBe('a');
    expect(signingKeyAt(keys, T + 25)?.kid).toBe('b');
    expect(signingKeyAt(keys, T + 35)?.kid).toBe('d');
    expect(signingKeyAt(keys, T + 40)?.kid).toBe('b');
  });
});

describe('SigningKeyRepository (real Redis)', () => {
  let redis: TesseraRedis;
  const prefix = testPrefix();
  let repo: SigningKeyRepository;
  let kek: KeyEncryptionKey;
  beforeAll(async () => {
    redis = await connectRedis({ url: inject('redisUrl') });
    repo = new SigningKeyRepository(redis, keyLayout(prefix, 1));
    kek = await KeyEncryptionKey.of(new Uint8Array(32).fill(7));
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('adds keys that load under their KEK, activates one no sooner than its publication allows, and announces each change', async () => {
    const sub = await connectRedis({ url: inject('redisUrl') });
    const heard: string[] = [];
    await sub.subscribe(keyLayout(prefix, 1).signingKeysChanged);
    sub.on('message', (_c: string, kid: string) => heard.push(kid));
    const a = await repo.add('ES256', kek, T);
    const b = await repo.add('HS512', kek, T + 1);
    expect(a.publicJwk?.kid).toBe(a.kid);
    expect(b.publicJwk).toBeUndefined();
    expect((await repo.activate(a.kid, T + 5, 300_000)).activeFrom).toBe(T + 300_000);
    expect((await repo.activate(b.kid, T + 400_000, 300_000)).activeFrom).toBe(T + 400_000);
    const loaded = await repo.load(kek, T + 350_000);
    expect([loaded.keys.map((k) => [k.kid, k.alg]), loaded.signing, loaded.next]).toStrictEqual([
      [
        [a.kid, 'ES256'],
        [b.kid, 'HS512'],
      ],
      a.kid,
      T + 400_000,
    ]);
    for (let i = 0; i < 50 && heard.length < 4; i++) await new Promise((r) => setTimeout(r, 20));
    // on a cluster each PUBLISH may go through another node and cross the bus: the same
    // announcements, in an order of their own (a listener reloads every key on each)
    const inOrder = (kids: string[]) => (isClusterUrl(inject('redisUrl')) ? [...kids].sort() : kids);
    expect(inOrder(heard)).toStrictEqual(inOrder([a.kid, b.kid, a.kid, b.kid]));
    await sub.quit();
    await expect(repo.load(undefined, T)).rejects.toThrow('TESSERA_KEK is not set');
    await expect(repo.load(await KeyEncryptionKey.of(new Uint8Array(32)), T)).rejects.toThrow(/does not open with TESSERA_KEK/);
  });

  it('retires a key unless it is the one that signs (or will), and never activates a retired one', async () => {
    const [a, b] = (await repo.list()).slice(0, 2) as [StoredSigningKey, StoredSigningKey];
    await expect(repo.retire(b.kid, T + 500_000, T + 450_000)).rejects.toThrow(KeyStateError);
    expect((await repo.retire(a.kid, T + 500_000, T + 450_000)).retiresAt).toBe(T + 500_000);
    await expect(repo.activate(a.kid, T, 0)).rejects.toThrow(`${a.kid} is retired`);
    await expect(repo.retire('nokey', T, T)).rejects.toThrow(UnknownKeyError);
  });
});
