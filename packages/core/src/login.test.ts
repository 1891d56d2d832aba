import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  bytes,
  FORM_CT,
  HASH,
  LEGACY_HASH,
  MemoryPorts,
  makeUser,
  NOW,
  PASSWORD,
  POLICY,
  request,
  TEST_KEY,
  unavailable,
} from '../test/fixtures.ts';
import { type Dialect, jsonAnswer } from './dialects/dialect.ts';
import { moh } from './dialects/moh.ts';
import { nehr } from './dialects/nehr.ts';
import { createPeb } from './dialects/peb.ts';
import { simplejwt } from './dialects/simplejwt.ts';
import { InvalidStateError, isUnavailable, TesseraError, UnavailableError } from './errors.ts';
import { JWT_SHAPE } from './jwt.ts';
import { decideLogin, type LoginPolicy, type LoginPorts, tokenRecord } from './login.ts';
import { dialectRoute } from './routes.ts';
import { HEX128, UUID_V4 } from './tokens.ts';
import type { RawRequest } from './types.ts';

const peb = createPeb({ mirrorStatus: false });

/** A login answered as its route answers it. */
async function handleLogin(dialect: Dialect, req: RawRequest, ports: LoginPorts, policy: LoginPolicy) {
  const decide = (r: RawRequest) => decideLogin(dialect, r, ports, policy);
  const route = dialectRoute({ path: req.path, dialect, action: 'login' }, decide, (err) => {
    throw err;
  });
  return (await route.handle(req)).answer;
}
const DIALECTS: readonly Dialect[] = [moh, nehr, simplejwt, peb];
const IAT = Math.floor(NOW / 1000);

function issued<T extends { kind: string }>(o: T): Extract<T, { kind: 'issued' }> {
  if (o.kind !== 'issued') throw new Error(`expected issued, got ${JSON.stringify(o)}`);
  return o as Extract<T, { kind: 'issued' }>;
}

