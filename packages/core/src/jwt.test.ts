import { createHmac } from 'node:crypto';
import { base64url, createLocalJWKSet, exportPKCS8, exportSPKI, generateKeyPair, jwtVerify, SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { type HmacFactory, hmacJwtKey, JWT_ALGORITHMS, type JwtAlgorithm, type JwtKey, JwtSigner, pemJwtKey } from './jwt.ts';
import { signSimpleJwt, slideSimpleJwt, verifySimpleJwt } from './tokens.ts';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const IAT = NOW / 1000;
const SECRET = 'a-shared-secret-of-at-least-32-characters';
const JTI = '0123456789abcdef0123456789abcdef';

/** A fresh PEM key pair of the algorithm (Web Crypto, as on Deno). */
async function pems(alg: JwtAlgorithm): Promise<{ privatePem: string; publicPem: string }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg.startsWith('RS') ? { modulusLength: 2048 } : {}),
  });
  return { privatePem: await exportPKCS8(privateKey), publicPem: await exportSPKI(publicKey) };
}

async function keyOf(alg: JwtAlgorithm, options: { kid?: string; retiresAt?: number } = {}): Promise<JwtKey> {
  return alg.startsWith('HS') ? hmacJwtKey(SECRET, alg, options) : pemJwtKey(alg, { privatePem: (await pems(alg)).privatePem }, options);
}

/** SimpleJWT's claim settings, none at its default. */
const RULES = {
  audience: 'api',
  issuer: 'https://login.example',
  leeway: 30,
  userIdClaim: 'uid',
  tokenTypeClaim: 'kind',
  jtiClaim: 'id',
  slidingRefreshExpClaim: 'slides_until',
};

const single = (key: JwtKey) => new JwtSigner({ active: key, keys: [key] });

function header(token: string): unknown {
  return JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[0] as string)));
}

describe('JwtSigner: every algorithm', () => {
  for (const alg of JWT_ALGORITHMS)
    it(`${alg} signs a SimpleJWT token it verifies, with the header SimpleJWT writes`, async () => {
      const signer = single(await keyOf(alg));
      const token = await signSimpleJwt(signer, 'refresh', 42, IAT, IAT + 60, JTI);
      expect(header(token)).toStrictEqual({ alg, typ: 'JWT' });
      expect(await verifySimpleJwt(signer, token, NOW)).toStrictEqual({
        token_type: 'refresh',
        exp: IAT + 60,
        iat: IAT,
        jti: JTI,
        user_id: 42,
      });
      // another key of the same algorithm signed nothing of this
      const other = alg.startsWith('HS') ? await hmacJwtKey(`${SECRET}!`, alg) : await keyOf(alg);
      expect(await verifySimpleJwt(single(other), token, NOW)).toBeNull();
    });

  for (const alg of JWT_ALGORITHMS.filter((a) => !a.startsWith('HS')))
    it(`${alg}: a stock verifier given only the JWKS accepts its tokens`, async () => {
      const signer = single(await keyOf(alg, { kid: 'k1' }));
      const token = await signSimpleJwt(signer, 'access', 7, IAT, IAT + 60, JTI);
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(signer.jwks(NOW)), { currentDate: new Date(NOW) });
      expect([protectedHeader, payload.user_id]).toStrictEqual([{ alg, kid: 'k1', typ: 'JWT' }, 7]);
    });

  it('verifies with VERIFYING_KEY when given, and a public key alone only verifies', async () => {
    const pair = await pems('ES256');
    const signer = single(await pemJwtKey('ES256', pair));
    const token = await signSimpleJwt(signer, 'access', 1, IAT, IAT + 60, JTI);
    const verifier = await pemJwtKey('ES256', { publicPem: pair.publicPem });
    expect(verifier.signing).toBeUndefined();
    expect(() => single(verifier)).toThrow('the active key cannot sign');
    const other = await pems('ES256');
    const mismatched = single(await pemJwtKey('ES256', { privatePem: pair.privatePem, publicPem: other.publicPem }));
    expect(await verifySimpleJwt(mismatched, token, NOW)).toBeNull();
  });

  it('refuses a PEM for an HMAC algorithm, a secret for an asymmetric one, and a key of another type', async () => {
    await expect(pemJwtKey('HS256', { privatePem: 'x' })).rejects.toThrow('HS256 takes a shared secret, not a PEM key');
    await expect(hmacJwtKey(SECRET, 'RS256')).rejects.toThrow('RS256 is not an HMAC algorithm');
    await expect(pemJwtKey('ES256', { privatePem: (await pems('RS256')).privatePem })).rejects.toThrow();
  });
});

