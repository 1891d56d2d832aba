import { describe, expect, it } from 'vitest';
import { ALL_REASONS, issuedOutcome, malformed, NO_STORE, NOW } from '../../test/fixtures.ts';
import type { Outcome, ProblemReason } from '../outcome.ts';
import type { IssuedTokens } from '../types.ts';
import { createPeb, PEB_ERRORS, pebTimestamp } from './peb.ts';

const peb = createPeb({ mirrorStatus: false });
const mirrored = createPeb({ mirrorStatus: true });
const PW = 'Some3xtraLong4nd5afe9assword';
const TOKEN =
  '8aca2602792aec6f11a67206531fb7d7f0dff59413145e6973c45001d0087b42d11bc645413aeff63a42391a39145a591a92200d560195e53b478584fdae231a';

function pebTokens(): IssuedTokens {
  const issuedAt = Math.floor(NOW / 1000) * 1000;
  return {
    access: { value: TOKEN, kind: 'access', format: 'hex128', lifetime: 2_592_000, issuedAt, expiresAt: issuedAt + 2_592_000_000 },
    family: 'family-1',
  };
}

const err = (status: number, message: string, id: number) => `{"status":${status},"message":"${message}","error_id":${id}}`;

describe('peb.parseLogin', () => {
  it('reads email (document 003), case-folded and trimmed', () => {
    expect(peb.parseLogin({ email: ' Someone@Example.COM ', password: PW })).toStrictEqual({
      ok: true,
      command: { identifier: { by: 'email', value: 'someone@example.com' }, password: PW },
    });
  });

  it('reads username as a username, even with an @', () => {
    expect(peb.parseLogin({ username: 'someone.example', password: PW })).toStrictEqual({
      ok: true,
      command: { identifier: { by: 'username', value: 'someone.example' }, password: PW },
    });
    expect(peb.parseLogin({ username: 'Someone@Example.com', password: PW })).toStrictEqual({
      ok: true,
      command: { identifier: { by: 'username', value: 'Someone@Example.com' }, password: PW },
    });
  });

  it('reads user as an email when it holds an @, else as a username', () => {
    expect(peb.parseLogin({ user: 'SomeOne@example.com', password: PW })).toStrictEqual({
      ok: true,
      command: { identifier: { by: 'email', value: 'someone@example.com' }, password: PW },
    });
    expect(peb.parseLogin({ user: 'someone.example', password: PW })).toStrictEqual({
      ok: true,
      command: { identifier: { by: 'username', value: 'someone.example' }, password: PW },
    });
  });

  it('prefers user, then email, then username', () => {
    expect(peb.parseLogin({ username: 'u', email: 'e@example.com', user: 'x@example.com', password: PW })).toStrictEqual({
      ok: true,
      command: { identifier: { by: 'email', value: 'x@example.com' }, password: PW },
    });
    expect(peb.parseLogin({ username: 'u', email: 'e@example.com', password: PW })).toStrictEqual({
      ok: true,
      command: { identifier: { by: 'email', value: 'e@example.com' }, password: PW },
    });
  });

  it('reports an improperly formatted email (document 003: someone@example)', () => {
    expect(peb.parseLogin({ email: 'someone@example', password: '7h3se94ssw0rds4re8ad' })).toStrictEqual({
      ok: false,
      problem: { reason: 'invalid_format', fields: [{ field: 'email', reason: 'invalid_format' }] },
    });
    expect(peb.parseLogin({ user: 'someone@example', password: PW })).toStrictEqual({
      ok: false,
      problem: { reason: 'invalid_format', fields: [{ field: 'user', reason: 'invalid_format' }] },
    });
  });

  it('reports a missing password (document 003) and a missing identifier', () => {
    expect(peb.parseLogin({ email: 'someone@example.com' })).toStrictEqual({
      ok: false,
      problem: { reason: 'missing', fields: [{ field: 'password', reason: 'missing' }] },
    });
    expect(peb.parseLogin({ password: PW })).toStrictEqual({
      ok: false,
      problem: { reason: 'missing', fields: [{ field: 'email', reason: 'missing' }] },
    });
    expect(peb.parseLogin({})).toStrictEqual({
      ok: false,
      problem: {
        reason: 'missing',
        fields: [
          { field: 'email', reason: 'missing' },
          { field: 'password', reason: 'missing' },
        ],
      },
    });
  });

  it('ranks missing before empty before malformed', () => {
    expect(peb.parseLogin({ email: '' })).toStrictEqual({
      ok: false,
      problem: {
        reason: 'missing',
        fields: [
          { field: 'password', reason: 'missing' },
          { field: 'email', reason: 'blank' },
        ],
      },
    });
    expect(peb.parseLogin({ email: 'someone@example' })).toStrictEqual({
      ok: false,
      problem: {
        reason: 'missing',
        fields: [
          { field: 'password', reason: 'missing' },
          { field: 'email', reason: 'invalid_format' },
        ],
      },
    });
    expect(peb.parseLogin({ email: 'someone@example', password: ' ' })).toStrictEqual({
      ok: false,
      problem: {
        reason: 'blank',
        fields: [
          { field: 'password', reason: 'blank' },
          { field: 'email', reason: 'invalid_format' },
        ],
      },
    });
  });

  it('reports blank, null and wrong-type values', () => {
    expect(peb.parseLogin({ email: '', password: PW })).toStrictEqual({
      ok: false,
      problem: { reason: 'blank', fields: [{ field: 'email', reason: 'blank' }] },
    });
    expect(peb.parseLogin({ username: 7, password: PW })).toStrictEqual({
      ok: false,
      problem: { reason: 'invalid_type', fields: [{ field: 'username', reason: 'invalid_type' }] },
    });
    expect(peb.parseLogin({ email: 'someone@example.com', password: null })).toStrictEqual({
      ok: false,
      problem: { reason: 'null', fields: [{ field: 'password', reason: 'null' }] },
    });
  });
});

