import { createHash, createHmac, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateResponse } from '../support/openapi.ts';
import { type ReferenceUser, type SimpleJwtReference, startSimpleJwtReference } from '../support/simplejwt-reference.ts';
import { type Stack, startStack, TEST_SIGNING_KEY } from '../support/stack.ts';
import { decodeJwt } from './support.ts';

/**
 * Tessera's SimpleJWT dialect against the real djangorestframework-simplejwt 5.2 (Debian's, on
 * loopback: test/support/simplejwt-reference.ts) with the same settings (the defaults, then other
 * settings in each describe) and the same signing key: the same requests to both, the same status,
 * body and headers that matter.
 *
 * Left out of the comparison, as docs/contract.md (document 002) and docs/api.md say:
 * - `Cache-Control: no-store` and `Pragma: no-cache`, which every Tessera token answer carries;
 *   Django's `Date`, `Server`, and each side's connection headers;
 * - token values (random `jti`, the second they were issued): tokens are compared by structure
 *   (header, claim names, order and types, lifetimes, `user_id`) and by signature with the shared key;
 * - the `kid` (RFC 7638 thumbprint) in the header of tokens an asymmetric settings key signs
 *   (docs/simplejwt.md): taken out of the header compared, and required to be that thumbprint;
 * - what the reference lacks: lockout and throttling (429), the body limit (413), identifiers over
 *   254 characters, a JWT Tessera did not issue or revoked (SimpleJWT checks signature and blacklist
 *   only), and `Accept: text/html` (DRF's browsable API; Tessera always answers JSON).
 */

/** The headers compared, by name (case does not matter on the wire; the values must be equal). */
const COMPARED_HEADERS = ['content-type', 'allow', 'vary', 'www-authenticate', 'retry-after'] as const;

/** Both sides get users of the same names, passwords and ids (Django numbers them 1, 2, 3 in this order). */
const USERS: readonly ReferenceUser[] = [
  { username: 'sampleUser', password: 'userpassword123' },
  { username: 'someone.example', password: 'Some3xtraLong4nd5afe9assword4gain' },
  { username: 'retired', password: 'Retired-passw0rd', active: false },
];

const VIEWS = [
  '/api/token',
  '/api/token/refresh',
  '/api/token/verify',
  '/api/token/blacklist',
  '/api/token/sliding',
  '/api/token/sliding/refresh',
] as const;
/** Every SimpleJWT path, with and without the slash. */
const PATHS = VIEWS.flatMap((v) => [v, `${v}/`]);

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: unknown;
}

interface Req {
  readonly method?: string;
  readonly path: string;
  readonly body?: string | Buffer;
  readonly headers?: Record<string, string>;
}

/** One request through node:http (any method, a GET with a body), read completely. */
function send(base: string, { method = 'POST', path, body, headers = {} }: Req): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const bytes = body === undefined ? undefined : Buffer.from(body);
    const all = bytes === undefined ? headers : { ...headers, 'content-length': String(bytes.byteLength) };
    const req = request(new URL(path, base), { method, headers: all }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const h = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) h.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: h, text, json });
      });
    });
    req.on('error', reject);
    req.end(bytes);
  });
}

