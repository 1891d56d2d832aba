import { describe, expect, it } from 'vitest';
import { ALL_REASONS, issuedOutcome, makeUser, malformed, ministryTokens, NO_STORE, NOW } from '../../test/fixtures.ts';
import { MOH_CODES, moh } from './moh.ts';

/** Document 000's `result` keys, in the document's order and spelling. */
const DOCUMENT_000_RESULT_KEYS = [
  'access_token',
  'token_type',
  'refresh_token',
  'expires_in',
  'scope',
  'firstLogin',
  'loggedInUser',
  'userDetails',
  'persCode',
  'userIntitutes',
  'civilId',
  'userMobile',
];

const envelope = (code: number, message: string) => `{"version":"v2","code":${code},"message":"${message}","result":null}`;

describe('moh.parseLogin', () => {
  it('reads username and password as sent', () => {
    expect(moh.parseLogin({ username: 'MOH-90008', password: 'Moh@-90008' })).toStrictEqual({
      ok: true,
      command: { identifier: { by: 'username', value: 'MOH-90008' }, password: 'Moh@-90008' },
    });
  });

  it('does not trim', () => {
    expect(moh.parseLogin({ username: ' MOH-90008 ', password: ' pw ' })).toStrictEqual({
      ok: true,
      command: { identifier: { by: 'username', value: ' MOH-90008 ' }, password: ' pw ' },
    });
  });

  it('reports every missing field, in field order', () => {
    expect(moh.parseLogin({})).toStrictEqual({
      ok: false,
      problem: {
        reason: 'missing',
        fields: [
          { field: 'username', reason: 'missing' },
          { field: 'password', reason: 'missing' },
        ],
      },
    });
    expect(moh.parseLogin({ username: 'u' })).toStrictEqual({
      ok: false,
      problem: { reason: 'missing', fields: [{ field: 'password', reason: 'missing' }] },
    });
  });

  it('reports blank, null and wrong-type fields; numbers are not accepted', () => {
    expect(moh.parseLogin({ username: '  ', password: 'p' })).toStrictEqual({
      ok: false,
      problem: { reason: 'blank', fields: [{ field: 'username', reason: 'blank' }] },
    });
    expect(moh.parseLogin({ username: 90008, password: null })).toStrictEqual({
      ok: false,
      problem: {
        reason: 'invalid_type',
        fields: [
          { field: 'username', reason: 'invalid_type' },
          { field: 'password', reason: 'null' },
        ],
      },
    });
    expect(moh.parseLogin({ username: ['u'], password: 'p' })).toStrictEqual({
      ok: false,
      problem: { reason: 'invalid_type', fields: [{ field: 'username', reason: 'invalid_type' }] },
    });
  });
});

describe('moh.render', () => {
  it('renders a login as document 000 shows it, result keys in the document order', () => {
    const a = moh.render(issuedOutcome());
    expect(a.status).toBe(200);
    expect(a.headers).toStrictEqual(NO_STORE);
    expect(a.body).toBe(
      '{"version":"v2","code":0,"message":"1 Records found","result":{"access_token":"d0816a77-af67-43fc-bad1-2edb2aae3dc5",' +
        '"token_type":"bearer","refresh_token":"542f00d0-4be3-4b47-940a-62e354b9c3e7","expires_in":86399,"scope":["","read","write"],' +
        '"firstLogin":null,"loggedInUser":null,"userDetails":null,"persCode":"-90008","userIntitutes":[],"civilId":null,"userMobile":null}}',
    );
    const parsed = JSON.parse(a.body) as { result: Record<string, unknown> };
    expect(Object.keys(parsed)).toStrictEqual(['version', 'code', 'message', 'result']);
    expect(Object.keys(parsed.result)).toStrictEqual(DOCUMENT_000_RESULT_KEYS);
  });

  it('counts expires_in down from 86399 as time passes', () => {
    const tokens = ministryTokens();
    const issuedAt = tokens.access.issuedAt;
    const expiresIn = (now: number) =>
      (JSON.parse(moh.render(issuedOutcome(tokens, makeUser(), now)).body) as { result: { expires_in: number } }).result.expires_in;
    expect(expiresIn(issuedAt)).toBe(86_399);
    expect(expiresIn(NOW)).toBe(86_399);
    expect(expiresIn(issuedAt + 999)).toBe(86_399);
    expect(expiresIn(issuedAt + 3_600_000)).toBe(82_799);
  });

  it('keeps HTTP 200 and the envelope with result null for every failure', () => {
    const cases: [Parameters<typeof moh.render>[0], number, string][] = [
      [{ kind: 'bad_credentials' }, 3, 'Bad Credentials'],
      [{ kind: 'locked', retryAfter: 900 }, 4, 'Account Locked'],
      [{ kind: 'throttled', retryAfter: 60 }, 5, 'Too Many Requests'],
      [{ kind: 'unavailable' }, 7, 'Service Unavailable'],
      [{ kind: 'internal_error' }, 8, 'Internal Server Error'],
    ];
    for (const [outcome, code, message] of cases) {
      expect(moh.render(outcome)).toStrictEqual({ status: 200, headers: NO_STORE, body: envelope(code, message) });
    }
  });

  it('answers bad credentials exactly as document 000 does', () => {
    expect(JSON.parse(moh.render({ kind: 'bad_credentials' }).body)).toStrictEqual({
      version: 'v2',
      code: 3,
      message: 'Bad Credentials',
      result: null,
    });
  });

  it('renders every malformed reason as code 1 Invalid Request', () => {
    for (const reason of ALL_REASONS) {
      expect([reason, moh.render(malformed(reason))]).toStrictEqual([
        reason,
        { status: 200, headers: NO_STORE, body: envelope(1, 'Invalid Request') },
      ]);
    }
  });

  it('renders a wrong method as code 6 with Allow', () => {
    expect(moh.render({ kind: 'method_not_allowed', method: 'GET', allow: moh.allow })).toStrictEqual({
      status: 200,
      headers: { ...NO_STORE, allow: 'POST' },
      body: envelope(6, 'Method Not Allowed'),
    });
  });

  it('documents distinct codes, 0 and 3 as in document 000', () => {
    expect(MOH_CODES.ok).toStrictEqual({ code: 0, message: '1 Records found' });
    expect(MOH_CODES.badCredentials).toStrictEqual({ code: 3, message: 'Bad Credentials' });
    const codes = Object.values(MOH_CODES).map((c) => c.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('issues a UUID pair and answers POST only', () => {
    expect(moh.name).toBe('moh');
    expect(moh.issues).toStrictEqual({ access: 'uuid', refresh: 'uuid' });
    expect([...moh.allow]).toStrictEqual(['POST']);
    expect(moh.options).toBeUndefined();
  });
});
