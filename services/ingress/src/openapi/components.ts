/** The document's fixed components: schemas, headers and responses no builder registers. */
import { DRF_HEADERS, MOH_CODES, OAUTH_ERRORS } from '@tessera/core';
import { closed, constant, PATTERNS, PLAIN_HEADERS, schema, str } from './build.ts';
import { drfDetail, JSON_PARSE_DETAIL } from './simplejwt.ts';
import type { HeaderObject, Json, JsonSchema, ResponseObject } from './types.ts';

export const SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  Uuid4: { type: 'string', pattern: PATTERNS.uuid4, description: 'A UUID v4, lowercase (moh/nehr access and refresh tokens).' },
  Hex128: { type: 'string', pattern: PATTERNS.hex128, description: '128 lowercase hex characters: 64 random bytes (PEB tokens).' },
  Jwt: {
    type: 'string',
    pattern: PATTERNS.jwt,
    description:
      'A JWT signed with TESSERA_JWT_SIGNING_KEY. With the default settings: HS256, header `{"alg":"HS256","typ":"JWT"}`, claims in the library\'s order: `token_type`, `exp`, `iat`, `jti` (uuid4 hex), `user_id` (integer). TESSERA_JWT_ALGORITHM, _AUDIENCE, _ISSUER and the claim-name settings change them as SimpleJWT\'s settings do (docs/simplejwt.md); keys made by `tessera keys` add their `kid` to the header.',
  },
  PebTimestamp: {
    type: 'string',
    pattern: PATTERNS.pebTime,
    description: 'UTC, ISO 8601, whole seconds, no offset: `2023-09-25T01:21:20`.',
  },

  MinistryLoginRequest: {
    type: 'object',
    required: ['username', 'password'],
    properties: { username: str('The username.', { minLength: 1 }), password: str('The password.', { minLength: 1 }) },
  },
  MinistryRefreshRequest: {
    type: 'object',
    required: ['refresh_token'],
    properties: { refresh_token: { ...schema('Uuid4'), description: 'A refresh token of `moh` or `nehr`.' } },
  },
  SimpleJwtLoginRequest: {
    type: 'object',
    required: ['username', 'password'],
    properties: {
      username: { type: ['string', 'number'], description: 'Trimmed; a JSON number is taken as its decimal text.' },
      password: { type: ['string', 'number'], description: 'Trimmed; a JSON number is taken as its decimal text.' },
    },
  },
  SimpleJwtRefreshRequest: { type: 'object', required: ['refresh'], properties: { refresh: schema('Jwt') } },
  SimpleJwtVerifyRequest: { type: 'object', required: ['token'], properties: { token: schema('Jwt') } },
  SimpleJwtSlidingRefreshRequest: { type: 'object', required: ['token'], properties: { token: schema('Jwt') } },
  PebLoginRequest: {
    type: 'object',
    required: ['password'],
    anyOf: [{ required: ['user'] }, { required: ['email'] }, { required: ['username'] }],
    properties: {
      user: str('An email (when it holds `@`) or a username (peb-reference.md).', { minLength: 1 }),
      email: str('An email address; trimmed and case-folded; `someone@example` is improperly formatted (error 8).'),
      username: str('A username (document 003).', { minLength: 1 }),
      password: str('The password, taken as sent.', { minLength: 1 }),
    },
  },
  PebTokenRequest: { type: 'object', required: ['token'], properties: { token: schema('Hex128') } },
  OAuthTokenRequest: {
    type: 'object',
    required: ['token'],
    properties: {
      token: str('Any token Tessera issued: UUID v4, 128 hex or JWT.', { minLength: 1 }),
      token_type_hint: {
        enum: ['access_token', 'refresh_token'],
        description: 'Accepted and not needed: the stored record says what a token is.',
      },
      client_id: str('Client credentials in the body, when no Authorization header is sent.'),
      client_secret: str('The secret `tessera clients add` printed.'),
    },
  },

  MinistryResult: closed(
    {
      access_token: schema('Uuid4'),
      token_type: constant('bearer'),
      refresh_token: schema('Uuid4'),
      expires_in: { type: 'integer', minimum: 0, description: 'Whole seconds left: 86399 right after issue with the default 86400 s.' },
      scope: { type: 'array', items: { type: 'string' }, description: 'The user\'s scopes; default `["", "read", "write"]`.' },
      firstLogin: { description: 'From the user record (any JSON value), `null` where unset.' },
      loggedInUser: { description: 'From the user record (any JSON value), `null` where unset.' },
      userDetails: { description: 'From the user record (any JSON value), `null` where unset.' },
      persCode: { type: ['string', 'null'] },
      userIntitutes: { type: 'array', description: 'Spelling of the documents kept; `[]` where unset.' },
      civilId: { type: ['string', 'null'] },
      userMobile: { type: ['string', 'null'] },
    },
    [],
    'Every field documents 000 and 001 list, in their order and spelling.',
  ),
  MinistryEnvelope: closed({
    version: constant('v2'),
    code: constant(MOH_CODES.ok.code),
    message: constant(MOH_CODES.ok.message),
    result: schema('MinistryResult'),
  }),
  MinistryError: closed(
    { version: constant('v2'), code: { type: 'integer' }, message: { type: 'string' }, result: { type: 'null' } },
    [],
    'A `moh` failure: HTTP 200, the envelope with `result: null`.',
  ),
  NehrError: closed({ code: { type: 'integer', description: 'The HTTP status.' }, message: { type: 'string' } }, [], 'A `nehr` failure.'),

  TokenPair: closed({ refresh: schema('Jwt'), access: schema('Jwt') }),
  TokenRefresh: closed({ access: schema('Jwt'), refresh: schema('Jwt') }, ['refresh']),
  SlidingToken: closed(
    { token: schema('Jwt') },
    [],
    'A SimpleJWT sliding token: `token_type` `sliding`, and after `jti` the claim TESSERA_JWT_SLIDING_REFRESH_EXP_CLAIM (`refresh_exp`) says until when it slides.',
  ),
  EmptyObject: { type: 'object', maxProperties: 0 },
  DrfDetail: closed({ detail: { type: 'string' } }),
  DrfTokenNotValid: closed({ detail: { type: 'string' }, code: constant('token_not_valid') }),
  DrfFieldErrors: {
    type: 'object',
    minProperties: 1,
    additionalProperties: { type: 'array', items: { type: 'string' } },
    description: 'DRF serializer errors: each problem field with its messages.',
  },
  DrfParseError: {
    ...drfDetail({
      anyOf: [{ type: 'string', pattern: JSON_PARSE_DETAIL }, constant('Multipart form parse error - malformed multipart body')],
    }),
    description:
      "DRF's answer to a body that does not parse; Python's json module message, never the body itself. JSON nested deeper than 64 levels gets `Nesting deeper than 64 levels: line L column C (char N)` at its 65th opening bracket, in the same form (Python would raise a RecursionError there, which DRF leaves uncaught).",
  },
  DrfNonFieldErrors: closed({ non_field_errors: { type: 'array', minItems: 1, maxItems: 1, items: { type: 'string' } } }),

  PebSuccess: closed({
    status: constant(200, 'An integer.'),
    token: schema('Hex128'),
    valid_till: schema('PebTimestamp'),
    valid_till_unix: { type: 'integer' },
  }),
  PebRenew: closed(
    {
      status: constant(200),
      token: schema('Hex128'),
      new_token: schema('Hex128'),
      valid_till: schema('PebTimestamp'),
      valid_till_unix: { type: 'integer' },
    },
    [],
    'The PEB docs name the new token `new_token` in prose and `token` in the example: Tessera sends both, equal.',
  ),
  PebCheck: closed({
    status: constant(200),
    valid: constant(true),
    valid_till: schema('PebTimestamp'),
    valid_till_unix: { type: 'integer' },
    user_id: { type: 'integer', minimum: 1 },
    username: { type: 'string' },
    email: { type: ['string', 'null'] },
  }),
  PebError: closed({ status: { type: 'integer' }, message: { type: 'string' }, error_id: { type: 'integer' } }),

  IntrospectionActive: closed(
    {
      active: constant(true),
      scope: { type: 'string', description: "The user's scopes, space-separated, empty scopes left out." },
      client_id: { enum: ['moh', 'nehr', 'simplejwt', 'peb'], description: 'The dialect that issued the token.' },
      username: { type: 'string', minLength: 1 },
      token_type: { enum: ['access_token', 'refresh_token'] },
      exp: { type: 'integer' },
      iat: { type: 'integer' },
      sub: { type: 'string', pattern: PATTERNS.seconds, description: 'The user id.' },
      jti: { type: 'string', pattern: '^[0-9a-f]{32}$', description: 'simplejwt tokens only.' },
    },
    ['jti'],
  ),
  IntrospectionInactive: closed({ active: constant(false) }, [], 'Exactly `{"active":false}`, whatever the reason.'),
  OAuthError: closed({
    error: { enum: [...new Set(Object.values(OAUTH_ERRORS).map((e) => e.error))] },
    error_description: { type: 'string' },
  }),

  Health: closed({ status: constant('ok') }),
  Jwks: closed(
    {
      keys: {
        type: 'array',
        items: {
          type: 'object',
          required: ['kty', 'alg', 'use'],
          properties: {
            kty: { enum: ['RSA', 'EC', 'OKP'] },
            alg: { enum: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] },
            use: constant('sig'),
            kid: { type: 'string' },
          },
        },
      },
    },
    [],
    'RFC 7517 key set: the public key of every asymmetric signing key not retired (none for HS*). A key without `kid` is the key of the settings, whose tokens carry none.',
  ),
  Ready: closed({ status: constant('ready'), redis: constant('ok') }),
  NotReady: closed({ status: constant('unavailable'), redis: constant('unreachable') }),
  NotFound: closed({ error: constant('not_found'), message: constant('No such route.') }),
  OpenApiDocument: { type: 'object', required: ['openapi', 'info', 'paths'], properties: { openapi: constant('3.1.0') } },
};