describe('decideLogin: credentials', () => {
  it('issues a ministry UUID pair and saves both with records of the right kind, format, user and family', async () => {
    const ports = new MemoryPorts();
    const o = issued(await decideLogin(moh, request(), ports, POLICY));
    expect(o.user).toBe(ports.users[0]);
    expect(o.now).toBe(NOW);
    expect(o.tokens.family).toBe('family-1');
    expect(o.tokens.access.value).toMatch(UUID_V4);
    expect(o.tokens.refresh?.value).toMatch(UUID_V4);
    expect(ports.lookups).toStrictEqual([{ by: 'username', value: 'MOH-90008' }]);
    expect(ports.verifications).toStrictEqual([{ hash: HASH, password: PASSWORD }]);
    expect(ports.saved).toHaveLength(1);
    const [batch] = ports.saved;
    expect(batch?.grants).toStrictEqual([o.tokens.access, o.tokens.refresh]);
    expect(batch?.grants.map((g) => g.lifetime)).toStrictEqual([86_400, 2_592_000]);
    const base = { dialect: 'moh', userId: 42, username: 'MOH-90008', scopes: ['', 'read', 'write'], iat: IAT, family: 'family-1' };
    expect(batch?.records).toStrictEqual([
      { kind: 'access', format: 'uuid', ...base, exp: IAT + 86_400 },
      { kind: 'refresh', format: 'uuid', ...base, exp: IAT + 2_592_000 },
    ]);
    expect(ports.errors).toStrictEqual([]);
  });

  it('issues a SimpleJWT pair whose records carry the JWT jti and TTL-relevant lifetimes', async () => {
    const ports = new MemoryPorts();
    const o = issued(await decideLogin(simplejwt, request({ path: '/api/token/' }), ports, POLICY));
    const batch = ports.saved[0];
    expect(batch?.grants.map((g) => [g.kind, g.format, g.lifetime])).toStrictEqual([
      ['access', 'jwt', 300],
      ['refresh', 'jwt', 86_400],
    ]);
    for (const [i, g] of (batch?.grants ?? []).entries()) {
      expect(g.value).toMatch(JWT_SHAPE);
      const { payload } = await jwtVerify(g.value, TEST_KEY, { currentDate: new Date(NOW) });
      expect(payload.jti).toBe(g.jti);
      expect(payload.user_id).toBe(42);
      expect(payload.token_type).toBe(g.kind);
      expect(batch?.records[i]).toStrictEqual({
        kind: g.kind,
        format: 'jwt',
        dialect: 'simplejwt',
        userId: 42,
        username: 'MOH-90008',
        scopes: ['', 'read', 'write'],
        iat: IAT,
        exp: IAT + g.lifetime,
        family: 'family-1',
        jti: g.jti,
      });
    }
    expect(o.tokens.access.jti).not.toBe(o.tokens.refresh?.jti);
  });

  it('issues one PEB token and saves it alone', async () => {
    const ports = new MemoryPorts();
    const o = issued(await decideLogin(peb, request({ json: { email: 'someone@example.com', password: PASSWORD } }), ports, POLICY));
    expect(o.tokens.refresh).toBeUndefined();
    expect(o.tokens.access.value).toMatch(HEX128);
    expect(ports.saved[0]?.records).toStrictEqual([
      {
        kind: 'access',
        format: 'hex128',
        dialect: 'peb',
        userId: 42,
        username: 'MOH-90008',
        scopes: ['', 'read', 'write'],
        iat: IAT,
        exp: IAT + 2_592_000,
        family: 'family-1',
      },
    ]);
  });

  it('verifies an unknown user against the dummy hash exactly once, then refuses', async () => {
    const ports = new MemoryPorts();
    const o = await decideLogin(moh, request({ json: { username: 'nobody', password: PASSWORD } }), ports, POLICY);
    expect(o).toStrictEqual({ kind: 'bad_credentials' });
    expect(ports.verifications).toStrictEqual([{ hash: null, password: PASSWORD }]);
    expect(ports.saved).toStrictEqual([]);
  });

  it('refuses a wrong password after one verification against the user hash', async () => {
    const ports = new MemoryPorts();
    const o = await decideLogin(nehr, request({ json: { username: 'MOH-90008', password: 'wrong' } }), ports, POLICY);
    expect(o).toStrictEqual({ kind: 'bad_credentials' });
    expect(ports.verifications).toStrictEqual([{ hash: HASH, password: 'wrong' }]);
    expect(ports.saved).toStrictEqual([]);
  });

  it('refuses a disabled user even with the right password, after verifying', async () => {
    const ports = new MemoryPorts([makeUser({ disabled: true })]);
    const o = await decideLogin(moh, request(), ports, POLICY);
    expect(o).toStrictEqual({ kind: 'bad_credentials' });
    expect(ports.verifications).toStrictEqual([{ hash: HASH, password: PASSWORD }]);
    expect(ports.saved).toStrictEqual([]);
  });

  it('answers unknown user, wrong password and disabled user byte for byte the same in every dialect', async () => {
    for (const dialect of DIALECTS) {
      const id = dialect.name === 'peb' ? 'email' : 'username';
      const who = dialect.name === 'peb' ? 'someone@example.com' : 'MOH-90008';
      const answers = [
        await handleLogin(
          dialect,
          request({ json: { [id]: dialect.name === 'peb' ? 'nobody@example.com' : 'nobody', password: PASSWORD } }),
          new MemoryPorts(),
          POLICY,
        ),
        await handleLogin(dialect, request({ json: { [id]: who, password: 'wrong' } }), new MemoryPorts(), POLICY),
        await handleLogin(
          dialect,
          request({ json: { [id]: who, password: PASSWORD } }),
          new MemoryPorts([makeUser({ disabled: true })]),
          POLICY,
        ),
      ];
      expect(answers[1]).toStrictEqual(answers[0]);
      expect(answers[2]).toStrictEqual(answers[0]);
      expect(answers[0]).toStrictEqual(dialect.render({ kind: 'bad_credentials' }));
    }
  });
});

