import { describe, expect, it } from 'vitest';
import { issuedOutcome, malformed, NO_STORE } from '../../test/fixtures.ts';
import { moh } from './moh.ts';
import { NEHR_MESSAGES, nehr } from './nehr.ts';

const failure = (code: number, message: string) => JSON.stringify({ code, message });

describe('nehr.parseLogin', () => {
  it('reads username and password like moh', () => {
    for (const fields of [{ username: 'MOH-90008', password: 'Moh@-90008' }, {}, { username: '', password: 1 }, { username: null }]) {
      expect(nehr.parseLogin(fields)).toStrictEqual(moh.parseLogin(fields));
    }
    expect(nehr.parseLogin({ username: 'MOH-90008', password: 'Moh@-90008' })).toStrictEqual({
      ok: true,
      command: { identifier: { by: 'username', value: 'MOH-90008' }, password: 'Moh@-90008' },
    });
    expect(nehr.parseLogin({ username: '', password: 1 })).toStrictEqual({
      ok: false,
      problem: {
        reason: 'blank',
        fields: [
          { field: 'username', reason: 'blank' },
          { field: 'password', reason: 'invalid_type' },
        ],
      },
    });
  });
});

describe('nehr.render', () => {
  it('renders a login in the same envelope as moh (document 001 = document 000)', () => {
    const a = nehr.render(issuedOutcome());
    expect(a).toStrictEqual(moh.render(issuedOutcome()));
    expect(a.status).toBe(200);
    expect(a.headers).toStrictEqual(NO_STORE);
    expect(JSON.parse(a.body).result.expires_in).toBe(86_399);
  });

  it('answers 401 and 500 with the exact messages of document 001', () => {
    expect(nehr.render({ kind: 'bad_credentials' })).toStrictEqual({
      status: 401,
      headers: NO_STORE,
      body: '{"code":401,"message":"Unauthorized: Access is denied due to invalid credentials."}',
    });
    expect(nehr.render({ kind: 'internal_error' })).toStrictEqual({
      status: 500,
      headers: NO_STORE,
      body: '{"code":500,"message":"Internal Server Error: Unable to process the request due to server error."}',
    });
  });

  it('answers locked and throttled with 429 and Retry-After in whole seconds', () => {
    expect(nehr.render({ kind: 'locked', retryAfter: 900 })).toStrictEqual({
      status: 429,
      headers: { ...NO_STORE, 'retry-after': '900' },
      body: failure(429, 'Too Many Requests: The account is temporarily locked after repeated failed logins.'),
    });
    expect(nehr.render({ kind: 'throttled', retryAfter: 1.2 })).toStrictEqual({
      status: 429,
      headers: { ...NO_STORE, 'retry-after': '2' },
      body: failure(429, 'Too Many Requests: Too many login attempts from this client.'),
    });
  });

  it('answers unavailable with 503 and a wrong method with 405 and Allow', () => {
    expect(nehr.render({ kind: 'unavailable' })).toStrictEqual({
      status: 503,
      headers: NO_STORE,
      body: failure(503, 'Service Unavailable: The service is temporarily unable to process the request.'),
    });
    expect(nehr.render({ kind: 'method_not_allowed', method: 'PUT', allow: nehr.allow })).toStrictEqual({
      status: 405,
      headers: { ...NO_STORE, allow: 'POST' },
      body: failure(405, 'Method Not Allowed: Only POST is allowed.'),
    });
  });

  it('answers every malformed reason with 400 and a message naming the problem', () => {
    const expected: [Parameters<typeof malformed>[0], string][] = [
      ['missing', "Bad Request: Required field 'password' is missing."],
      ['blank', "Bad Request: Required field 'password' is empty."],
      ['null', "Bad Request: Field 'password' must be a string."],
      ['invalid_type', "Bad Request: Field 'password' must be a string."],
      ['invalid_format', "Bad Request: Field 'password' must be a string."],
      ['too_long', "Bad Request: Field 'password' is longer than 254 characters."],
      ['not_object', 'Bad Request: The request body could not be parsed.'],
      ['bad_json', 'Bad Request: The request body could not be parsed.'],
      ['bad_encoding', 'Bad Request: The request body could not be parsed.'],
      ['unsupported_media_type', 'Bad Request: Unsupported content type.'],
      ['too_large', 'Bad Request: The request body is too large.'],
    ];
    for (const [reason, message] of expected) {
      expect([reason, nehr.render(malformed(reason, 'password'))]).toStrictEqual([
        reason,
        { status: 400, headers: NO_STORE, body: failure(400, message) },
      ]);
    }
  });

  it('names the first field problem only', () => {
    const a = nehr.render({
      kind: 'malformed',
      problem: {
        reason: 'missing',
        fields: [
          { field: 'username', reason: 'missing' },
          { field: 'password', reason: 'missing' },
        ],
      },
    });
    expect(a.body).toBe(failure(400, "Bad Request: Required field 'username' is missing."));
  });

  it('keeps its messages in one table', () => {
    expect(NEHR_MESSAGES.unauthorized).toBe('Unauthorized: Access is denied due to invalid credentials.');
    expect(NEHR_MESSAGES.internalError).toBe('Internal Server Error: Unable to process the request due to server error.');
    expect(nehr.issues).toStrictEqual({ access: 'uuid', refresh: 'uuid' });
    expect([...nehr.allow]).toStrictEqual(['POST']);
  });
});
