import { describe, expect, it } from 'vitest';
import { issuedOutcome, ministryTokens, NO_STORE } from '../../test/fixtures.ts';
import type { FieldProblem, Problem } from '../outcome.ts';
import { DRF_FIELD_MESSAGES, SIMPLEJWT_MESSAGES, simplejwt, throttledDetail } from './simplejwt.ts';

const bad = (problem: Problem) => simplejwt.render({ kind: 'malformed', problem });

/** DRF's APIView puts `Allow` and `Vary: Accept` on every answer of a SimpleJWT view, whatever its status. */
const DRF = { ...NO_STORE, allow: 'POST, OPTIONS', vary: 'Accept' };

describe('simplejwt.parseLogin', () => {
  it('reads username and password, trimmed as DRF CharField does', () => {
    expect(simplejwt.parseLogin({ username: '  sampleUser ', password: '\tuserpassword123 ' })).toStrictEqual({
      ok: true,
      command: { identifier: { by: 'username', value: 'sampleUser' }, password: 'userpassword123' },
    });
  });

  it('accepts JSON numbers as strings', () => {
    expect(simplejwt.parseLogin({ username: 12345, password: 678.5 })).toStrictEqual({
      ok: true,
      command: { identifier: { by: 'username', value: '12345' }, password: '678.5' },
    });
  });

  it('reports both missing fields, username first', () => {
    expect(simplejwt.parseLogin({})).toStrictEqual({
      ok: false,
      problem: {
        reason: 'missing',
        fields: [
          { field: 'username', reason: 'missing' },
          { field: 'password', reason: 'missing' },
        ],
      },
    });
  });

  it('reports blank (after trim), null and wrong-type fields', () => {
    expect(simplejwt.parseLogin({ username: '   ', password: null })).toStrictEqual({
      ok: false,
      problem: {
        reason: 'blank',
        fields: [
          { field: 'username', reason: 'blank' },
          { field: 'password', reason: 'null' },
        ],
      },
    });
    expect(simplejwt.parseLogin({ username: true, password: { a: 1 } })).toStrictEqual({
      ok: false,
      problem: {
        reason: 'invalid_type',
        fields: [
          { field: 'username', reason: 'invalid_type' },
          { field: 'password', reason: 'invalid_type' },
        ],
      },
    });
  });
});

