import { createHmac } from 'node:crypto';
import { base64url, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { keySet, NOW, POLICY, TEST_KEY, TEST_SECRET } from '../test/fixtures.ts';
import { hmacJwtKey, JWT_SHAPE, JwtSigner } from './jwt.ts';
import {
  DEFAULT_LIFETIMES,
  HEX128,
  type MintContext,
  mintPlan,
  mintToken,
  newHex128,
  newJti,
  newUuid,
  signSimpleJwt,
  type TokenLifetimes,
  toHex,
  UUID_V4,
} from './tokens.ts';

const text = new TextDecoder();
const IAT = Math.floor(NOW / 1000);
const ctx: MintContext = { now: NOW, userId: 42, lifetimes: DEFAULT_LIFETIMES, signer: POLICY.signer };

/** The raw JSON text of a JWT segment. */
function segment(token: string, i: 0 | 1): string {
  const part = token.split('.')[i];
  if (part === undefined) throw new Error(`no segment ${i} in ${token}`);
  return text.decode(base64url.decode(part));
}

describe('token patterns', () => {
  it('UUID_V4 accepts lowercase version-4 RFC 9562 UUIDs only', () => {
    expect(UUID_V4.test('d0816a77-af67-43fc-bad1-2edb2aae3dc5')).toBe(true);
    expect(UUID_V4.test('542f00d0-4be3-4b47-940a-62e354b9c3e7')).toBe(true);
    expect(UUID_V4.test('D0816A77-AF67-43FC-BAD1-2EDB2AAE3DC5')).toBe(false);
    expect(UUID_V4.test('d0816a77-af67-13fc-bad1-2edb2aae3dc5')).toBe(false);
    expect(UUID_V4.test('d0816a77-af67-43fc-cad1-2edb2aae3dc5')).toBe(false);
    expect(UUID_V4.test('d0816a77af6743fcbad12edb2aae3dc5')).toBe(false);
    expect(UUID_V4.test(' d0816a77-af67-43fc-bad1-2edb2aae3dc5')).toBe(false);
  });

  it('HEX128 accepts exactly 128 lowercase hex characters', () => {
    expect(HEX128.test('a'.repeat(128))).toBe(true);
    expect(HEX128.test('0123456789abcdef'.repeat(8))).toBe(true);
    expect(HEX128.test('a'.repeat(127))).toBe(false);
    expect(HEX128.test('a'.repeat(129))).toBe(false);
    expect(HEX128.test('A'.repeat(128))).toBe(false);
    expect(HEX128.test(`${'a'.repeat(127)}g`)).toBe(false);
  });

  it('JWT_SHAPE accepts three unpadded base64url segments', () => {
    expect(JWT_SHAPE.test('eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.c2ln-_')).toBe(true);
    expect(JWT_SHAPE.test('a.b')).toBe(false);
    expect(JWT_SHAPE.test('a.b.c.d')).toBe(false);
    expect(JWT_SHAPE.test('a..c')).toBe(false);
    expect(JWT_SHAPE.test('a.b.c=')).toBe(false);
    expect(JWT_SHAPE.test('a+.b.c')).toBe(false);
    expect(JWT_SHAPE.test('a/.b.c')).toBe(false);
  });
});

describe('random tokens', () => {
  const N = 3000;

  it('newUuid gives distinct UUID v4 values', () => {
    const seen = new Set<string>();
    for (let i = 0; i < N; i++) {
      const v = newUuid();
      if (!UUID_V4.test(v)) expect(v).toMatch(UUID_V4);
      seen.add(v);
    }
    expect(seen.size).toBe(N);
  });

  it('newHex128 gives distinct 128-hex values', () => {
    const seen = new Set<string>();
    for (let i = 0; i < N; i++) {
      const v = newHex128();
      if (!HEX128.test(v)) expect(v).toMatch(HEX128);
      seen.add(v);
    }
    expect(seen.size).toBe(N);
  });

  it('newJti gives distinct 32-hex values (uuid4().hex)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < N; i++) {
      const v = newJti();
      if (!/^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/.test(v)) expect(v).toMatch(/^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
      seen.add(v);
    }
    expect(seen.size).toBe(N);
  });

  it('toHex writes two lowercase digits per byte', () => {
    expect(toHex(new Uint8Array([0, 1, 15, 16, 171, 255]))).toBe('00010f10abff');
    expect(toHex(new Uint8Array(0))).toBe('');
  });

  it('an HS256 key is the secret as UTF-8 bytes', async () => {
    const signer = new JwtSigner(await keySet(hmacJwtKey('kéy', 'HS256')));
    const token = await signSimpleJwt(signer, 'access', 1, IAT, IAT + 300, '0');
    await expect(jwtVerify(token, new Uint8Array([0x6b, 0xc3, 0xa9, 0x79]), { currentDate: new Date(NOW) })).resolves.toBeDefined();
  });
});

