import { describe, expect, it } from 'vitest';
import { HASH, keySet, MemoryPorts, makeUser, PASSWORD, POLICY, request } from '../test/fixtures.ts';
import { moh } from './dialects/moh.ts';
import { nehr } from './dialects/nehr.ts';
import { createPeb } from './dialects/peb.ts';
import { simplejwt } from './dialects/simplejwt.ts';
import { hmacJwtKey, JwtSigner } from './jwt.ts';
import { decideLogin } from './login.ts';
import { mintToken } from './tokens.ts';
import { migrationPlan } from './upstream.ts';

const peb = createPeb({ mirrorStatus: false });
const unknown = request({ json: { username: 'newcomer', password: PASSWORD } });

describe('decideLogin with an upstream (lazy migration)', () => {
  it('an unknown user the upstream accepts is adopted inside a verify slot, then issued tokens', async () => {
    const ports = new MemoryPorts();
    ports.upstreams.set('moh', { kind: 'accepted', user: { scopes: ['read'] } });
    const o = await decideLogin(moh, unknown, ports, POLICY);
    expect(o.kind).toBe('issued');
    expect(ports.asked).toStrictEqual([
      { dialect: 'moh', command: { identifier: { by: 'username', value: 'newcomer' }, password: PASSWORD } },
    ]);
    expect(ports.adopted).toStrictEqual([
      {
        plan: { username: 'newcomer', email: null, emailLogin: false, scopes: ['read'] },
        command: { identifier: { by: 'username', value: 'newcomer' }, password: PASSWORD },
        pending: null,
        slotHeld: true,
      },
    ]);
    // no local verification at all: the upstream decided
    expect(ports.verifications).toStrictEqual([]);
    expect(ports.finished.map((f) => f.result.success)).toStrictEqual([true]);
  });

  it('bad credentials there are bad credentials here, counted as a failure', async () => {
    const ports = new MemoryPorts();
    ports.upstreams.set('nehr', { kind: 'rejected' });
    expect(await decideLogin(nehr, unknown, ports, POLICY)).toStrictEqual({ kind: 'bad_credentials' });
    expect(ports.finished.map((f) => f.result)).toStrictEqual([{ success: false, user: null }]);
    expect(ports.adopted).toStrictEqual([]);
  });

  it('no clear answer is "unavailable", still counted (the upstream saw the attempt); unreachable is not counted', async () => {
    const failed = new MemoryPorts();
    failed.upstreams.set('moh', { kind: 'failed', detail: 'HTTP 500' });
    expect(await decideLogin(moh, unknown, failed, POLICY)).toStrictEqual({ kind: 'unavailable' });
    expect(failed.finished.map((f) => f.result)).toStrictEqual([{ success: false, user: null, outcome: 'unavailable' }]);
    const away = new MemoryPorts();
    away.upstreams.set('moh', { kind: 'unreachable', detail: 'refused' });
    expect(await decideLogin(moh, unknown, away, POLICY)).toStrictEqual({ kind: 'unavailable' });
    expect(away.finished).toStrictEqual([]);
    expect(away.refused).toStrictEqual([{ identifier: { by: 'username', value: 'newcomer' }, outcome: 'unavailable', reservation: 'r1' }]);
  });

  it('asks for pending users too, but never for known users, disabled pending users, or dialects without an upstream', async () => {
    const pending = makeUser({ username: 'waiting', passwordHash: '!', pendingUpstream: true });
    const ports = new MemoryPorts([makeUser(), pending, makeUser({ username: 'off', pendingUpstream: true, disabled: true })]);
    ports.upstreams.set('moh', { kind: 'accepted', user: {} });
    expect((await decideLogin(moh, request({ json: { username: 'waiting', password: 'x' } }), ports, POLICY)).kind).toBe('issued');
    expect(ports.adopted.map((a) => a.pending?.username)).toStrictEqual(['waiting']);
    expect((await decideLogin(moh, request(), ports, POLICY)).kind).toBe('issued');
    expect(await decideLogin(moh, request({ json: { username: 'off', password: 'x' } }), ports, POLICY)).toStrictEqual({
      kind: 'bad_credentials',
    });
    expect(await decideLogin(nehr, unknown, ports, POLICY)).toStrictEqual({ kind: 'bad_credentials' });
    expect(ports.asked.map((a) => a.command.identifier.value)).toStrictEqual(['waiting']);
    expect(ports.verifications.map((v) => v.hash)).toStrictEqual([HASH, HASH, null]);
  });

  it('a user a concurrent first login made with another password is bad credentials; an old id held here by another is unavailable', async () => {
    const ports = new MemoryPorts();
    ports.upstreams.set('simplejwt', { kind: 'accepted', user: { id: 9 } });
    ports.adoptAnswer = null;
    expect(await decideLogin(simplejwt, unknown, ports, POLICY)).toStrictEqual({ kind: 'bad_credentials' });
    expect(ports.finished.map((f) => f.result.success)).toStrictEqual([false]);
    ports.adoptAnswer = 'conflict';
    expect(await decideLogin(simplejwt, unknown, ports, POLICY)).toStrictEqual({ kind: 'unavailable' });
    // not the user's fault: not counted
    expect(ports.finished).toHaveLength(1);
    expect(ports.refused.map((r) => r.outcome)).toStrictEqual(['unavailable']);
  });

  it('never asks about a username Tessera could not hold: it is an unknown user, verified against the dummy', async () => {
    const ports = new MemoryPorts();
    ports.upstreams.set('moh', { kind: 'accepted', user: {} });
    for (const username of ['john smith', 'a:b', 'x'.repeat(151)])
      expect(await decideLogin(moh, request({ json: { username, password: 'p' } }), ports, POLICY)).toStrictEqual({
        kind: 'bad_credentials',
      });
    expect(ports.asked).toStrictEqual([]);
    expect(ports.verifications.map((v) => v.hash)).toStrictEqual([null, null, null]);
  });
});