describe('JwtSigner: a key set', () => {
  it('signs with the active key, its kid in the header; verifies with the key the kid names', async () => {
    const old = await keyOf('RS256', { kid: 'old' });
    const current = await keyOf('ES256', { kid: 'new' });
    const before = single(old);
    const oldToken = await signSimpleJwt(before, 'access', 1, IAT, IAT + 60, JTI);
    const signer = new JwtSigner({ active: current, keys: [current, old] });
    const newToken = await signSimpleJwt(signer, 'access', 1, IAT, IAT + 60, JTI);
    expect(header(newToken)).toStrictEqual({ alg: 'ES256', kid: 'new', typ: 'JWT' });
    expect((await verifySimpleJwt(signer, oldToken, NOW))?.user_id).toBe(1);
    expect((await verifySimpleJwt(signer, newToken, NOW))?.user_id).toBe(1);
    expect(signer.jwks(NOW).keys.map((k) => [k.kid, k.alg, k.use])).toStrictEqual([
      ['new', 'ES256', 'sig'],
      ['old', 'RS256', 'sig'],
    ]);
  });

  it('verifies a retired key until its retirement, and leaves it out of the JWKS from then', async () => {
    const retired = await keyOf('EdDSA', { kid: 'r', retiresAt: NOW + 1000 });
    const active = await keyOf('HS256', { kid: 'a' });
    const token = await signSimpleJwt(single(retired), 'access', 1, IAT, IAT + 600, JTI);
    const signer = new JwtSigner({ active, keys: [active, retired] });
    expect(await verifySimpleJwt(signer, token, NOW + 999)).not.toBeNull();
    expect(await verifySimpleJwt(signer, token, NOW + 1000)).toBeNull();
    expect(signer.jwks(NOW + 999).keys.map((k) => k.kid)).toStrictEqual(['r']);
    expect(signer.jwks(NOW + 1000).keys).toStrictEqual([]);
  });

  it('refuses an unknown kid; a token without kid verifies by any key of its algorithm', async () => {
    const a = await keyOf('HS256', { kid: 'a' });
    const legacy = await keyOf('HS256');
    const signer = new JwtSigner({ active: a, keys: [a, legacy] });
    const unknown = await new SignJWT({ token_type: 'access', exp: IAT + 60, jti: JTI, user_id: 1 })
      .setProtectedHeader({ alg: 'HS256', kid: 'b', typ: 'JWT' })
      .sign(new TextEncoder().encode(SECRET));
    expect(await verifySimpleJwt(signer, unknown, NOW)).toBeNull();
    const withoutKid = await signSimpleJwt(single(legacy), 'access', 1, IAT, IAT + 60, JTI);
    expect(await verifySimpleJwt(signer, withoutKid, NOW)).not.toBeNull();
    const foreign = await signSimpleJwt(single(await hmacJwtKey(`${SECRET}!`, 'HS256')), 'access', 1, IAT, IAT + 60, JTI);
    expect(await verifySimpleJwt(signer, foreign, NOW)).toBeNull();
  });

  it('replaces its keys while running', async () => {
    const a = await keyOf('HS256', { kid: 'a' });
    const b = await keyOf('ES384', { kid: 'b' });
    const signer = single(a);
    signer.replaceKeys({ active: b, keys: [b, a] });
    expect(header(await signSimpleJwt(signer, 'access', 1, IAT, IAT + 60, JTI))).toStrictEqual({ alg: 'ES384', kid: 'b', typ: 'JWT' });
  });
});