describe('decideLogin: a legacy hash becomes argon2id at the first login', () => {
  it('rehashes after a successful verify of a stale hash, inside the verify slot, then issues', async () => {
    const ports = new MemoryPorts([makeUser({ passwordHash: LEGACY_HASH })]);
    expect((await decideLogin(moh, request(), ports, POLICY)).kind).toBe('issued');
    expect(ports.rehashed).toStrictEqual([{ username: 'MOH-90008', password: PASSWORD, slotHeld: true }]);
  });

  it('changes nothing on a wrong password, for a disabled user, or for a current hash', async () => {
    const wrong = new MemoryPorts([makeUser({ passwordHash: LEGACY_HASH })]);
    expect(await decideLogin(moh, request({ json: { username: 'MOH-90008', password: 'wrong' } }), wrong, POLICY)).toStrictEqual({
      kind: 'bad_credentials',
    });
    const disabled = new MemoryPorts([makeUser({ passwordHash: LEGACY_HASH, disabled: true })]);
    expect(await decideLogin(moh, request(), disabled, POLICY)).toStrictEqual({ kind: 'bad_credentials' });
    const current = new MemoryPorts();
    expect((await decideLogin(moh, request(), current, POLICY)).kind).toBe('issued');
    expect([...wrong.rehashed, ...disabled.rehashed, ...current.rehashed]).toStrictEqual([]);
  });

  it('a failed rehash never fails the login: reported when unexpected, silent when Redis is away', async () => {
    const broken = new MemoryPorts([makeUser({ passwordHash: LEGACY_HASH })]);
    broken.failRehash = new Error('boom');
    expect((await decideLogin(moh, request(), broken, POLICY)).kind).toBe('issued');
    expect(broken.errors.map((e) => e.context)).toStrictEqual(['rehash:moh']);
    const away = new MemoryPorts([makeUser({ passwordHash: LEGACY_HASH })]);
    away.failRehash = unavailable();
    expect((await decideLogin(peb, request({ path: '/v1/login' }), away, POLICY)).kind).toBe('issued');
    expect(away.errors).toStrictEqual([]);
  });
});

describe('decideLogin: request shape', () => {
  it('refuses methods other than POST with the dialect Allow list, before reading anything', async () => {
    for (const dialect of DIALECTS) {
      const ports = new MemoryPorts();
      const o = await decideLogin(dialect, request({ method: 'GET', body: null }), ports, POLICY);
      expect(o).toStrictEqual({ kind: 'method_not_allowed', method: 'GET', allow: dialect.allow });
      expect(ports.lookups).toStrictEqual([]);
    }
    expect((await decideLogin(simplejwt, request({ method: 'PUT' }), new MemoryPorts(), POLICY)).kind).toBe('method_not_allowed');
    expect(await decideLogin(simplejwt, request({ method: 'DELETE' }), new MemoryPorts(), POLICY)).toStrictEqual({
      kind: 'method_not_allowed',
      method: 'DELETE',
      allow: ['POST', 'OPTIONS'],
    });
  });

  it('reports body problems without touching the store', async () => {
    const ports = new MemoryPorts();
    expect(await decideLogin(moh, request({ body: null }), ports, POLICY)).toStrictEqual({
      kind: 'malformed',
      problem: { reason: 'too_large' },
    });
    expect(await decideLogin(moh, request({ body: bytes('x'.repeat(POLICY.bodyLimit + 1)) }), ports, POLICY)).toStrictEqual({
      kind: 'malformed',
      problem: { reason: 'too_large' },
    });
    expect(await decideLogin(moh, request({ body: bytes('[1]') }), ports, POLICY)).toStrictEqual({
      kind: 'malformed',
      problem: { reason: 'not_object', detail: 'list' },
    });
    expect(await decideLogin(moh, request({ contentType: 'text/plain' }), ports, POLICY)).toStrictEqual({
      kind: 'malformed',
      problem: { reason: 'unsupported_media_type', contentType: 'text/plain' },
    });
    expect(ports.lookups).toStrictEqual([]);
    expect(ports.verifications).toStrictEqual([]);
  });

  it('reports field problems in the dialect terms without touching the store', async () => {
    const ports = new MemoryPorts();
    expect(await decideLogin(simplejwt, request({ json: { username: 'u' } }), ports, POLICY)).toStrictEqual({
      kind: 'malformed',
      problem: { reason: 'missing', fields: [{ field: 'password', reason: 'missing' }] },
    });
    expect(ports.lookups).toStrictEqual([]);
  });

  it('reads urlencoded logins', async () => {
    const ports = new MemoryPorts();
    const req = request({ contentType: FORM_CT, body: bytes('username=MOH-90008&password=Moh%40-90008') });
    expect((await decideLogin(nehr, req, ports, POLICY)).kind).toBe('issued');
  });
});