const json = (path: string, value: unknown): Req => ({
  path,
  body: JSON.stringify(value),
  headers: { 'content-type': 'application/json' },
});
const raw = (path: string, body: string, contentType?: string): Req => ({
  path,
  body,
  headers: contentType === undefined ? {} : { 'content-type': contentType },
});
const form = (path: string, fields: Record<string, string>): Req =>
  raw(path, new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded');
function multipart(path: string, fields: Record<string, string>): Req {
  const boundary = `----tessera${randomBytes(8).toString('hex')}`;
  const parts = Object.entries(fields).map(
    ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  return raw(path, `${parts.join('')}--${boundary}--\r\n`, `multipart/form-data; boundary=${boundary}`);
}

/** The headers that matter, equal on both sides. */
function expectSameHeaders(label: string, tessera: Reply, reference: Reply): void {
  for (const name of COMPARED_HEADERS) {
    expect.soft(tessera.headers.get(name), `${label}: header ${name}`).toBe(reference.headers.get(name));
  }
}

/** The same status, the same body (key order too), the same headers that matter. */
function expectSame(label: string, tessera: Reply, reference: Reply): void {
  expect.soft({ status: tessera.status, body: tessera.json ?? tessera.text }, label).toEqual({
    status: reference.status,
    body: reference.json ?? reference.text,
  });
  expect.soft(tessera.text, `${label}: body text`).toBe(reference.text);
  expectSameHeaders(label, tessera, reference);
}

const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/**
 * How a setup's tokens are read: the key that checks their signature, the claim names (SimpleJWT's
 * TOKEN_TYPE_CLAIM, USER_ID_CLAIM, JTI_CLAIM) and the `kid` Tessera puts in the header of tokens an
 * asymmetric settings key signs (docs/simplejwt.md; SimpleJWT writes none).
 */
interface TokenReading {
  readonly signatureValid: (signingInput: string, signature: string) => boolean;
  readonly typeClaim: string;
  readonly userIdClaim: string;
  readonly jtiClaim: string;
  readonly kid?: string;
}

/** The defaults: HS256 with the shared key, SimpleJWT's claim names, no kid. */
const SHARED_KEY: TokenReading = {
  signatureValid: (input, signature) => decodeJwt(`${input}.${signature}`, TEST_SIGNING_KEY).signatureValid,
  typeClaim: 'token_type',
  userIdClaim: 'user_id',
  jtiClaim: 'jti',
};

function readJwt(token: string, reading: TokenReading) {
  expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  const [h = '', p = '', s = ''] = token.split('.');
  return {
    headerText: Buffer.from(h, 'base64url').toString('utf8'),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>,
    signatureValid: reading.signatureValid(`${h}.${p}`, s),
  };
}

/**
 * A JWT's shape: header text (without the documented `kid`), claim names in order with their
 * types, and the claims that do not change with time.
 */
function shape(token: string, reading: TokenReading) {
  const jwt = readJwt(token, reading);
  const p = jwt.payload;
  const jti = p[reading.jtiClaim];
  return {
    header: reading.kid === undefined ? jwt.headerText : jwt.headerText.replace(`,"kid":"${reading.kid}"`, ''),
    claims: Object.entries(p).map(([k, v]) => `${k}:${typeOf(v)}`),
    type: p[reading.typeClaim],
    userId: p[reading.userIdClaim],
    jtiHex32: typeof jti === 'string' && /^[0-9a-f]{32}$/.test(jti),
    signatureValid: jwt.signatureValid,
  };
}

/**
 * Token answers to requests sent to both at once: the same status, keys and headers; each token of
 * the same shape, valid with the shared key, with `iat` and `exp` at most a second apart (the
 * second may turn between the two), so with the same lifetimes. Tessera's tokens carry the
 * setup's `kid`, if it has one.
 */
function expectSameTokens(label: string, tessera: Reply, reference: Reply, reading = SHARED_KEY): void {
  expect(tessera.status, `${label}: status`).toBe(reference.status);
  expect(reference.status, `${label}: the reference's status (${reference.text})`).toBe(200);
  expectSameHeaders(label, tessera, reference);
  const t = tessera.json as Record<string, string>;
  const r = reference.json as Record<string, string>;
  expect(Object.keys(t), `${label}: keys`).toEqual(Object.keys(r));
  for (const key of Object.keys(r)) {
    const ref = shape(r[key] as string, reading);
    expect(ref.signatureValid).toBe(true);
    expect(shape(t[key] as string, reading), `${label}: ${key}`).toEqual(ref);
    expect(JSON.parse(readJwt(t[key] as string, reading).headerText).kid, `${label}: ${key} kid`).toBe(reading.kid);
    // the numbers: iat, exp, a sliding token's refresh_exp (and the user id, equal already)
    const times = (token: string) => Object.entries(readJwt(token, reading).payload).filter(([, v]) => typeof v === 'number');
    const [tt, rt] = [times(t[key] as string), times(r[key] as string)];
    expect(
      tt.map(([k]) => k),
      `${label}: ${key} times`,
    ).toEqual(rt.map(([k]) => k));
    for (const [i, [claim, value]] of rt.entries()) {
      const mine = (tt[i] as [string, number])[1];
      expect(Math.abs(mine - (value as number)), `${label}: ${key} ${claim} ${mine} and ${value}`).toBeLessThanOrEqual(1);
    }
  }
}

/** A JWT of the header and claims given, signed by `sign` (over the signing input, giving the signature bytes). */
function jws(header: Record<string, unknown>, claims: Record<string, unknown>, sign: (input: string) => Buffer): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${sign(input).toString('base64url')}`;
}

/** A JWT signed with the shared key (HS256, SimpleJWT's header). */
function forge(claims: Record<string, unknown>, key = TEST_SIGNING_KEY, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }) {
  return jws(header, claims, (input) => createHmac('sha256', key).update(input).digest());
}

type Side = 'tessera' | 'reference';
type Pair = { refresh: string; access: string };
type Sliding = { token: string };

/**
 * A Tessera and a reference SimpleJWT with the same settings (SIMPLE_JWT for the reference, the
 * matching TESSERA_JWT_* for Tessera), the same users and the same key, for the tests of the
 * enclosing describe: started before them, stopped after them.
 */
function twoSystems(simpleJwt: Record<string, unknown>, env: Record<string, string>) {
  let stack: Stack;
  let reference: SimpleJwtReference;

  beforeAll(async () => {
    [stack, reference] = await Promise.all([
      (async () => {
        const s = await startStack(env, { seed: false });
        for (const [i, u] of USERS.entries()) {
          await s.users.create({
            id: i + 1,
            username: u.username,
            passwordHash: await s.hasher.hash(u.password),
            disabled: u.active === false,
          });
        }
        return s;
      })(),
      startSimpleJwtReference({ secretKey: TEST_SIGNING_KEY, simpleJwt, users: USERS }),
    ]);
    process.stdout.write(`reference SimpleJWT answering after ${Math.round(reference.startupMs)} ms\n`);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([stack?.close(), reference?.stop()]);
  });

  /** Sends `req` to both (each its own, when a function), checking Tessera's answer against the OpenAPI document. */
  async function both(req: Req | ((side: Side) => Req)): Promise<{ tessera: Reply; reference: Reply }> {
    const of = (side: Side) => (typeof req === 'function' ? req(side) : req);
    const [t, r] = await Promise.all([send(stack.base, of('tessera')), send(reference.base, of('reference'))]);
    const tReq = of('tessera');
    validateResponse(tReq.method ?? 'POST', tReq.path, t.status, t.headers, t.text);
    return { tessera: t, reference: r };
  }

  return {
    both,
    async same(label: string, req: Req | ((side: Side) => Req)): Promise<void> {
      const { tessera, reference } = await both(req);
      expectSame(label, tessera, reference);
    },
    /** A fresh sliding token from each side's login. */
    async slidingTokens(user = USERS[0] as ReferenceUser): Promise<Record<Side, string>> {
      const { tessera, reference } = await both(json('/api/token/sliding/', { username: user.username, password: user.password }));
      expect([tessera.status, reference.status]).toEqual([200, 200]);
      return { tessera: (tessera.json as Sliding).token, reference: (reference.json as Sliding).token };
    },
    /** A fresh pair from each side's login. */
    async pairs(user = USERS[0] as ReferenceUser): Promise<Record<Side, Pair>> {
      const { tessera, reference } = await both(json('/api/token/', { username: user.username, password: user.password }));
      expect([tessera.status, reference.status]).toEqual([200, 200]);
      return { tessera: tessera.json as Pair, reference: reference.json as Pair };
    },
  };
}

describe('SimpleJWT: Tessera answers as the real djangorestframework-simplejwt 5.2 with default settings', () => {
  const { both, same, pairs, slidingTokens } = twoSystems({}, {});

  it('OPTIONS on each view: DRF SimpleMetadata with the serializer fields as `actions`, and Allow', async () => {
    for (const path of PATHS) await same(`OPTIONS ${path}`, { method: 'OPTIONS', path });
  });

  it('every other method is 405 `Method "X" not allowed.` with Allow', async () => {
    // (not HEAD: Django 3.2 leaves the 405 body on a HEAD answer and wsgiref sends it, which no
    // HTTP client reads; Tessera sends the headers alone, as the OpenAPI document says.)
    for (const path of PATHS) {
      for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) await same(`${method} ${path}`, { method, path });
      await same(`GET ${path} with a body`, { ...json(path, { username: 'sampleUser', password: 'userpassword123' }), method: 'GET' });
    }
  });

  it('login: the pair (refresh, access), or one sliding token, each of the library shape, in JSON, form and multipart bodies', async () => {
    const [user, other] = USERS as [ReferenceUser, ReferenceUser];
    for (const path of ['/api/token', '/api/token/', '/api/token/sliding', '/api/token/sliding/']) {
      for (const u of [user, other]) {
        const fields = { username: u.username, password: u.password };
        for (const req of [json(path, fields), form(path, fields), multipart(path, fields)]) {
          const { tessera, reference } = await both(req);
          expectSameTokens(`${path} ${req.headers?.['content-type']} ${u.username}`, tessera, reference);
        }
      }
      // DRF's CharField trims both fields, and takes numbers as strings; unknown fields are ignored
      const { tessera, reference } = await both(json(path, { username: ` ${user.username}\t`, password: `  ${user.password} `, extra: 1 }));
      expectSameTokens(`${path} trimmed`, tessera, reference);
    }
  });

  it('login: bad credentials, an inactive user, and every malformed field', async () => {
    const [user, , retired] = USERS as [ReferenceUser, ReferenceUser, ReferenceUser];
    const cases: Record<string, unknown> = {
      'wrong password': { username: user.username, password: 'wrong-password' },
      'unknown user': { username: 'nobody', password: user.password },
      'inactive user': { username: retired.username, password: retired.password },
      'username of another case': { username: user.username.toUpperCase(), password: user.password },
      'no fields': {},
      'no password': { username: user.username },
      'no username': { password: user.password },
      blank: { username: '', password: '' },
      'blank after trimming': { username: '   ', password: ' \t ' },
      null: { username: null, password: null },
      'null password': { username: user.username, password: null },
      numbers: { username: 12345, password: 1.5 },
      booleans: { username: true, password: false },
      lists: { username: [user.username], password: [user.password] },
      objects: { username: { a: 1 }, password: {} },
      'nested fields of the right name': { user: { username: user.username, password: user.password } },
      // DRF CharField's validators
      'NUL characters': { username: `${user.username}\u0000`, password: `\u0000${user.password}` },
      'NUL alone': { username: '\u0000', password: ' \u0000 ' },
      'lone surrogates': { username: 'a\ud800b', password: '\udfff' },
      'a NUL and a lone surrogate in one value': { username: 'x\udc00\u0000\ud801', password: user.password },
      'a surrogate pair (one character)': { username: 'a\ud83d\ude00', password: user.password },
      'blank and NUL': { username: '', password: 'a\u0000' },
    };
    for (const [name, body] of Object.entries(cases)) {
      for (const path of ['/api/token', '/api/token/', '/api/token/sliding/']) await same(`${path} ${name}`, json(path, body));
    }
    for (const fields of [
      { username: 'sample\u0000User', password: user.password },
      { username: user.username, password: '\u0000' },
    ]) {
      await same(`form ${JSON.stringify(fields)}`, form('/api/token/', fields));
      await same(`multipart ${JSON.stringify(fields)}`, multipart('/api/token/', fields));
    }
  });

  it('login: bodies that are not a JSON object, bad JSON, other media types', async () => {
    const path = '/api/token/';
    const bodies: [string, string, string | undefined][] = [
      ['a JSON list', '[]', 'application/json'],
      ['a JSON string', '"sampleUser"', 'application/json'],
      ['a JSON number', '42', 'application/json'],
      ['JSON null', 'null', 'application/json'],
      ['JSON true', 'true', 'application/json'],
      ['cut short', '{"username": "sampleUser", "password": ', 'application/json'],
      ['a trailing comma', '{"username": "sampleUser",}', 'application/json'],
      ['single quotes', "{'username': 'sampleUser'}", 'application/json'],
      ['garbage', 'not json', 'application/json'],
      ['extra data', '{} {}', 'application/json'],
      ['NaN', '{"username": NaN, "password": "x"}', 'application/json'],
      ['Infinity after a syntax error', '{"username" Infinity}', 'application/json'],
      ['-Infinity', '[-Infinity]', 'application/json'],
      ['an empty JSON body', '', 'application/json'],
      // (not compared: a body without Content-Type. wsgiref, like Django's runserver, fills in
      // `text/plain`; production servers (gunicorn, uWSGI) leave it empty and DRF then quotes `""`,
      // as Tessera does: the OpenAPI document's SimpleJwtUnsupportedMediaType says so.)
      ['text/plain', 'username=sampleUser', 'text/plain'],
      ['an empty form', '', 'application/x-www-form-urlencoded'],
      ['a form with blank fields', 'username=&password=', 'application/x-www-form-urlencoded'],
      ['json with a charset', '{"username":"sampleUser","password":"wrong"}', 'application/json; charset=utf-8'],
    ];
    for (const [name, body, type] of bodies) await same(`${path} ${name}`, raw(path, body, type));
  });

  it('refresh: a new access token of the library shape keeping the refresh token iat; bad tokens refused', async () => {
    const p = await pairs();
    for (const path of ['/api/token/refresh', '/api/token/refresh/']) {
      const { tessera, reference } = await both((side) => json(path, { refresh: p[side].refresh }));
      expectSameTokens(path, tessera, reference);
      const iat = (token: string) => decodeJwt(token, TEST_SIGNING_KEY).payload.iat;
      expect(iat((tessera.json as { access: string }).access)).toBe(iat(p.tessera.refresh));
      expect(iat((reference.json as { access: string }).access)).toBe(iat(p.reference.refresh));
      await same(`${path} an access token`, (side) => json(path, { refresh: p[side].access }));
      // without rotation a refresh token refreshes again; the new access token verifies
      const again = await both((side) => form(path, { refresh: ` ${p[side].refresh}\n` }));
      expectSameTokens(`${path} again, in a form, padded`, again.tessera, again.reference);
      const access = { tessera: (again.tessera.json as Pair).access, reference: (again.reference.json as Pair).access };
      await same(`${path} the new access token verifies`, (side) => json('/api/token/verify/', { token: access[side] }));
    }
    await badTokens('/api/token/refresh/', 'refresh');
  });

  it('verify: access and refresh tokens are valid; bad tokens refused', async () => {
    const p = await pairs();
    for (const path of ['/api/token/verify', '/api/token/verify/']) {
      await same(`${path} access`, (side) => json(path, { token: p[side].access }));
      await same(`${path} refresh`, (side) => json(path, { token: p[side].refresh }));
      await same(`${path} the refresh token as "refresh"`, (side) => json(path, { refresh: p[side].refresh }));
    }
    await badTokens('/api/token/verify/', 'token');
  });

  it('blacklist: a refresh token once; then refresh and blacklist refuse it, verify still accepts it', async () => {
    for (const path of ['/api/token/blacklist', '/api/token/blacklist/']) {
      const p = await pairs();
      await same(`${path} an access token`, (side) => json(path, { refresh: p[side].access }));
      await same(`${path} the refresh token`, (side) => json(path, { refresh: p[side].refresh }));
      await same(`${path} again`, (side) => json(path, { refresh: p[side].refresh }));
      await same(`${path} then refresh`, (side) => json('/api/token/refresh/', { refresh: p[side].refresh }));
      await same(`${path} then verify`, (side) => json('/api/token/verify/', { token: p[side].refresh }));
      await same(`${path} then verify the access token`, (side) => json('/api/token/verify/', { token: p[side].access }));
    }
    await badTokens('/api/token/blacklist/', 'refresh');
  });

  it('sliding refresh: the token again with a new exp and iat (the same jti and refresh_exp); the old one still slides and verifies', async () => {
    const first = await slidingTokens();
    for (const path of ['/api/token/sliding/refresh', '/api/token/sliding/refresh/']) {
      const slid = await both((side) => json(path, { token: first[side] }));
      expectSameTokens(path, slid.tessera, slid.reference);
      for (const side of ['tessera', 'reference'] as const) {
        const [before, after] = [first[side], (slid[side].json as Sliding).token].map((t) => decodeJwt(t, TEST_SIGNING_KEY).payload);
        expect({ jti: after?.jti, refresh_exp: after?.refresh_exp }, `${path} ${side}`).toEqual({
          jti: before?.jti,
          refresh_exp: before?.refresh_exp,
        });
      }
      const second = { tessera: (slid.tessera.json as Sliding).token, reference: (slid.reference.json as Sliding).token };
      const again = await both((side) => form(path, { token: ` ${first[side]}\n` }));
      expectSameTokens(`${path} the first token again, in a form, padded`, again.tessera, again.reference);
      for (const token of [first, second]) await same(`${path} then verify`, (side) => json('/api/token/verify/', { token: token[side] }));
    }
  });

  it('sliding tokens at the other views, and the other tokens at the sliding refresh', async () => {
    const sliding = await slidingTokens();
    const p = await pairs();
    await same('refresh a sliding token', (side) => json('/api/token/refresh/', { refresh: sliding[side] }));
    await same('blacklist a sliding token', (side) => json('/api/token/blacklist/', { refresh: sliding[side] }));
    await same('sliding refresh of a refresh token', (side) => json('/api/token/sliding/refresh/', { token: p[side].refresh }));
    await same('sliding refresh of an access token', (side) => json('/api/token/sliding/refresh/', { token: p[side].access }));
    await same('sliding refresh with the field "refresh"', (side) => json('/api/token/sliding/refresh/', { refresh: sliding[side] }));
    // the blacklist is consulted before the type (BlacklistMixin.verify)
    await same('blacklist the refresh token', (side) => json('/api/token/blacklist/', { refresh: p[side].refresh }));
    await same('sliding refresh of the blacklisted refresh token', (side) =>
      json('/api/token/sliding/refresh/', { token: p[side].refresh }),
    );
  });

  it('sliding refresh: bad tokens, and well-signed ones missing a claim or past refresh_exp', async () => {
    const path = '/api/token/sliding/refresh/';
    await badTokens(path, 'token');
    const now = Math.floor(Date.now() / 1000);
    const full = {
      token_type: 'sliding',
      exp: now + 300,
      iat: now,
      jti: randomBytes(16).toString('hex'),
      refresh_exp: now + 3600,
      user_id: 1,
    };
    const without = (...names: string[]) => forge(Object.fromEntries(Object.entries(full).filter(([k]) => !names.includes(k))));
    const cases: Record<string, string> = {
      'without refresh_exp': without('refresh_exp'),
      'past refresh_exp': forge({ ...full, refresh_exp: now - 1 }),
      'past refresh_exp and without a type': forge({ ...full, token_type: undefined, refresh_exp: now - 1 }),
      'without a type': without('token_type'),
      'without exp': without('exp'),
      'without exp nor refresh_exp': without('exp', 'refresh_exp'),
      expired: forge({ ...full, exp: now - 1 }),
      'a refresh type': forge({ ...full, token_type: 'refresh' }),
    };
    for (const [name, token] of Object.entries(cases)) await same(`${path} ${name}`, json(path, { token }));
  });

  it('well-signed tokens missing a claim SimpleJWT checks: refused in its words, in its order', async () => {
    const now = Math.floor(Date.now() / 1000);
    const full = { token_type: 'refresh', exp: now + 3600, iat: now, jti: randomBytes(16).toString('hex'), user_id: 1 };
    const without = (...names: string[]) => forge(Object.fromEntries(Object.entries(full).filter(([k]) => !names.includes(k))));
    const typed = (type: unknown) => forge({ ...full, token_type: type });
    // RefreshToken (refresh, blacklist): `exp`, then the type (present, then equal)
    for (const path of ['/api/token/refresh/', '/api/token/blacklist']) {
      await same(`${path} without a type`, json(path, { refresh: without('token_type') }));
      await same(`${path} without exp`, json(path, { refresh: without('exp') }));
      await same(`${path} without exp nor type`, json(path, { refresh: without('exp', 'token_type') }));
      await same(`${path} a type that is a number`, json(path, { refresh: typed(1) }));
      await same(`${path} a type that is null`, json(path, { refresh: typed(null) }));
      await same(`${path} an access token without exp`, json(path, { refresh: forge({ ...full, token_type: 'access', exp: undefined }) }));
    }
    // UntypedToken (verify): `exp`, then the id; no type
    await same('verify without exp', json('/api/token/verify/', { token: without('exp') }));
    await same('verify without jti', json('/api/token/verify/', { token: without('jti') }));
    await same('verify without exp nor jti', json('/api/token/verify/', { token: without('exp', 'jti') }));
  });

  it('where SimpleJWT fails or accepts a token Tessera did not issue, Tessera refuses it (docs/api.md)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const full = { token_type: 'refresh', exp: now + 3600, iat: now, jti: randomBytes(16).toString('hex'), user_id: 1 };
    const without = (name: string) => forge(Object.fromEntries(Object.entries(full).filter(([k]) => k !== name)));
    const tokenNotValid = (detail: string) => ({ status: 401, body: { detail, code: 'token_not_valid' } });
    // SimpleJWT's blacklist check reads the jti before anything else: a KeyError, Django's HTML 500
    for (const path of ['/api/token/refresh/', '/api/token/blacklist/']) {
      const { tessera, reference } = await both(json(path, { refresh: without('jti') }));
      expect(reference.status, `${path} the reference`).toBe(500);
      expect({ status: tessera.status, body: tessera.json }, path).toEqual(tokenNotValid('Token has no id'));
    }
    // verify checks no type: SimpleJWT vouches for any well-signed token, Tessera only for its own
    const { tessera, reference } = await both(json('/api/token/verify/', { token: without('token_type') }));
    expect({ status: reference.status, body: reference.json }).toEqual({ status: 200, body: {} });
    expect({ status: tessera.status, body: tessera.json }).toEqual(tokenNotValid('Token is invalid or expired'));
  });

  /** The answers to tokens that are no token, expired, badly signed or of the wrong form, and to malformed fields. */
  async function badTokens(path: string, field: string): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const claims = (type: string, exp: number) => ({
      token_type: type,
      exp,
      iat: exp - 86_400,
      jti: randomBytes(16).toString('hex'),
      user_id: 1,
    });
    const tokens: Record<string, unknown> = {
      garbage: 'not-a-token',
      'three segments of garbage': 'a.b.c',
      'an expired refresh token': forge(claims('refresh', now - 60)),
      'an expired access token': forge(claims('access', now - 60)),
      'signed with another key': forge(claims('refresh', now + 3600), 'another-key'),
      'alg none': `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims('refresh', now + 3600))).toString('base64url')}.`,
      blank: '',
      spaces: '   ',
      'a NUL': 'a.b\u0000.c',
      'a lone surrogate': 'a.\ud800.c',
      null: null,
      number: 7,
      list: ['a.b.c'],
    };
    for (const [name, token] of Object.entries(tokens)) await same(`${path} ${name}`, json(path, { [field]: token }));
    await same(`${path} no field`, json(path, {}));
    await same(`${path} the other field name`, json(path, { [field === 'token' ? 'refresh' : 'token']: 'a.b.c' }));
    await same(`${path} a JSON list`, raw(path, '[]', 'application/json'));
    await same(`${path} bad JSON`, raw(path, '{"', 'application/json'));
    await same(`${path} form`, form(path, { [field]: 'a.b.c' }));
  }
});

describe('SimpleJWT with ROTATE_REFRESH_TOKENS, BLACKLIST_AFTER_ROTATION and other lifetimes, as the real one', () => {
  const { both, same, pairs } = twoSystems(
    { ROTATE_REFRESH_TOKENS: true, BLACKLIST_AFTER_ROTATION: true, ACCESS_TOKEN_LIFETIME: 60, REFRESH_TOKEN_LIFETIME: 3600 },
    {
      TESSERA_JWT_ROTATE_REFRESH_TOKENS: '1',
      TESSERA_JWT_BLACKLIST_AFTER_ROTATION: '1',
      TESSERA_JWT_ACCESS_LIFETIME: '60',
      TESSERA_JWT_REFRESH_LIFETIME: '3600',
    },
  );

  it('login and refresh give tokens of the configured lifetimes; refresh rotates and blacklists the old refresh token', async () => {
    const [user] = USERS as [ReferenceUser];
    const login = await both(json('/api/token/', { username: user.username, password: user.password }));
    expectSameTokens('login', login.tessera, login.reference);
    const lifetimes = (a: Reply) =>
      Object.values(a.json as Pair).map((t) => {
        const p = decodeJwt(t, TEST_SIGNING_KEY).payload as { iat: number; exp: number };
        return p.exp - p.iat;
      });
    expect(lifetimes(login.reference)).toEqual([3600, 60]);
    expect(lifetimes(login.tessera)).toEqual([3600, 60]);

    const first = { tessera: login.tessera.json as Pair, reference: login.reference.json as Pair };
    const refreshed = await both((side) => json('/api/token/refresh/', { refresh: ` ${first[side].refresh} ` }));
    expectSameTokens('refresh with rotation', refreshed.tessera, refreshed.reference);
    const second = { tessera: refreshed.tessera.json as Pair, reference: refreshed.reference.json as Pair };

    // the rotated-away refresh token is blacklisted: refresh and blacklist say so, verify too (a field error)
    await same('refresh again with the old token', (side) => json('/api/token/refresh', { refresh: first[side].refresh }));
    await same('verify the old refresh token', (side) => json('/api/token/verify', { token: first[side].refresh }));
    await same('blacklist the old refresh token', (side) => json('/api/token/blacklist/', { refresh: first[side].refresh }));
    await same('verify the old access token', (side) => json('/api/token/verify/', { token: first[side].access }));
    // the new one works, once
    await same('verify the new refresh token', (side) => json('/api/token/verify/', { token: second[side].refresh }));
    const third = await both((side) => json('/api/token/refresh/', { refresh: second[side].refresh }));
    expectSameTokens('refresh with the new token', third.tessera, third.reference);
    await same('the new token, rotated away in turn', (side) => json('/api/token/refresh/', { refresh: second[side].refresh }));
  });

  it('blacklist, then refresh and verify', async () => {
    const p = await pairs();
    await same('blacklist', (side) => json('/api/token/blacklist/', { refresh: p[side].refresh }));
    await same('then refresh', (side) => json('/api/token/refresh/', { refresh: p[side].refresh }));
    await same('then verify', (side) => json('/api/token/verify/', { token: p[side].refresh }));
  });
});

describe('SimpleJWT sliding tokens with other lifetimes, refresh claim, audience and issuer, as the real one', () => {
  const settings = { lifetime: 60, refreshLifetime: 2, claim: 'slide_until', audience: 'tessera-tests', issuer: 'https://issuer.example' };
  const { both, same, slidingTokens } = twoSystems(
    {
      SLIDING_TOKEN_LIFETIME: settings.lifetime,
      SLIDING_TOKEN_REFRESH_LIFETIME: settings.refreshLifetime,
      SLIDING_TOKEN_REFRESH_EXP_CLAIM: settings.claim,
      AUDIENCE: settings.audience,
      ISSUER: settings.issuer,
    },
    {
      TESSERA_JWT_SLIDING_LIFETIME: String(settings.lifetime),
      TESSERA_JWT_SLIDING_REFRESH_LIFETIME: String(settings.refreshLifetime),
      TESSERA_JWT_SLIDING_REFRESH_EXP_CLAIM: settings.claim,
      TESSERA_JWT_AUDIENCE: settings.audience,
      TESSERA_JWT_ISSUER: settings.issuer,
    },
  );

  it('tokens of the configured lifetimes under the configured claim; past it the token no longer slides, and still verifies', async () => {
    const [user] = USERS as [ReferenceUser];
    const login = await both(json('/api/token/sliding/', { username: user.username, password: user.password }));
    expectSameTokens('sliding login', login.tessera, login.reference);
    const pair = await both(json('/api/token/', { username: user.username, password: user.password }));
    expectSameTokens('pair login, with aud and iss', pair.tessera, pair.reference);
    for (const side of ['tessera', 'reference'] as const) {
      const p = decodeJwt((login[side].json as Sliding).token, TEST_SIGNING_KEY).payload as { exp: number; iat: number } & Record<
        string,
        number
      >;
      expect([p.exp - p.iat, (p[settings.claim] as number) - p.iat], side).toEqual([settings.lifetime, settings.refreshLifetime]);
    }
    const first = { tessera: (login.tessera.json as Sliding).token, reference: (login.reference.json as Sliding).token };
    const slid = await both((side) => json('/api/token/sliding/refresh/', { token: first[side] }));
    expectSameTokens('sliding refresh, with aud and iss', slid.tessera, slid.reference);
    // past the claim (whole seconds: wait for the second after it)
    const until = (decodeJwt(first.reference, TEST_SIGNING_KEY).payload[settings.claim] as number) * 1000;
    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now() + 1100)));
    await same('sliding refresh past the claim', (side) => json('/api/token/sliding/refresh/', { token: first[side] }));
    await same('verify past the claim', (side) => json('/api/token/verify/', { token: first[side] }));
    const fresh = await slidingTokens();
    const again = await both((side) => json('/api/token/sliding/refresh/', { token: fresh[side] }));
    expectSameTokens('a fresh token still slides', again.tessera, again.reference);
  });
});

describe('SimpleJWT with RS256, an audience, an issuer, a leeway, other claim names and rotation, as the real one', () => {
  const rsaKey = () =>
    generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
  const [key, otherKey] = [rsaKey(), rsaKey()];
  const settings = {
    audience: 'tessera-tests',
    issuer: 'https://issuer.example',
    leeway: 3,
    slidingLifetime: 1,
    userIdClaim: 'uid',
    typeClaim: 'kind',
    jtiClaim: 'token_id',
  };
  // RFC 7638: SHA-256 of the required members in lexicographic order, computed here by hand
  const jwk = createPublicKey(key.publicKey).export({ format: 'jwk' });
  const kid = createHash('sha256')
    .update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n }))
    .digest('base64url');
  const reading: TokenReading = {
    signatureValid: (input, signature) => verify('sha256', Buffer.from(input), key.publicKey, Buffer.from(signature, 'base64url')),
    typeClaim: settings.typeClaim,
    userIdClaim: settings.userIdClaim,
    jtiClaim: settings.jtiClaim,
    kid,
  };
  const { both, same, pairs, slidingTokens } = twoSystems(
    {
      ALGORITHM: 'RS256',
      SIGNING_KEY: key.privateKey,
      VERIFYING_KEY: key.publicKey,
      AUDIENCE: settings.audience,
      ISSUER: settings.issuer,
      LEEWAY: settings.leeway,
      USER_ID_CLAIM: settings.userIdClaim,
      TOKEN_TYPE_CLAIM: settings.typeClaim,
      JTI_CLAIM: settings.jtiClaim,
      ROTATE_REFRESH_TOKENS: true,
      SLIDING_TOKEN_LIFETIME: settings.slidingLifetime,
    },
    {
      TESSERA_JWT_ALGORITHM: 'RS256',
      // PEM text as env files write it, with `\n` for the line ends
      TESSERA_JWT_SIGNING_KEY: key.privateKey.replaceAll('\n', '\\n'),
      TESSERA_JWT_VERIFYING_KEY: key.publicKey.replaceAll('\n', '\\n'),
      TESSERA_JWT_AUDIENCE: settings.audience,
      TESSERA_JWT_ISSUER: settings.issuer,
      TESSERA_JWT_LEEWAY: String(settings.leeway),
      TESSERA_JWT_USER_ID_CLAIM: settings.userIdClaim,
      TESSERA_JWT_TOKEN_TYPE_CLAIM: settings.typeClaim,
      TESSERA_JWT_JTI_CLAIM: settings.jtiClaim,
      TESSERA_JWT_ROTATE_REFRESH_TOKENS: '1',
      TESSERA_JWT_SLIDING_LIFETIME: String(settings.slidingLifetime),
    },
  );
  const [user] = USERS as [ReferenceUser];
  const rs256 = (privateKey: string) => (input: string) => sign('sha256', Buffer.from(input), privateKey);
  /** Claims of a refresh token for user 1 under the setup's names, with the audience and issuer at the end (as SimpleJWT orders them). */
  const claims = (exp: number) => ({
    [settings.typeClaim]: 'refresh',
    exp,
    iat: exp - 3600,
    [settings.jtiClaim]: randomBytes(16).toString('hex'),
    [settings.userIdClaim]: 1,
    aud: settings.audience,
    iss: settings.issuer,
  });

  it('login: the pair and the sliding token, RS256 with the kid of the key, the claims under their names, aud and iss last', async () => {
    for (const path of ['/api/token/', '/api/token/sliding/']) {
      const { tessera, reference } = await both(json(path, { username: user.username, password: user.password }));
      expectSameTokens(path, tessera, reference, reading);
      const claimNames = Object.keys(readJwt(Object.values(reference.json as Record<string, string>)[0] as string, reading).payload);
      expect(claimNames.slice(-2), path).toEqual(['aud', 'iss']);
      expect(claimNames, path).toContain(settings.userIdClaim);
    }
  });

  it('refresh rotates (the old refresh token still refreshes: no blacklist after rotation); verify; blacklist', async () => {
    const first = await pairs();
    const refreshed = await both((side) => json('/api/token/refresh/', { refresh: first[side].refresh }));
    expectSameTokens('refresh with rotation', refreshed.tessera, refreshed.reference, reading);
    const second = { tessera: refreshed.tessera.json as Pair, reference: refreshed.reference.json as Pair };
    for (const side of ['tessera', 'reference'] as const) {
      const iat = (token: string) => readJwt(token, reading).payload.iat;
      expect(iat(second[side].access), `${side}: the new access token keeps the refresh token's iat`).toBe(iat(first[side].refresh));
    }
    for (const [name, p] of Object.entries({ first, second })) {
      await same(`verify the ${name} access token`, (side) => json('/api/token/verify/', { token: p[side].access }));
      await same(`verify the ${name} refresh token`, (side) => json('/api/token/verify/', { token: p[side].refresh }));
    }
    const again = await both((side) => json('/api/token/refresh/', { refresh: first[side].refresh }));
    expectSameTokens('refresh with the rotated-away token', again.tessera, again.reference, reading);
    await same('refresh with an access token', (side) => json('/api/token/refresh/', { refresh: second[side].access }));
    await same('blacklist an access token', (side) => json('/api/token/blacklist/', { refresh: second[side].access }));
    await same('blacklist', (side) => json('/api/token/blacklist/', { refresh: second[side].refresh }));
    await same('blacklist again', (side) => json('/api/token/blacklist/', { refresh: second[side].refresh }));
    await same('then refresh', (side) => json('/api/token/refresh/', { refresh: second[side].refresh }));
    await same('then verify', (side) => json('/api/token/verify/', { token: second[side].refresh }));
  });

  it('refused: another audience, another issuer, no audience or issuer, another key, alg confusion, alg none, another RS algorithm, expired past the leeway', async () => {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT' };
    const signed = (c: Record<string, unknown>) => jws(header, c, rs256(key.privateKey));
    const good = claims(now + 3600);
    const without = (name: string) => Object.fromEntries(Object.entries(good).filter(([k]) => k !== name));
    const tokens: Record<string, string> = {
      'another audience': signed({ ...good, aud: 'another-service' }),
      'another issuer': signed({ ...good, iss: 'https://another.example' }),
      'no audience': signed(without('aud')),
      'no issuer': signed(without('iss')),
      'signed by another RS256 key': jws(header, good, rs256(otherKey.privateKey)),
      'HS256 with the public key PEM as the secret': jws({ alg: 'HS256', typ: 'JWT' }, good, (input) =>
        createHmac('sha256', key.publicKey).update(input).digest(),
      ),
      'alg none': jws({ alg: 'none', typ: 'JWT' }, good, () => Buffer.alloc(0)),
      'RS512 with the key': jws({ alg: 'RS512', typ: 'JWT' }, good, (input) => sign('sha512', Buffer.from(input), key.privateKey)),
      'expired by more than the leeway': signed(claims(now - settings.leeway - 60)),
    };
    // the reference accepts the same token well signed, so each refusal is for what was changed
    // (Tessera refuses it too: a token it did not issue, docs/api.md)
    const control = await both(json('/api/token/verify/', { token: signed(good) }));
    expect({ status: control.reference.status, body: control.reference.json }).toEqual({ status: 200, body: {} });
    for (const [name, token] of Object.entries(tokens)) {
      await same(`verify: ${name}`, json('/api/token/verify/', { token }));
      await same(`refresh: ${name}`, json('/api/token/refresh/', { refresh: token }));
      await same(`blacklist: ${name}`, json('/api/token/blacklist/', { refresh: token }));
    }
  });

  // Tessera stores each token under its hash: a JWT's record lasts `exp` + LEEWAY (TokenRepository's
  // jwtLeewayMs), or a token within the leeway would be gone and refused although it verifies.
  it('a token expired by less than the leeway still verifies and slides; past the leeway it does neither', async () => {
    const first = await slidingTokens();
    const exp = (readJwt(first.reference, reading).payload.exp as number) * 1000;
    // half a second into the leeway's second second, away from the whole seconds where the two may round apart
    await new Promise((r) => setTimeout(r, Math.max(0, exp + 1500 - Date.now())));
    expect(Date.now(), 'still within the leeway (the machine was slow)').toBeLessThan(exp + (settings.leeway - 1) * 1000);
    await same('verify within the leeway', (side) => json('/api/token/verify/', { token: first[side] }));
    const slid = await both((side) => json('/api/token/sliding/refresh/', { token: first[side] }));
    expectSameTokens('slide within the leeway', slid.tessera, slid.reference, reading);
    await new Promise((r) => setTimeout(r, Math.max(0, exp + (settings.leeway + 1) * 1000 + 500 - Date.now())));
    await same('verify past the leeway', (side) => json('/api/token/verify/', { token: first[side] }));
    await same('slide past the leeway', (side) => json('/api/token/sliding/refresh/', { token: first[side] }));
  });
});