describe('JwtSigner: algorithm confusion', () => {
  it('refuses alg none, and a header alg other than the key’s', async () => {
    const rs = await pems('RS256');
    const signer = single(await pemJwtKey('RS256', { privatePem: rs.privatePem }));
    const none = new UnsecuredJWT({ token_type: 'access', exp: IAT + 60, jti: JTI, user_id: 1 }).encode();
    expect(await verifySimpleJwt(signer, none, NOW)).toBeNull();
    expect(await verifySimpleJwt(signer, `${none}x`, NOW)).toBeNull();
    // the RS256 public key used as an HS256 secret: the classic confusion
    const confused = await new SignJWT({ token_type: 'access', exp: IAT + 60, jti: JTI, user_id: 1 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(rs.publicPem));
    expect(await verifySimpleJwt(signer, confused, NOW)).toBeNull();
    const es = await pems('ES256');
    const other = await new SignJWT({ token_type: 'access', exp: IAT + 60, jti: JTI, user_id: 1 })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .sign(await (await import('jose')).importPKCS8(es.privatePem, 'ES256'));
    expect(await verifySimpleJwt(signer, other, NOW)).toBeNull();
  });

  it('answers null, never throws, for a header that is not JSON', async () => {
    const signer = single(await keyOf('HS256'));
    expect(await verifySimpleJwt(signer, 'bm90IGpzb24.e30.sig', NOW)).toBeNull();
  });
});

describe('JwtSigner: SimpleJWT claim settings', () => {
  const rules = RULES;

  it('names the claims as configured and appends aud and iss as TokenBackend.encode does', async () => {
    const key = await keyOf('HS256');
    const signer = new JwtSigner({ active: key, keys: [key] }, rules);
    const token = await signSimpleJwt(signer, 'refresh', 5, IAT, IAT + 60, JTI);
    const payload = JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[1] as string)));
    expect(Object.entries(payload)).toStrictEqual([
      ['kind', 'refresh'],
      ['exp', IAT + 60],
      ['iat', IAT],
      ['id', JTI],
      ['uid', 5],
      ['aud', 'api'],
      ['iss', 'https://login.example'],
    ]);
    expect(await verifySimpleJwt(signer, token, NOW)).toStrictEqual({
      token_type: 'refresh',
      exp: IAT + 60,
      iat: IAT,
      jti: JTI,
      user_id: 5,
    });
  });

  it("signs a sliding token's refresh_exp under its name after the id, and slides it keeping the claims in their order", async () => {
    const key = await keyOf('HS256');
    const signer = new JwtSigner({ active: key, keys: [key] }, rules);
    const payloadOf = (t: string) => JSON.parse(new TextDecoder().decode(base64url.decode(t.split('.')[1] as string)));
    const token = await signSimpleJwt(signer, 'sliding', 5, IAT, IAT + 60, JTI, IAT + 600);
    const claims = (exp: number, iat: number) => [
      ['kind', 'sliding'],
      ['exp', exp],
      ['iat', iat],
      ['id', JTI],
      ['slides_until', IAT + 600],
      ['uid', 5],
      ['aud', 'api'],
      ['iss', 'https://login.example'],
    ];
    expect(Object.entries(payloadOf(token))).toStrictEqual(claims(IAT + 60, IAT));
    const slid = await slideSimpleJwt(signer, payloadOf(token), (IAT + 30) * 1000 + 999, 60);
    expect(Object.entries(payloadOf(slid.value))).toStrictEqual(claims(IAT + 90, IAT + 30));
    expect(slid).toStrictEqual({
      value: slid.value,
      kind: 'sliding',
      format: 'jwt',
      lifetime: 60,
      issuedAt: (IAT + 30) * 1000,
      expiresAt: (IAT + 90) * 1000,
      jti: JTI,
    });
  });

  it('requires the audience and the issuer when set, and honours the leeway past exp', async () => {
    const key = await keyOf('HS256');
    const strict = new JwtSigner({ active: key, keys: [key] }, rules);
    const plain = single(key);
    const noAudience = await signSimpleJwt(plain, 'access', 5, IAT, IAT + 60, JTI);
    expect(await strict.verify(noAudience, NOW)).toBeNull();
    const other = new JwtSigner({ active: key, keys: [key] }, { ...rules, audience: 'elsewhere' });
    expect(await strict.verify(await signSimpleJwt(other, 'access', 5, IAT, IAT + 60, JTI), NOW)).toBeNull();
    const token = await signSimpleJwt(strict, 'access', 5, IAT, IAT + 60, JTI);
    expect(await strict.verify(token, NOW + 89_000)).not.toBeNull();
    expect(await strict.verify(token, NOW + 90_000)).toBeNull();
    // without a leeway, exp is the end: SimpleJWT's `exp <= now` is expired
    expect(await plain.verify(noAudience, NOW + 59_999)).not.toBeNull();
    expect(await plain.verify(noAudience, NOW + 60_000)).toBeNull();
  });
});

describe('JwtSigner: HS* verified at once with a synchronous HMAC', () => {
  const nodeHmac: HmacFactory = (key, hash) => (data) => createHmac(hash, key).update(data).digest();
  const rules = { ...RULES, slidingRefreshExpClaim: 'refresh_exp' };

  it('answers every token as the Web Crypto path does: signature, exp within and past the leeway, nbf, aud, iss, other keys', async () => {
    for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
      const web = await hmacJwtKey(SECRET, alg);
      const sync = await hmacJwtKey(SECRET, alg, { hmac: nodeHmac });
      const other = await hmacJwtKey(`${SECRET}?`, alg, { hmac: nodeHmac });
      const make = (claims: Record<string, unknown>, key = web) =>
        new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(key.signing as CryptoKey);
      const base = { kind: 'access', exp: IAT + 60, iat: IAT, id: JTI, uid: 1, aud: 'api', iss: 'https://login.example' };
      const tokens = [
        await make(base),
        await make({ ...base, exp: IAT - 10 }),
        await make({ ...base, exp: IAT - 31 }),
        await make({ ...base, nbf: IAT + 20 }),
        await make({ ...base, nbf: IAT + 40 }),
        await make({ ...base, aud: 'billing' }),
        await make({ ...base, iss: 'https://other.example' }),
        await make({ kind: 'access', exp: IAT + 60, id: JTI, uid: 1 }),
        await make(base, await hmacJwtKey(`${SECRET}!`, alg)),
        `${(await make(base)).slice(0, -2)}AA`,
      ];
      const answers = async (key: JwtKey, keys: JwtKey[] = [key]) => {
        const signer = new JwtSigner({ active: key, keys }, rules);
        return Promise.all(tokens.map((t) => signer.verify(t, NOW)));
      };
      const expected = await answers(web);
      expect(expected.map((p) => p !== null)).toStrictEqual([true, true, false, true, false, false, false, false, false, false]);
      expect(await answers(sync)).toStrictEqual(expected);
      // a token without kid is tried with each key of its algorithm: another key's HMAC passes it on
      expect(await answers(sync, [other, sync])).toStrictEqual(expected);
    }
  });
});