describe('migrationPlan: what a vouched-for user becomes', () => {
  const byName = { identifier: { by: 'username' as const, value: 'Alice' }, password: 'p' };
  const byEmail = { identifier: { by: 'email' as const, value: "o'brien@example.com" }, password: 'p' };

  it("takes the old system's spelling of the username when it gives a valid one, else the login's", () => {
    expect(migrationPlan(byName, { username: 'alice', id: 5 })).toStrictEqual({ username: 'alice', email: null, emailLogin: false, id: 5 });
    expect(migrationPlan(byName, { username: 'not valid!' }).username).toBe('Alice');
    expect(migrationPlan(byName, {}).username).toBe('Alice');
  });

  it('a login by email: the email stays the identity; the username is the named one, or the email made valid', () => {
    expect(migrationPlan(byEmail, { username: 'obrien', email: 'other@example.com' })).toStrictEqual({
      username: 'obrien',
      email: "o'brien@example.com",
      emailLogin: true,
    });
    // made a valid username, told apart from emails that read alike
    const obrien = migrationPlan(byEmail, {}).username;
    expect(obrien).toMatch(/^o_brien@example\.com\.[0-9a-f]{8}$/);
    expect(migrationPlan({ identifier: { by: 'email', value: 'o#brien@example.com' }, password: 'p' }, {}).username).not.toBe(obrien);
    const long = `${'a'.repeat(60)}'${'b'.repeat(60)}@example.com`;
    expect(migrationPlan({ identifier: { by: 'email', value: long }, password: 'p' }, {}).username.length).toBeLessThanOrEqual(150);
    expect(migrationPlan({ identifier: { by: 'email', value: 'Ann@Example.com' }, password: 'p' }, {})).toStrictEqual({
      username: 'Ann@Example.com',
      email: 'ann@example.com',
      emailLogin: true,
    });
  });

  it("keeps the old system's email only when it is one", () => {
    expect(migrationPlan(byName, { email: 'A@B.example' }).email).toBe('a@b.example');
    expect(migrationPlan(byName, { email: 'not an email' }).email).toBeNull();
  });
});

