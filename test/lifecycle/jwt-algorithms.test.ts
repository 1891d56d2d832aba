import { execFile } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../support/stack.ts';
import { call, claims, jwtLogin } from './support.ts';

const run = promisify(execFile);

const INVALID = { detail: 'Token is invalid or expired', code: 'token_not_valid' };

/** A PEM key pair of the algorithm, from node:crypto (not the code under test). */
function pemPair(alg: string): { privatePem: string; publicPem: string } {
  const curve: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };
  const [type, options] = alg.startsWith('RS')
    ? (['rsa', { modulusLength: 2048 }] as const)
    : alg === 'EdDSA'
      ? (['ed25519', {}] as const)
      : (['ec', { namedCurve: curve[alg] as string }] as const);
  const { privateKey, publicKey } = generateKeyPairSync(type as 'ec', {
    ...(options as { namedCurve: string }),
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privatePem: privateKey, publicPem: publicKey };
}

/** RFC 7638: SHA-256 of the public key's required members, in lexical order, base64url. */
function thumbprint(publicPem: string): string {
  const jwk = createPublicKey(publicPem).export({ format: 'jwk' }) as Record<string, string>;
  const members = { RSA: ['e', 'kty', 'n'], EC: ['crv', 'kty', 'x', 'y'], OKP: ['crv', 'kty', 'x'] }[jwk.kty as string] as string[];
  const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])));
  return createHash('sha256').update(canonical).digest('base64url');
}

function header(jwt: string): unknown {
  return JSON.parse(Buffer.from(jwt.split('.')[0] as string, 'base64url').toString('utf8'));
}

const dir = mkdtempSync(join(tmpdir(), 'tessera-jwt-'));

/**
 * Each algorithm end to end through the ingress, with SimpleJWT's ISSUER, AUDIENCE and claim names
 * set: login, refresh, verify, blacklist, introspection, and the JWKS a stock library verifies with.
 */