describe('peb.render (default: HTTP 200 always)', () => {
  it('renders a login with an integer status, the token and its expiry in UTC', () => {
    expect(peb.render(issuedOutcome(pebTokens()))).toStrictEqual({
      status: 200,
      headers: NO_STORE,
      body: `{"status":200,"token":"${TOKEN}","valid_till":"2023-10-25T01:21:20","valid_till_unix":1698196880}`,
    });
  });

  it('uses the three messages of document 003 word for word', () => {
    expect(peb.render(malformed('invalid_format', 'email')).body).toBe(
      '{"status":400,"message":"One of fields is improperly formatted.","error_id":8}',
    );
    expect(peb.render(malformed('missing', 'password')).body).toBe(
      '{"status":400,"message":"One of required fields is missing.","error_id":6}',
    );
    expect(peb.render({ kind: 'method_not_allowed', method: 'GET', allow: ['POST'] }).body).toBe(
      '{"status":405,"message":"Only POST method is allowed.","error_id":5}',
    );
  });

  it('keeps HTTP 200 for every failure, with the error in the body', () => {
    const cases: [Outcome, string, Record<string, string>][] = [
      [{ kind: 'bad_credentials' }, err(401, 'User with given credentials not found.', 11), NO_STORE],
      [{ kind: 'locked', retryAfter: 900 }, err(403, 'User is locked out after repeated failed logins.', 18), NO_STORE],
      [{ kind: 'throttled', retryAfter: 60 }, err(429, 'Too many login attempts from this client.', 18), NO_STORE],
      [
        { kind: 'method_not_allowed', method: 'GET', allow: ['POST'] },
        err(405, 'Only POST method is allowed.', 5),
        { ...NO_STORE, allow: 'POST' },
      ],
      [{ kind: 'unavailable' }, err(503, 'API is temporary unavailable.', 3), NO_STORE],
      [{ kind: 'internal_error' }, err(500, 'Unspecified error.', 4), NO_STORE],
    ];
    for (const [outcome, body, headers] of cases) {
      expect([outcome.kind, peb.render(outcome)]).toStrictEqual([outcome.kind, { status: 200, headers, body }]);
    }
  });

  it('maps malformed reasons to error ids 6, 7 and 8 (415/413 in the body for media type and size)', () => {
    const id: Record<ProblemReason, string> = {
      missing: err(400, 'One of required fields is missing.', 6),
      blank: err(400, 'One of required fields is empty.', 7),
      null: err(400, 'One of fields is improperly formatted.', 8),
      invalid_type: err(400, 'One of fields is improperly formatted.', 8),
      invalid_format: err(400, 'One of fields is improperly formatted.', 8),
      too_long: err(400, 'One of fields is improperly formatted.', 8),
      prohibited_character: err(400, 'One of fields is improperly formatted.', 8),
      not_object: err(400, 'One of fields is improperly formatted.', 8),
      bad_json: err(400, 'One of fields is improperly formatted.', 8),
      bad_encoding: err(400, 'One of fields is improperly formatted.', 8),
      unsupported_media_type: err(415, 'One of fields is improperly formatted.', 8),
      too_large: err(413, 'One of fields is improperly formatted.', 8),
    };
    for (const reason of ALL_REASONS) {
      expect([reason, peb.render(malformed(reason))]).toStrictEqual([reason, { status: 200, headers: NO_STORE, body: id[reason] }]);
    }
  });
});