describe('decideLogin: failures of the ports', () => {
  it('turns UnavailableError from findUser or saveTokens into unavailable, without onError', async () => {
    const find = new MemoryPorts();
    find.failFind = unavailable();
    expect(await decideLogin(moh, request(), find, POLICY)).toStrictEqual({ kind: 'unavailable' });
    expect(find.errors).toStrictEqual([]);
    const save = new MemoryPorts();
    save.failSave = unavailable();
    expect(await decideLogin(simplejwt, request(), save, POLICY)).toStrictEqual({ kind: 'unavailable' });
    expect(save.errors).toStrictEqual([]);
  });

  it('turns any other error into internal_error and reports it once with the dialect context', async () => {
    const boom = new Error('boom');
    const find = new MemoryPorts();
    find.failFind = boom;
    expect(await decideLogin(moh, request(), find, POLICY)).toStrictEqual({ kind: 'internal_error' });
    expect(find.errors).toHaveLength(1);
    expect(find.errors[0]?.err).toBe(boom);
    expect(find.errors[0]?.context).toBe('login:moh');

    const state = new InvalidStateError('bad user row');
    const save = new MemoryPorts();
    save.failSave = state;
    const req = request({ json: { user: 'someone@example.com', password: PASSWORD } });
    expect(await decideLogin(peb, req, save, POLICY)).toStrictEqual({ kind: 'internal_error' });
    expect(save.errors).toHaveLength(1);
    expect(save.errors[0]?.err).toBe(state);
    expect(save.errors[0]?.context).toBe('login:peb');
  });

  it('renders port failures in each dialect error form, never throwing', async () => {
    const ports = new MemoryPorts();
    ports.failFind = 'a thrown string';
    const a = await handleLogin(nehr, request(), ports, POLICY);
    expect(a).toStrictEqual(nehr.render({ kind: 'internal_error' }));
    expect(a.status).toBe(500);
    ports.failFind = unavailable();
    expect((await handleLogin(simplejwt, request(), ports, POLICY)).status).toBe(503);
  });
});

describe('decideLogin: PEB identifiers', () => {
  const pebUser = makeUser({ username: 'someone.example', email: 'someone@example.com' });

  it('looks an email up case-folded and trimmed', async () => {
    const ports = new MemoryPorts([pebUser]);
    const o = await decideLogin(peb, request({ json: { email: '  SomeOne@Example.COM ', password: PASSWORD } }), ports, POLICY);
    expect(o.kind).toBe('issued');
    expect(ports.lookups).toStrictEqual([{ by: 'email', value: 'someone@example.com' }]);
  });

  it('looks user up by email when it holds an @, else by username', async () => {
    const byEmail = new MemoryPorts([pebUser]);
    expect((await decideLogin(peb, request({ json: { user: 'SOMEONE@example.com', password: PASSWORD } }), byEmail, POLICY)).kind).toBe(
      'issued',
    );
    expect(byEmail.lookups).toStrictEqual([{ by: 'email', value: 'someone@example.com' }]);
    const byName = new MemoryPorts([pebUser]);
    expect((await decideLogin(peb, request({ json: { user: 'someone.example', password: PASSWORD } }), byName, POLICY)).kind).toBe(
      'issued',
    );
    expect(byName.lookups).toStrictEqual([{ by: 'username', value: 'someone.example' }]);
  });

  it('refuses someone@example before any lookup', async () => {
    const ports = new MemoryPorts([pebUser]);
    const a = await handleLogin(peb, request({ json: { email: 'someone@example', password: PASSWORD } }), ports, POLICY);
    expect(a).toStrictEqual({
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' },
      body: '{"status":400,"message":"One of fields is improperly formatted.","error_id":8}',
    });
    expect(ports.lookups).toStrictEqual([]);
  });
});