describe('simplejwt.render', () => {
  it('renders a login as {"refresh","access"} in that order', () => {
    const jwtTokens = ministryTokens();
    const a = simplejwt.render(issuedOutcome(jwtTokens));
    expect(a).toStrictEqual({
      status: 200,
      headers: DRF,
      body: '{"refresh":"542f00d0-4be3-4b47-940a-62e354b9c3e7","access":"d0816a77-af67-43fc-bad1-2edb2aae3dc5"}',
    });
  });

  it('answers bad credentials with 401, the library detail and WWW-Authenticate', () => {
    expect(simplejwt.render({ kind: 'bad_credentials' })).toStrictEqual({
      status: 401,
      headers: { ...DRF, 'www-authenticate': 'Bearer realm="api"' },
      body: '{"detail":"No active account found with the given credentials"}',
    });
  });

  it('answers locked and throttled with DRF Throttled (429, Retry-After)', () => {
    expect(simplejwt.render({ kind: 'throttled', retryAfter: 30 })).toStrictEqual({
      status: 429,
      headers: { ...DRF, 'retry-after': '30' },
      body: '{"detail":"Request was throttled. Expected available in 30 seconds."}',
    });
    expect(simplejwt.render({ kind: 'locked', retryAfter: 0.4 })).toStrictEqual({
      status: 429,
      headers: { ...DRF, 'retry-after': '1' },
      body: '{"detail":"Request was throttled. Expected available in 1 second."}',
    });
  });

  it('answers a wrong method with DRF MethodNotAllowed and Allow', () => {
    expect(simplejwt.render({ kind: 'method_not_allowed', method: 'GET', allow: simplejwt.allow })).toStrictEqual({
      status: 405,
      headers: DRF,
      body: '{"detail":"Method \\"GET\\" not allowed."}',
    });
  });

  it('answers unavailable with 503 and internal errors with 500', () => {
    expect(simplejwt.render({ kind: 'unavailable' })).toStrictEqual({
      status: 503,
      headers: DRF,
      body: '{"detail":"Service temporarily unavailable, try again later."}',
    });
    expect(simplejwt.render({ kind: 'internal_error' })).toStrictEqual({
      status: 500,
      headers: DRF,
      body: '{"detail":"A server error occurred."}',
    });
  });

  it('renders field problems as DRF field errors, every field in order', () => {
    expect(
      bad({
        reason: 'missing',
        fields: [
          { field: 'username', reason: 'missing' },
          { field: 'password', reason: 'missing' },
        ],
      }),
    ).toStrictEqual({
      status: 400,
      headers: DRF,
      body: '{"username":["This field is required."],"password":["This field is required."]}',
    });
    const messages: [Exclude<FieldProblem['reason'], 'prohibited_character'>, string][] = [
      ['missing', 'This field is required.'],
      ['blank', 'This field may not be blank.'],
      ['null', 'This field may not be null.'],
      ['invalid_type', 'Not a valid string.'],
      ['invalid_format', 'Enter a valid value.'],
      ['too_long', 'Ensure this field has no more than 254 characters.'],
    ];
    for (const [reason, message] of messages) {
      expect(DRF_FIELD_MESSAGES[reason]).toBe(message);
      expect(bad({ reason, fields: [{ field: 'password', reason }] })).toStrictEqual({
        status: 400,
        headers: DRF,
        body: JSON.stringify({ password: [message] }),
      });
    }
  });

  it("renders DRF's validator messages for NUL and lone surrogates, both when a value holds both", () => {
    expect(
      bad({
        reason: 'prohibited_character',
        fields: [
          { field: 'username', reason: 'prohibited_character', characters: [0, 0xdc00] },
          { field: 'password', reason: 'prohibited_character', characters: [0xd800] },
        ],
      }),
    ).toStrictEqual({
      status: 400,
      headers: DRF,
      body: JSON.stringify({
        username: ['Null characters are not allowed.', 'Surrogate characters are not allowed: U+DC00.'],
        password: ['Surrogate characters are not allowed: U+D800.'],
      }),
    });
  });

  it('reads username and password as DRF CharFields, whose validators refuse NUL and lone surrogates', () => {
    expect(simplejwt.parseLogin({ username: 'a\u0000', password: '\ud800' })).toStrictEqual({
      ok: false,
      problem: {
        reason: 'prohibited_character',
        fields: [
          { field: 'username', reason: 'prohibited_character', characters: [0] },
          { field: 'password', reason: 'prohibited_character', characters: [0xd800] },
        ],
      },
    });
    expect(simplejwt.parseToken('refresh', { refresh: 'a.\u0000.b' })).toStrictEqual({
      ok: false,
      problem: { reason: 'prohibited_character', fields: [{ field: 'refresh', reason: 'prohibited_character', characters: [0] }] },
    });
  });

  it('renders body problems with DRF parser and serializer shapes', () => {
    expect(bad({ reason: 'too_large' })).toStrictEqual({
      status: 413,
      headers: DRF,
      body: '{"detail":"Request body exceeded the maximum allowed size."}',
    });
    expect(bad({ reason: 'unsupported_media_type', contentType: 'text/plain' })).toStrictEqual({
      status: 415,
      headers: DRF,
      body: '{"detail":"Unsupported media type \\"text/plain\\" in request."}',
    });
    expect(bad({ reason: 'unsupported_media_type', contentType: '' })).toStrictEqual({
      status: 415,
      headers: DRF,
      body: '{"detail":"Unsupported media type \\"\\" in request."}',
    });
    expect(bad({ reason: 'bad_json', detail: 'Unexpected end of JSON input' })).toStrictEqual({
      status: 400,
      headers: DRF,
      body: '{"detail":"JSON parse error - Unexpected end of JSON input"}',
    });
    expect(bad({ reason: 'bad_encoding', detail: 'malformed multipart body' })).toStrictEqual({
      status: 400,
      headers: DRF,
      body: '{"detail":"Multipart form parse error - malformed multipart body"}',
    });
    for (const type of ['list', 'str', 'int']) {
      expect(bad({ reason: 'not_object', detail: type })).toStrictEqual({
        status: 400,
        headers: DRF,
        body: `{"non_field_errors":["Invalid data. Expected a dictionary, but got ${type}."]}`,
      });
    }
    // a JSON null body is "no data" to a DRF serializer
    expect(bad({ reason: 'not_object', detail: 'NoneType' })).toStrictEqual({
      status: 400,
      headers: DRF,
      body: '{"non_field_errors":["No data provided"]}',
    });
  });

  it('answers OPTIONS on each view with DRF SimpleMetadata: the serializer fields under actions.POST', () => {
    const options = simplejwt.options;
    if (options === undefined) throw new Error('simplejwt must answer OPTIONS');
    const field = (label: string) => ({ type: 'string', required: true, read_only: false, label });
    // as djangorestframework-simplejwt 5.2 on DRF 3.14 answers (test/conformance/simplejwt-reference.test.ts compares them)
    const views = {
      login: {
        name: 'Token Obtain Pair',
        description:
          'Takes a set of user credentials and returns an access and refresh JSON web\ntoken pair to prove the authentication of those credentials.',
        fields: { username: field('Username'), password: field('Password') },
      },
      refresh: {
        name: 'Token Refresh',
        description: 'Takes a refresh type JSON web token and returns an access type JSON web\ntoken if the refresh token is valid.',
        fields: { refresh: field('Refresh'), access: { type: 'string', required: false, read_only: true, label: 'Access' } },
      },
      verify: {
        name: 'Token Verify',
        description:
          "Takes a token and indicates if it is valid.  This view provides no\ninformation about a token's fitness for a particular use.",
        fields: { token: field('Token') },
      },
      blacklist: {
        name: 'Token Blacklist',
        description: 'Takes a token and blacklists it. Must be used with the\n`rest_framework_simplejwt.token_blacklist` app installed.',
        fields: { refresh: field('Refresh') },
      },
    } as const;
    for (const [view, { name, description, fields }] of Object.entries(views)) {
      expect([view, options(view as keyof typeof views)]).toStrictEqual([
        view,
        {
          status: 200,
          headers: DRF,
          body: JSON.stringify({
            name,
            description,
            renders: ['application/json', 'text/html'],
            parses: ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'],
            actions: { POST: fields },
          }),
        },
      ]);
    }
    expect(options().body).toBe(options('login').body);
  });
});

describe('simplejwt helpers', () => {
  it('words the throttle detail as DRF does', () => {
    expect(throttledDetail(1)).toBe('Request was throttled. Expected available in 1 second.');
    expect(throttledDetail(2)).toBe('Request was throttled. Expected available in 2 seconds.');
    expect(throttledDetail(59.01)).toBe('Request was throttled. Expected available in 60 seconds.');
    expect(throttledDetail(0)).toBe('Request was throttled. Expected available in 1 second.');
  });

  it('keeps the library message for bad credentials', () => {
    expect(SIMPLEJWT_MESSAGES.noActiveAccount).toBe('No active account found with the given credentials');
    expect(simplejwt.issues).toStrictEqual({ access: 'jwt', refresh: 'jwt' });
    expect([...simplejwt.allow]).toStrictEqual(['POST', 'OPTIONS']);
  });
});