describe('signSimpleJwt', () => {
  const jti = '0123456789abcdef0123456789abcdef';

  it('writes the header {"alg":"HS256","typ":"JWT"} and the claims in SimpleJWT order', async () => {
    const token = await signSimpleJwt(POLICY.signer, 'access', 42, IAT, IAT + 300, jti);
    expect(token).toMatch(JWT_SHAPE);
    expect(segment(token, 0)).toBe('{"alg":"HS256","typ":"JWT"}');
    expect(segment(token, 1)).toBe(`{"token_type":"access","exp":${IAT + 300},"iat":${IAT},"jti":"${jti}","user_id":42}`);
  });

  it('verifies with the same key and fails with another', async () => {
    const token = await signSimpleJwt(POLICY.signer, 'refresh', 7, IAT, IAT + 86_400, jti);
    const { payload, protectedHeader } = await jwtVerify(token, TEST_KEY, { algorithms: ['HS256'], currentDate: new Date(NOW) });
    expect(protectedHeader).toStrictEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toStrictEqual({ token_type: 'refresh', exp: IAT + 86_400, iat: IAT, jti, user_id: 7 });
    await expect(
      jwtVerify(token, new TextEncoder().encode('another-key-of-the-same-sort-0123456789'), { currentDate: new Date(NOW) }),
    ).rejects.toThrow('signature verification failed');
  });

  it('is deterministic for the same inputs (HMAC) and differs by key', async () => {
    const a = await signSimpleJwt(POLICY.signer, 'access', 1, IAT, IAT + 300, jti);
    const b = await signSimpleJwt(POLICY.signer, 'access', 1, IAT, IAT + 300, jti);
    const c = await signSimpleJwt(new JwtSigner(await keySet(hmacJwtKey(`${TEST_SECRET}x`, 'HS256'))), 'access', 1, IAT, IAT + 300, jti);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('signs the same token with a synchronous HMAC as with WebCrypto, for each HS algorithm', async () => {
    const secret = 'a-signing-key-of-at-least-32-characters-é';
    for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
      const sync = new JwtSigner(
        await keySet(hmacJwtKey(secret, alg, { hmac: (key, hash) => (data) => createHmac(hash, key).update(data).digest() })),
      );
      const web = new JwtSigner(await keySet(hmacJwtKey(secret, alg)));
      for (const [kind, userId, lifetime] of [
        ['access', 1, 300],
        ['refresh', 123_456_789, 86_400],
      ] as const) {
        const viaHmac = await signSimpleJwt(sync, kind, userId, IAT, IAT + lifetime, jti);
        expect(viaHmac).toBe(await signSimpleJwt(web, kind, userId, IAT, IAT + lifetime, jti));
        const key = new TextEncoder().encode(secret);
        await expect(jwtVerify(viaHmac, key, { algorithms: [alg], currentDate: new Date(NOW) })).resolves.toBeDefined();
      }
    }
  });
});

describe('mintToken', () => {
  it('mints SimpleJWT access and refresh tokens with their lifetimes and a 32-hex jti', async () => {
    for (const [kind, lifetime] of [
      ['access', 300],
      ['refresh', 86_400],
    ] as const) {
      const g = await mintToken('jwt', kind, ctx);
      expect(g.value).toMatch(JWT_SHAPE);
      expect(g.jti).toMatch(/^[0-9a-f]{32}$/);
      expect({ ...g, value: '', jti: '' }).toStrictEqual({
        value: '',
        kind,
        format: 'jwt',
        lifetime,
        issuedAt: IAT * 1000,
        expiresAt: (IAT + lifetime) * 1000,
        jti: '',
      });
      const { payload } = await jwtVerify(g.value, TEST_KEY, { currentDate: new Date(NOW) });
      expect(Object.keys(payload)).toStrictEqual(['token_type', 'exp', 'iat', 'jti', 'user_id']);
      expect(payload).toStrictEqual({ token_type: kind, exp: IAT + lifetime, iat: IAT, jti: g.jti, user_id: 42 });
      expect((payload.exp as number) - (payload.iat as number)).toBe(lifetime);
    }
  });

  it('mints UUID ministry tokens and hex128 PEB tokens without a jti', async () => {
    const cases = [
      ['uuid', 'access', 86_400, UUID_V4],
      ['uuid', 'refresh', 2_592_000, UUID_V4],
      ['hex128', 'access', 2_592_000, HEX128],
    ] as const;
    for (const [format, kind, lifetime, pattern] of cases) {
      const g = await mintToken(format, kind, ctx);
      expect(g.value).toMatch(pattern);
      expect({ ...g, value: '' }).toStrictEqual({
        value: '',
        kind,
        format,
        lifetime,
        issuedAt: IAT * 1000,
        expiresAt: (IAT + lifetime) * 1000,
      });
    }
  });

  it('follows configured lifetimes', async () => {
    const lifetimes: TokenLifetimes = {
      ministryAccess: 10,
      ministryRefresh: 20,
      jwtAccess: 30,
      jwtRefresh: 40,
      jwtSliding: 60,
      jwtSlidingRefresh: 70,
      peb: 50,
    };
    const c = { ...ctx, lifetimes };
    expect((await mintToken('uuid', 'access', c)).lifetime).toBe(10);
    expect((await mintToken('uuid', 'refresh', c)).lifetime).toBe(20);
    expect((await mintToken('jwt', 'access', c)).lifetime).toBe(30);
    expect((await mintToken('jwt', 'refresh', c)).expiresAt).toBe((IAT + 40) * 1000);
    expect((await mintToken('hex128', 'access', c)).lifetime).toBe(50);
    expect((await mintToken('jwt', 'sliding', c)).expiresAt).toBe((IAT + 60) * 1000);
  });

  it('keeps the documented defaults', () => {
    expect(DEFAULT_LIFETIMES).toStrictEqual({
      ministryAccess: 86_400,
      ministryRefresh: 2_592_000,
      jwtAccess: 300,
      jwtRefresh: 86_400,
      jwtSliding: 300,
      jwtSlidingRefresh: 86_400,
      peb: 2_592_000,
    });
  });
});

describe('mintPlan', () => {
  it('mints a pair when the plan has a refresh format', async () => {
    const pair = await mintPlan({ access: 'jwt', refresh: 'jwt' }, ctx);
    expect(Object.keys(pair).sort()).toStrictEqual(['access', 'refresh']);
    expect(pair.access.kind).toBe('access');
    expect(pair.refresh?.kind).toBe('refresh');
    expect(pair.access.jti).not.toBe(pair.refresh?.jti);
  });

  it('mints the access token alone for a single-token plan', async () => {
    const single = await mintPlan({ access: 'hex128' }, ctx);
    expect(Object.keys(single)).toStrictEqual(['access']);
    expect(single.access.format).toBe('hex128');
  });
});
