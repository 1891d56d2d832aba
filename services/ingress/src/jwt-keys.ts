import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Settings } from '@tessera/config';
import { type HmacFactory, hmacJwtKey, isHmacAlgorithm, type JwtKey, JwtSigner, pemJwtKey } from '@tessera/core';

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

/** The SimpleJWT signer of this process, its keys imported (a key that does not import stops the start). */
export async function openJwtSigner(settings: Settings): Promise<JwtSigner> {
  const active = await settingsKey(settings);
  return new JwtSigner({ active, keys: [active] }, settings.jwtClaims);
}
