import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Settings } from '@tessera/config';
import type { Logger } from '@tessera/config/log';
import {
  type HmacFactory,
  hmacJwtKey,
  isHmacAlgorithm,
  type JwtKey,
  JwtSigner,
  KeyEncryptionKey,
  kekBytes,
  pemJwtKey,
} from '@tessera/core';
import { type KeyLayout, SigningKeyRepository, subscription, type TesseraRedis } from '@tessera/store';

/** HS* with node:crypto: synchronous, on the event loop (microseconds), not via the thread pool. */
const nodeHmac: HmacFactory = (key, hash) => (data) => createHmac(hash, key).update(data).digest();

/** A PEM key given as its text (literal `\n` taken as line ends) or as the path of its file. */
function pemOf(variable: string, value: string): string {
  if (value.trimStart().startsWith('-----BEGIN')) return value.replaceAll('\\n', '\n');
  try {
    return readFileSync(value, 'utf8');
  } catch (err) {
    throw new Error(`${variable}: neither a PEM key nor a readable file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

/** The key of the settings: SimpleJWT's SIGNING_KEY (and VERIFYING_KEY) with its ALGORITHM. */
async function settingsKey(settings: Settings): Promise<JwtKey> {
  const { algorithm, signingKey, verifyingKey } = settings.jwtKey;
  if (isHmacAlgorithm(algorithm)) return hmacJwtKey(signingKey, algorithm, { hmac: nodeHmac });
  const privatePem = pemOf('TESSERA_JWT_SIGNING_KEY', signingKey);
  const publicPem = verifyingKey === undefined ? undefined : pemOf('TESSERA_JWT_VERIFYING_KEY', verifyingKey);
  try {
    // named by its RFC 7638 thumbprint: JWKS consumers (PyJWT's PyJWKClient among them) find keys by kid
    return await pemJwtKey(algorithm, { privatePem, ...(publicPem === undefined ? {} : { publicPem }) }, { kid: 'thumbprint' });
  } catch (err) {
    throw new Error(`TESSERA_JWT_SIGNING_KEY / TESSERA_JWT_VERIFYING_KEY: not a key pair of ${algorithm} (${(err as Error).message})`);
  }
}

/** The key-encryption key of the settings, imported (undefined when TESSERA_KEK is unset). */
export async function settingsKek(settings: Settings): Promise<KeyEncryptionKey | undefined> {
  const bytes = settings.kek === '' ? undefined : kekBytes(settings.kek);
  return bytes === undefined ? undefined : KeyEncryptionKey.of(bytes);
}

export interface JwtKeyRing {
  readonly signer: JwtSigner;
  /** Reads the keys again (what a change announcement does). */
  reload(): Promise<void>;
  close(): void;
}

/**
 * The SimpleJWT signer of this process: the key of the settings and the keys `tessera keys` made,
 * kept current. A change is pushed (the keys' channel; read again on every reconnect), and the
 * moment a key starts signing or retires is timed here. A key that does not import stops the start;
 * a change that does not load later is logged and the keys in use stay.
 */
export async function openJwtKeys(settings: Settings, redis: TesseraRedis, layout: KeyLayout, log: Logger): Promise<JwtKeyRing> {
  const own = await settingsKey(settings);
  const kek = await settingsKek(settings);
  const repository = new SigningKeyRepository(redis, layout);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const read = async () => {
    const now = Date.now();
    const { keys, signing, next } = await repository.load(kek, now, nodeHmac);
    const active = keys.find((k) => k.kid === signing) ?? own;
    clearTimeout(timer);
    if (next !== undefined) {
      timer = setTimeout(() => void reload(), Math.min(next - now, 2 ** 31 - 1));
      timer.unref?.();
    }
    return { active, keys: [...keys, own] };
  };
  const signer = new JwtSigner(await read(), settings.jwtClaims);
  const reload = async () => {
    try {
      signer.replaceKeys(await read());
    } catch (err) {
      log.error('signing keys not reloaded: the keys in use stay', { err });
    }
  };
  const feed = await subscription(settings.redisUrl, layout.signingKeysChanged, 'tessera-keys', {
    message: () => void reload(),
    // (re)subscribed: a change may have been missed meanwhile
    reset: (connected) => {
      if (connected) void reload();
    },
  });
  return {
    signer,
    reload,
    close: () => {
      clearTimeout(timer);
      feed.close();
    },
  };
}
