import {
  type HmacFactory,
  type JwtAlgorithm,
  type JwtKey,
  type KeyEncryptionKey,
  keyOfMaterial,
  newKeyMaterial,
  type PublicJwk,
} from '@tessera/core';
import { ulid } from 'ulid';
import { guarded } from './errors.ts';
import type { KeyLayout } from './keys.ts';
import type { TesseraRedis } from './redis.ts';

/**
 * The signing keys made by `tessera keys`, in one Redis hash (kid → record): everything in clear
 * but the key itself, sealed under TESSERA_KEK for its kid. A change is announced on a channel
 * every ingress process listens to (and reads again on every reconnect), so a rotation reaches
 * them within seconds, without a restart.
 *
 * A key's life: added (it verifies, and its public key is in the JWKS), activated (it signs from
 * `activeFrom`: never before it has been in the JWKS for the JWKS's max-age, so no cache holds a
 * set without it when its first token arrives), retired (it verifies until `retiresAt`, and then
 * leaves the JWKS). The key that signs at a time is the one activated last whose `activeFrom` has
 * come and that is not retired; before any, the key of the settings signs.
 */
export interface StoredSigningKey {
  readonly kid: string;
  readonly alg: JwtAlgorithm;
  readonly createdAt: number;
  readonly activeFrom?: number;
  readonly retiresAt?: number;
  /** The public key (asymmetric algorithms), for the JWKS and for `keys list`. */
  readonly publicJwk?: PublicJwk;
  /** The secret (HS*) or PKCS#8 PEM, sealed for its kid. */
  readonly sealed: string;
}

export class UnknownKeyError extends Error {
  constructor(kid: string) {
    super(`no signing key ${kid}`);
    this.name = 'UnknownKeyError';
  }
}

export class KeyStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyStateError';
  }
}

/** The key that signs at `at`, among `keys` (undefined: the key of the settings). */
export function signingKeyAt(keys: readonly StoredSigningKey[], at: number): StoredSigningKey | undefined {
  let best: StoredSigningKey | undefined;
  for (const k of keys) {
    if (k.activeFrom === undefined || k.activeFrom > at || (k.retiresAt !== undefined && k.retiresAt <= at)) continue;
    if (best === undefined || (best.activeFrom as number) < k.activeFrom) best = k;
  }
  return best;
}

export class SigningKeyRepository {
  constructor(
    private readonly redis: TesseraRedis,
    private readonly keys: KeyLayout,
  ) {}

  /** Every key, oldest first. */
  async list(): Promise<StoredSigningKey[]> {
    const all = await guarded(() => this.redis.hgetall(this.keys.signingKeys));
    return Object.values(all)
      .map((text) => JSON.parse(text) as StoredSigningKey)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  async get(kid: string): Promise<StoredSigningKey> {
    const text = await guarded(() => this.redis.hget(this.keys.signingKeys, kid));
    if (text === null) throw new UnknownKeyError(kid);
    return JSON.parse(text) as StoredSigningKey;
  }

  /** Makes a key of the algorithm: it verifies and is published at once; it signs once activated. */
  async add(alg: JwtAlgorithm, kek: KeyEncryptionKey, now: number): Promise<StoredSigningKey> {
    const kid = ulid(now).toLowerCase();
    const material = await newKeyMaterial(alg);
    const key = await keyOfMaterial(alg, material, { kid });
    const stored: StoredSigningKey = {
      kid,
      alg,
      createdAt: now,
      ...(key.publicJwk === undefined ? {} : { publicJwk: key.publicJwk }),
      sealed: await kek.wrap(kid, material),
    };
    await this.write(stored);
    return stored;
  }

  /**
   * Makes the key sign from now, or from when it has been published for `publishedForMs` (the
   * JWKS's max-age), whichever is later. A retired key is not activated.
   */
  async activate(kid: string, now: number, publishedForMs: number): Promise<StoredSigningKey> {
    const key = await this.get(kid);
    if (key.retiresAt !== undefined) throw new KeyStateError(`${kid} is retired`);
    const activated: StoredSigningKey = { ...key, activeFrom: Math.max(now, key.createdAt + publishedForMs) };
    await this.write(activated);
    return activated;
  }

  /**
   * Retires the key at `at` (its tokens verify until then). The key that signs, or will, is not
   * retired: another must be activated first.
   */
  async retire(kid: string, at: number, now: number): Promise<StoredSigningKey> {
    const all = await this.list();
    const key = all.find((k) => k.kid === kid);
    if (key === undefined) throw new UnknownKeyError(kid);
    // the key that signs once every activation has come: the one activated last, not retired
    const latest = signingKeyAt(all, Number.POSITIVE_INFINITY);
    if (latest?.kid === kid)
      throw new KeyStateError(`${kid} signs${(key.activeFrom as number) > now ? ' from its activation' : ''}: activate another key first`);
    const retired: StoredSigningKey = { ...key, retiresAt: at };
    await this.write(retired);
    return retired;
  }

  /**
   * The keys as the signer uses them (secrets unsealed with `kek`), and the kid that signs at
   * `now` (undefined: the key of the settings). Throws when a key does not unseal.
   */
  async load(
    kek: KeyEncryptionKey | undefined,
    now: number,
    hmac?: HmacFactory,
  ): Promise<{
    readonly keys: JwtKey[];
    readonly signing: string | undefined;
    readonly next: number | undefined;
  }> {
    const stored = await this.list();
    if (stored.length > 0 && kek === undefined)
      throw new KeyStateError('TESSERA_KEK is not set: the signing keys made by `tessera keys` cannot be read');
    const keys = await Promise.all(
      stored.map(async (s) => {
        let material: string;
        try {
          material = await (kek as KeyEncryptionKey).unwrap(s.kid, s.sealed);
        } catch {
          throw new KeyStateError(`signing key ${s.kid} does not open with TESSERA_KEK (sealed under another key?)`);
        }
        return keyOfMaterial(s.alg, material, {
          kid: s.kid,
          ...(s.retiresAt === undefined ? {} : { retiresAt: s.retiresAt }),
          ...(hmac === undefined ? {} : { hmac }),
        });
      }),
    );
    // the next moment the answer changes by itself: a key starts signing, or one retires
    const moments = stored.flatMap((s) => [s.activeFrom, s.retiresAt]).filter((t): t is number => t !== undefined && t > now);
    return { keys, signing: signingKeyAt(stored, now)?.kid, next: moments.length === 0 ? undefined : Math.min(...moments) };
  }

  private async write(key: StoredSigningKey): Promise<void> {
    await guarded(async () => {
      await this.redis.hset(this.keys.signingKeys, key.kid, JSON.stringify(key));
      await this.redis.publish(this.keys.signingKeysChanged, key.kid);
    });
  }
}