describe('a login route', () => {
  const req = (overrides: Partial<RawRequest> & { json?: unknown } = {}) => request(overrides);

  it('answers a moh login with the envelope and expires_in 86399', async () => {
    const a = await handleLogin(moh, req(), new MemoryPorts(), POLICY);
    expect(a.status).toBe(200);
    const body = JSON.parse(a.body);
    expect(body.code).toBe(0);
    expect(body.result.expires_in).toBe(86_399);
    expect(body.result.access_token).toMatch(UUID_V4);
    expect(body.result.refresh_token).toMatch(UUID_V4);
  });

  it('answers a PEB login with a token valid 30 days from the issue second', async () => {
    const a = await handleLogin(peb, req({ json: { email: 'someone@example.com', password: PASSWORD } }), new MemoryPorts(), POLICY);
    const body = JSON.parse(a.body);
    expect(Object.keys(body)).toStrictEqual(['status', 'token', 'valid_till', 'valid_till_unix']);
    expect(body.status).toBe(200);
    expect(body.token).toMatch(HEX128);
    expect(body.valid_till).toBe('2023-10-25T01:21:20');
    expect(body.valid_till_unix).toBe(IAT + 2_592_000);
  });

  it('answers a SimpleJWT login with a verifiable pair', async () => {
    const a = await handleLogin(simplejwt, req({ json: { username: ' MOH-90008 ', password: PASSWORD } }), new MemoryPorts(), POLICY);
    expect(a.status).toBe(200);
    const body = JSON.parse(a.body);
    expect(Object.keys(body)).toStrictEqual(['refresh', 'access']);
    const { payload } = await jwtVerify(body.access, TEST_KEY, { currentDate: new Date(NOW) });
    expect(payload.token_type).toBe('access');
  });

  it('answers OPTIONS where the dialect has an answer, and 405-style otherwise', async () => {
    const options = simplejwt.options;
    if (options === undefined) throw new Error('simplejwt must answer OPTIONS');
    expect(await handleLogin(simplejwt, req({ method: 'OPTIONS' }), new MemoryPorts(), POLICY)).toStrictEqual(options());
    expect(await handleLogin(nehr, req({ method: 'OPTIONS' }), new MemoryPorts(), POLICY)).toStrictEqual(
      nehr.render({ kind: 'method_not_allowed', method: 'OPTIONS', allow: ['POST'] }),
    );
  });

  it("answers 16,000 nested [ as any other malformed JSON, in each dialect's words", async () => {
    const deep = req({ body: bytes('['.repeat(16_000)) });
    const malformed = req({ body: bytes('{"username":') });
    for (const dialect of DIALECTS) {
      const a = await handleLogin(dialect, deep, new MemoryPorts(), POLICY);
      expect(a.body.includes('call stack')).toBe(false);
      if (dialect === simplejwt) {
        expect(a).toStrictEqual(
          jsonAnswer(
            400,
            { detail: 'JSON parse error - Nesting deeper than 64 levels: line 1 column 65 (char 64)' },
            { allow: 'POST, OPTIONS', vary: 'Accept' },
          ),
        );
      } else {
        expect(a).toStrictEqual(await handleLogin(dialect, malformed, new MemoryPorts(), POLICY));
      }
    }
  });
});

describe('tokenRecord', () => {
  it('copies jti only when the grant has one', () => {
    const grant = { value: 'v', kind: 'access', format: 'uuid', lifetime: 10, issuedAt: 1_000_500, expiresAt: 1_010_500 } as const;
    const user = makeUser();
    expect(tokenRecord(grant, 'nehr', user, 'f')).toStrictEqual({
      kind: 'access',
      format: 'uuid',
      dialect: 'nehr',
      userId: 42,
      username: 'MOH-90008',
      scopes: ['', 'read', 'write'],
      iat: 1000,
      exp: 1010,
      family: 'f',
    });
    expect(tokenRecord({ ...grant, format: 'jwt', jti: 'j' }, 'simplejwt', user, 'f').jti).toBe('j');
  });
});