export const HEADERS: Readonly<Record<string, HeaderObject>> = {
  CacheControl: { description: 'Answers are never cached (RFC 6749 §5.1).', required: true, schema: constant('no-store') },
  Pragma: { description: 'For HTTP/1.0 caches (RFC 6749 §5.1).', required: true, schema: constant('no-cache') },
  AllowPost: { description: 'The one method the route serves.', required: true, schema: constant('POST') },
  AllowPostOptions: {
    description: "DRF's APIView: on every answer of a simplejwt view, whatever its status.",
    required: true,
    schema: constant(DRF_HEADERS.allow),
  },
  VaryAccept: {
    description: "DRF's content negotiation: on every answer of a simplejwt view, whatever its status.",
    required: true,
    schema: constant(DRF_HEADERS.vary),
  },
  RetryAfter: {
    description: 'Whole seconds until a retry may succeed (at least 1; an hour for a permanent lock).',
    required: true,
    schema: { type: 'string', pattern: PATTERNS.seconds },
  },
  WwwAuthenticateBearer: {
    description: "simplejwt's `get_authenticate_header` with the default AUTH_HEADER_TYPES.",
    required: true,
    schema: constant('Bearer realm="api"'),
  },
  WwwAuthenticateBasic: {
    description: 'RFC 6749 §5.2: the client should authenticate with HTTP Basic.',
    required: true,
    schema: constant('Basic realm="tessera"'),
  },
};

export const RESPONSES: Readonly<Record<string, ResponseObject>> = {
  NotFound: {
    description: 'No such route: the JSON 404, whatever the method.',
    headers: PLAIN_HEADERS,
    content: { 'application/json': { schema: schema('NotFound') } },
  },
  MovedByPrefix: {
    description:
      'Only when TESSERA_MOH_BASE is set: the route then lives under that prefix, and this default path is no route (the JSON 404).',
    headers: PLAIN_HEADERS,
    content: { 'application/json': { schema: schema('NotFound') } },
  },
};

export const SECURITY_SCHEMES: Readonly<Record<string, Json>> = {
  clientBasic: {
    type: 'http',
    scheme: 'basic',
    description:
      'A registered client: `client_id:client_secret`, each form-encoded (RFC 6749 §2.3.1). Body credentials are the alternative.',
  },
};