describe('each dialect as a client of its old system', () => {
  const command = { identifier: { by: 'username' as const, value: 'MOH-90008' }, password: 'Moh@-90008' };

  it('moh: the same JSON its clients send; code 0 with the profile, code 3 bad credentials, anything else no answer', () => {
    expect(moh.upstream.login(command)).toStrictEqual({
      contentType: 'application/json',
      body: '{"username":"MOH-90008","password":"Moh@-90008"}',
    });
    const result = {
      access_token: 'a',
      scope: ['', 'read'],
      firstLogin: null,
      loggedInUser: { name: 'x' },
      userDetails: null,
      persCode: '-90008',
      userIntitutes: [{ id: 1 }],
      civilId: 285,
      userMobile: null,
    };
    expect(moh.upstream.readLogin(200, JSON.stringify({ version: 'v2', code: 0, message: '1 Records found', result }))).toStrictEqual({
      kind: 'accepted',
      user: {
        scopes: ['', 'read'],
        profile: { persCode: '-90008', civilId: '285', loggedInUser: { name: 'x' }, userIntitutes: [{ id: 1 }] },
      },
    });
    expect(moh.upstream.readLogin(200, '{"version":"v2","code":3,"message":"Bad Credentials","result":null}')).toStrictEqual({
      kind: 'rejected',
    });
    expect(moh.upstream.readLogin(200, '{"version":"v2","code":4,"message":"Account Locked","result":null}')).toStrictEqual({
      kind: 'failed',
      detail: 'HTTP 200, code 4',
    });
    expect(moh.upstream.readLogin(502, '<html>bad gateway</html>')).toStrictEqual({
      kind: 'failed',
      detail: 'HTTP 502, not a JSON object',
    });
  });

  it('nehr: 200 envelope yes, 401 bad credentials, 429 and 503 no answer', () => {
    expect(nehr.upstream.readLogin(200, JSON.stringify({ version: 'v2', code: 0, result: { scope: [] } }))).toStrictEqual({
      kind: 'accepted',
      user: { scopes: [], profile: {} },
    });
    expect(
      nehr.upstream.readLogin(401, '{"code":401,"message":"Unauthorized: Access is denied due to invalid credentials."}'),
    ).toStrictEqual({
      kind: 'rejected',
    });
    for (const status of [429, 503]) expect(nehr.upstream.readLogin(status, `{"code":${status}}`).kind).toBe('failed');
  });

  it("simplejwt: a pair is a yes that keeps the access token's user_id; 401 bad credentials", async () => {
    const access = await mintToken('jwt', 'access', {
      now: Date.now(),
      userId: 4242,
      lifetimes: POLICY.lifetimes,
      signer: new JwtSigner(await keySet(hmacJwtKey('some-other-systems-key-0123456789abcdef', 'HS256'))),
    });
    expect(simplejwt.upstream.readLogin(200, JSON.stringify({ refresh: 'r', access: access.value }))).toStrictEqual({
      kind: 'accepted',
      user: { id: 4242 },
    });
    expect(simplejwt.upstream.readLogin(200, '{"refresh":"r","access":"not.a.jwt"}')).toStrictEqual({ kind: 'accepted', user: {} });
    expect(simplejwt.upstream.readLogin(401, '{"detail":"No active account found with the given credentials"}')).toStrictEqual({
      kind: 'rejected',
    });
    expect(simplejwt.upstream.readLogin(400, '{"username":["This field is required."]}').kind).toBe('failed');
  });

  it('peb: form fields by identifier kind; status 200 (number or "200") with a token, error_id 11 bad credentials; check names the user', () => {
    expect(peb.upstream.login({ identifier: { by: 'email', value: 'someone@example.com' }, password: 'p w' })).toStrictEqual({
      contentType: 'application/x-www-form-urlencoded',
      body: 'email=someone%40example.com&password=p+w',
    });
    expect(peb.upstream.login(command).body).toBe('username=MOH-90008&password=Moh%40-90008');
    const token = 'ab'.repeat(64);
    expect(peb.upstream.readLogin(200, JSON.stringify({ status: '200', token }))).toStrictEqual({ kind: 'accepted', user: {}, token });
    expect(peb.upstream.readLogin(200, JSON.stringify({ status: 200, token, valid_till: 'x' })).kind).toBe('accepted');
    expect(peb.upstream.readLogin(401, '{"status":401,"message":"User with given credentials not found.","error_id":11}')).toStrictEqual({
      kind: 'rejected',
    });
    expect(peb.upstream.readLogin(200, '{"status":403,"message":"locked","error_id":18}')).toStrictEqual({
      kind: 'failed',
      detail: 'HTTP 200, error_id 18',
    });
    expect(peb.upstream.details?.path).toBe('/check');
    expect(peb.upstream.details?.request(token)).toStrictEqual({
      contentType: 'application/x-www-form-urlencoded',
      body: `token=${token}`,
    });
    expect(
      peb.upstream.details?.read(
        200,
        JSON.stringify({ status: 200, valid: true, user_id: 12, username: 'someone.example', email: 'a@b.c' }),
      ),
    ).toStrictEqual({ id: 12, username: 'someone.example', email: 'a@b.c' });
    expect(peb.upstream.details?.read(200, '{"status":401,"error_id":9}')).toBeNull();
  });
});