describe('peb.render with mirrorStatus', () => {
  it('sends the body status as the HTTP status, with Retry-After next to 429 and 403', () => {
    const outcomes: Outcome[] = [
      issuedOutcome(pebTokens()),
      { kind: 'bad_credentials' },
      { kind: 'locked', retryAfter: 900 },
      { kind: 'throttled', retryAfter: 59.5 },
      { kind: 'method_not_allowed', method: 'DELETE', allow: ['POST'] },
      { kind: 'unavailable' },
      { kind: 'internal_error' },
      ...ALL_REASONS.map((r) => malformed(r)),
    ];
    for (const outcome of outcomes) {
      const a = mirrored.render(outcome);
      const plain = peb.render(outcome);
      expect(a.body).toBe(plain.body);
      expect(a.status).toBe((JSON.parse(a.body) as { status: number }).status);
    }
    expect(mirrored.render({ kind: 'locked', retryAfter: 900 }).headers).toStrictEqual({ ...NO_STORE, 'retry-after': '900' });
    expect(mirrored.render({ kind: 'throttled', retryAfter: 59.5 }).headers).toStrictEqual({ ...NO_STORE, 'retry-after': '60' });
    expect(mirrored.render({ kind: 'method_not_allowed', method: 'GET', allow: ['POST'] })).toStrictEqual({
      status: 405,
      headers: { ...NO_STORE, allow: 'POST' },
      body: err(405, 'Only POST method is allowed.', 5),
    });
    expect(mirrored.render({ kind: 'bad_credentials' }).status).toBe(401);
    expect(mirrored.render({ kind: 'bad_credentials' }).headers).toStrictEqual(NO_STORE);
    expect(mirrored.render(issuedOutcome(pebTokens())).headers).toStrictEqual(NO_STORE);
  });
});

describe('peb helpers', () => {
  it('formats valid_till as UTC ISO 8601 without fraction or offset', () => {
    expect(pebTimestamp(Date.UTC(2023, 8, 25, 1, 21, 20, 999))).toBe('2023-09-25T01:21:20');
    expect(pebTimestamp(0)).toBe('1970-01-01T00:00:00');
  });

  it('uses the published error ids', () => {
    const ids = Object.fromEntries(Object.entries(PEB_ERRORS).map(([k, v]) => [k, v.id]));
    expect([ids.unavailable, ids.unspecified, ids.methodNotAllowed, ids.missing, ids.empty, ids.badFormat]).toStrictEqual([
      3, 4, 5, 6, 7, 8,
    ]);
    expect([ids.badCredentials, ids.locked, ids.throttled]).toStrictEqual([11, 18, 18]);
    const published = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 18];
    for (const [key, id] of Object.entries(ids)) expect([key, published.includes(id as number)]).toStrictEqual([key, true]);
    expect(peb.issues).toStrictEqual({ access: 'hex128' });
  });
});