describe.each([
  // the PEM given as the value, with its line ends written as \n (as in an env file)
  { alg: 'RS256', form: 'value' },
  // the PEM given as the path of its file
  { alg: 'ES256', form: 'file' },
  { alg: 'EdDSA', form: 'file' },
  { alg: 'HS512', form: 'secret' },
])('$alg (key as $form) with ISSUER, AUDIENCE and USER_ID_CLAIM', ({ alg, form }) => {
  let stack: Stack;
  let auth: string;
  const pair = alg.startsWith('HS') ? null : pemPair(alg);

  beforeAll(async () => {
    let key = 'an-hs512-secret-that-is-certainly-longer-than-32-characters';
    if (pair !== null && form === 'value') key = pair.privatePem.replaceAll('\n', '\\n');
    if (pair !== null && form === 'file') {
      key = join(dir, `${alg}.pem`);
      writeFileSync(key, pair.privatePem, { mode: 0o600 });
    }
    stack = await startStack({
      TESSERA_JWT_ALGORITHM: alg,
      TESSERA_JWT_SIGNING_KEY: key,
      TESSERA_JWT_ISSUER: 'https://login.example',
      TESSERA_JWT_AUDIENCE: 'orders',
      TESSERA_JWT_USER_ID_CLAIM: 'uid',
      TESSERA_JWT_ROTATE_REFRESH_TOKENS: '1',
      TESSERA_JWT_BLACKLIST_AFTER_ROTATION: '1',
    });
    auth = `Basic ${Buffer.from(`svc:${await stack.clients.add('svc')}`).toString('base64')}`;
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('logs in with the algorithm and the configured claims, in SimpleJWT order', async () => {
    const tokens = await jwtLogin(stack);
    // a shared secret signs as SimpleJWT does; a public key is named by its thumbprint for JWKS consumers
    const expected = pair === null ? { alg, typ: 'JWT' } : { alg, kid: thumbprint(pair.publicPem), typ: 'JWT' };
    for (const [kind, token] of Object.entries(tokens)) {
      expect(header(token)).toStrictEqual(expected);
      const c = claims(token);
      expect(Object.keys(c)).toStrictEqual(['token_type', 'exp', 'iat', 'jti', 'uid', 'aud', 'iss']);
      expect([c.token_type, c.aud, c.iss]).toStrictEqual([kind, 'orders', 'https://login.example']);
    }
  });

  it('refreshes (rotating and blacklisting), verifies and blacklists', async () => {
    const first = await jwtLogin(stack);
    const refreshed = await call(stack, '/api/token/refresh/', { refresh: first.refresh });
    expect(refreshed.status).toBe(200);
    const { access, refresh } = refreshed.body as { access: string; refresh: string };
    expect(Object.keys(claims(access))).toStrictEqual(['token_type', 'exp', 'iat', 'jti', 'uid', 'aud', 'iss']);
    expect((await call(stack, '/api/token/verify/', { token: access })).body).toStrictEqual({});
    // the rotated refresh token is blacklisted
    expect((await call(stack, '/api/token/refresh/', { refresh: first.refresh })).body).toStrictEqual({
      detail: 'Token is blacklisted',
      code: 'token_not_valid',
    });
    expect((await call(stack, '/api/token/blacklist/', { refresh })).status).toBe(200);
    expect((await call(stack, '/api/token/refresh/', { refresh })).status).toBe(401);
  });

  it('introspects its tokens (RFC 7662) with the claims Tessera issued', async () => {
    const { access } = await jwtLogin(stack);
    const res = await stack.post('/oauth/introspect', new URLSearchParams({ token: access }), { authorization: auth });
    const body = (await res.json()) as Record<string, unknown>;
    expect([body.active, body.client_id, body.token_type, body.jti]).toStrictEqual([true, 'simplejwt', 'access_token', claims(access).jti]);
  });

  it('refuses a token of another key, of another audience, and one whose header names another algorithm', async () => {
    const { access } = await jwtLogin(stack);
    const [h, p, s] = access.split('.') as [string, string, string];
    const swapped = Buffer.from(JSON.stringify({ alg: alg === 'HS512' ? 'HS256' : 'HS256', typ: 'JWT' })).toString('base64url');
    expect((await call(stack, '/api/token/verify/', { token: `${swapped}.${p}.${s}` })).body).toStrictEqual(INVALID);
    const otherAudience = Buffer.from(JSON.stringify({ ...claims(access), aud: 'billing' })).toString('base64url');
    expect((await call(stack, '/api/token/verify/', { token: `${h}.${otherAudience}.${s}` })).body).toStrictEqual(INVALID);
  });

  it('publishes its public key at /.well-known/jwks.json, which PyJWT alone verifies tokens with', async () => {
    const res = await fetch(`${stack.base}/.well-known/jwks.json`);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    const jwks = (await res.json()) as { keys: Record<string, unknown>[] };
    if (pair === null) {
      // a shared secret is never published
      expect(jwks).toStrictEqual({ keys: [] });
      return;
    }
    expect(jwks.keys.map((k) => [k.alg, k.use, k.kid, k.d])).toStrictEqual([[alg, 'sig', thumbprint(pair.publicPem), undefined]]);
    const { access } = await jwtLogin(stack);
    // PyJWT (Debian's python3-jwt), given the JWKS URL only: not a library Tessera uses
    const script = [
      'import sys, jwt',
      'client = jwt.PyJWKClient(sys.argv[1])',
      'key = client.get_signing_key_from_jwt(sys.argv[2])',
      'print(jwt.decode(sys.argv[2], key.key, algorithms=[sys.argv[3]], audience="orders", issuer="https://login.example")["uid"])',
    ].join('\n');
    const { stdout } = await run('/usr/bin/python3', ['-c', script, `${stack.base}/.well-known/jwks.json`, access, alg]);
    expect(Number(stdout.trim())).toBe(claims(access).uid);
  });
});

describe('the key of the settings', () => {
  it('refuses to start with a PEM that is not a key of the algorithm', async () => {
    const es = pemPair('ES256');
    await expect(startStack({ TESSERA_JWT_ALGORITHM: 'RS256', TESSERA_JWT_SIGNING_KEY: es.privatePem })).rejects.toThrow(
      /^TESSERA_JWT_SIGNING_KEY \/ TESSERA_JWT_VERIFYING_KEY: not a key pair of RS256/,
    );
    await expect(startStack({ TESSERA_JWT_ALGORITHM: 'ES256', TESSERA_JWT_SIGNING_KEY: join(dir, 'missing.pem') })).rejects.toThrow(
      'TESSERA_JWT_SIGNING_KEY: neither a PEM key nor a readable file (ENOENT)',
    );
  });

  it('serves the JWKS at TESSERA_JWKS_PATH too', async () => {
    const es = pemPair('ES256');
    const stack = await startStack({
      TESSERA_JWT_ALGORITHM: 'ES256',
      TESSERA_JWT_SIGNING_KEY: es.privatePem,
      TESSERA_JWKS_PATH: '/auth/jwks/',
    });
    try {
      const [a, b] = await Promise.all([fetch(`${stack.base}/.well-known/jwks.json`), fetch(`${stack.base}/auth/jwks/`)]);
      expect(await b.json()).toStrictEqual(await a.json());
    } finally {
      await stack.close();
    }
  });
});