describe('errors', () => {
  it('tells unavailable errors apart by class and code', () => {
    const u = new UnavailableError('down', { cause: 'x' });
    expect(isUnavailable(u)).toBe(true);
    expect(u.code).toBe('ERR_UNAVAILABLE');
    expect(u.name).toBe('UnavailableError');
    expect(u.cause).toBe('x');
    expect(u).toBeInstanceOf(TesseraError);
    expect(isUnavailable(new TesseraError('x'))).toBe(false);
    expect(isUnavailable(new InvalidStateError('x'))).toBe(false);
    expect(new InvalidStateError('x').code).toBe('ERR_INVALID_STATE');
    expect(isUnavailable(new Error('ERR_UNAVAILABLE'))).toBe(false);
    expect(isUnavailable({ code: 'ERR_UNAVAILABLE' })).toBe(false);
    expect(isUnavailable(null)).toBe(false);
  });
});

describe('decideLogin: the gate (lockout, rate limit, verify pool)', () => {
  it('closes every opened attempt once, with the tokens on success and the user on failure', async () => {
    const ports = new MemoryPorts();
    const o = issued(await decideLogin(moh, request(), ports, POLICY));
    expect(ports.finished).toHaveLength(1);
    expect(ports.finished[0]?.result).toStrictEqual({ success: true, user: ports.users[0], tokens: o.tokens });
    expect(ports.finished[0]?.ctx).toStrictEqual({ dialect: 'moh', ip: '192.0.2.1', userAgent: 'test' });
    const bad = new MemoryPorts();
    expect(await decideLogin(moh, request({ body: bytes('{"username":"MOH-90008","password":"wrong"}') }), bad, POLICY)).toStrictEqual({
      kind: 'bad_credentials',
    });
    expect(bad.finished.map((f) => f.result)).toStrictEqual([{ success: false, user: bad.users[0] }]);
    expect(bad.saved).toHaveLength(0);
  });

  it('waits while the identifier is busy, then verifies', async () => {
    const ports = new MemoryPorts();
    ports.gateScript.push({ status: 'busy', lock: 'u:MOH-90008' }, { status: 'busy', lock: 'u:MOH-90008' });
    issued(await decideLogin(moh, request(), ports, POLICY));
    expect(ports.lookups).toHaveLength(3);
    expect(ports.verifications).toHaveLength(1);
  });

  it('answers unavailable (and records it) when the identifier stays busy past the wait', async () => {
    const ports = new MemoryPorts();
    for (let i = 0; i < 500; i++) ports.gateScript.push({ status: 'busy', lock: 'u:MOH-90008' });
    expect(await decideLogin(moh, request(), ports, POLICY)).toStrictEqual({ kind: 'unavailable' });
    expect(ports.verifications).toHaveLength(0);
    expect(ports.refused).toStrictEqual([{ identifier: { by: 'username', value: 'MOH-90008' }, outcome: 'unavailable' }]);
    expect(ports.clock - NOW).toBeGreaterThanOrEqual(POLICY.busyWaitMs);
  });

  it('answers locked and throttled with Retry-After in seconds, without verifying', async () => {
    const ports = new MemoryPorts();
    ports.gateScript.push(
      { status: 'locked', retryAfterMs: 90_500 },
      { status: 'locked', retryAfterMs: -1 },
      { status: 'throttled', retryAfterMs: 2000 },
    );
    expect(await decideLogin(moh, request(), ports, POLICY)).toStrictEqual({ kind: 'locked', retryAfter: 90.5 });
    expect(await decideLogin(moh, request(), ports, POLICY)).toStrictEqual({ kind: 'locked', retryAfter: 3600 });
    expect(await decideLogin(moh, request(), ports, POLICY)).toStrictEqual({ kind: 'throttled', retryAfter: 2 });
    expect(ports.verifications).toHaveLength(0);
    expect(ports.finished).toHaveLength(0);
  });

  it('sheds load: no verify slot means unavailable at once, the attempt aborted and recorded', async () => {
    const ports = new MemoryPorts();
    ports.overloaded = true;
    expect(await decideLogin(moh, request(), ports, POLICY)).toStrictEqual({ kind: 'unavailable' });
    expect(ports.verifications).toHaveLength(0);
    expect(ports.refused).toStrictEqual([
      { identifier: { by: 'username', value: 'MOH-90008' }, outcome: 'unavailable', reservation: 'r1' },
    ]);
  });
});
