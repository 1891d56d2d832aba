/**
 * The OpenAPI 3.1 description of every route the ingress answers and of every answer it gives,
 * served as `GET /openapi.json`. It is the wire contract: the strings below are written out, not
 * imported from the codecs, so that a codec change shows up as a change of this document, and the
 * end-to-end suites validate every answer they receive against it.
 *
 * Where the four source documents are silent, Tessera's decisions are written in `description`
 * fields (CONTRACT.md asks for that). Plain data, no imports: it loads on Node and on Deno.
 */

// ---- the shape of the document (the part of OpenAPI 3.1 this file uses) ----

export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };

/** A JSON Schema 2020-12 object (OpenAPI 3.1's schema dialect). */
export type JsonSchema = { readonly [keyword: string]: Json };

export interface ReferenceObject {
  readonly $ref: string;
}

export interface HeaderObject {
  readonly description: string;
  readonly required: boolean;
  readonly schema: JsonSchema;
}

export interface MediaTypeObject {
  readonly schema: JsonSchema;
}

export interface ResponseObject {
  readonly description: string;
  readonly headers?: Readonly<Record<string, HeaderObject | ReferenceObject>>;
  /** Absent when the answer has no body. */
  readonly content?: Readonly<Record<string, MediaTypeObject>>;
}

export interface RequestBodyObject {
  readonly description: string;
  readonly required: boolean;
  readonly content: Readonly<Record<string, MediaTypeObject>>;
}

export interface OperationObject {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
  readonly requestBody?: RequestBodyObject | ReferenceObject;
  readonly responses: Readonly<Record<string, ResponseObject | ReferenceObject>>;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export type PathItemObject = {
  readonly summary?: string;
  readonly description?: string;
  /**
   * Tessera extension: the setting that moves this route under a path prefix. The key of the path
   * item is the default path (empty prefix).
   */
  readonly 'x-tessera-prefix-setting'?: string;
} & { readonly [M in HttpMethod]?: OperationObject };

export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly servers: readonly { readonly url: string; readonly description: string }[];
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  readonly paths: Readonly<Record<string, PathItemObject>>;
  readonly components: {
    readonly schemas: Readonly<Record<string, JsonSchema>>;
    readonly headers: Readonly<Record<string, HeaderObject>>;
    readonly responses: Readonly<Record<string, ResponseObject>>;
    readonly requestBodies: Readonly<Record<string, RequestBodyObject>>;
    readonly securitySchemes: Readonly<Record<string, Json>>;
  };
}

// ---- small builders ----

const schema = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const header = (name: string): ReferenceObject => ({ $ref: `#/components/headers/${name}` });
const response = (name: string): ReferenceObject => ({ $ref: `#/components/responses/${name}` });

/** An object with exactly these properties; all required unless listed in `optional`. */
function closed(properties: Record<string, JsonSchema>, optional: readonly string[] = [], description?: string): JsonSchema {
  const required = Object.keys(properties).filter((k) => !optional.includes(k));
  return { type: 'object', ...(description === undefined ? {} : { description }), additionalProperties: false, required, properties };
}

const constant = (value: Json, description?: string): JsonSchema =>
  description === undefined ? { const: value } : { const: value, description };
const oneOf = (...schemas: JsonSchema[]): JsonSchema => ({ oneOf: schemas });
/** A component narrowed for one answer: the shared shape, plus what this route fixes. */
const narrowed = (base: string, narrowing: JsonSchema): JsonSchema => ({ allOf: [schema(base), narrowing] });
const str = (description: string, extra: JsonSchema = {}): JsonSchema => ({ type: 'string', description, ...extra });

type HeaderMap = Record<string, HeaderObject | ReferenceObject>;

/** Every token-route answer (and every /oauth answer) carries these (RFC 6749 §5.1). */
const TOKEN_HEADERS: HeaderMap = { 'Cache-Control': header('CacheControl'), Pragma: header('Pragma') };
/** Health, readiness and the JSON 404 send `Cache-Control: no-store` only. */
const PLAIN_HEADERS: HeaderMap = { 'Cache-Control': header('CacheControl') };

function json(description: string, body: JsonSchema, extra: HeaderMap = {}, base: HeaderMap = TOKEN_HEADERS): ResponseObject {
  return { description, headers: { ...base, ...extra }, content: { 'application/json': { schema: body } } };
}

/**
 * Parts used by more than one operation are kept once, in `components`, and referenced: the
 * builders below register them here as they go.
 */
const SHARED_SCHEMAS: Record<string, JsonSchema> = {};
const SHARED_RESPONSES: Record<string, ResponseObject> = {};
const SHARED_BODIES: Record<string, RequestBodyObject> = {};

function sharedSchema(name: string, value: JsonSchema): JsonSchema {
  SHARED_SCHEMAS[name] = value;
  return schema(name);
}

function sharedResponse(name: string, value: ResponseObject): ReferenceObject {
  SHARED_RESPONSES[name] = value;
  return response(name);
}

function op(
  operationId: string,
  tag: string,
  summary: string,
  responses: Record<string, ResponseObject | ReferenceObject>,
  more: Partial<Pick<OperationObject, 'description' | 'requestBody' | 'security'>> = {},
): OperationObject {
  return { operationId, summary, tags: [tag], ...more, responses: { ...responses, '431': HEAD_TOO_LARGE } };
}

/** Every operation's: the HTTP layer refuses a request head it will not read (docs/security.md, HTTP parsing). */
const HEAD_TOO_LARGE = sharedResponse('HeadTooLarge', {
  description:
    'The HTTP layer, before any route: a request head over 16 KiB or of more than 100 header lines; no body, and the connection closes (docs/security.md, "HTTP parsing").',
});

/**
 * Operations for every method but POST (and OPTIONS where the dialect answers it itself): each
 * gets the dialect's "method not allowed" answer (a HEAD answer carries its headers only).
 */
function otherMethods(
  idBase: string,
  tag: string,
  responses: Record<string, ResponseObject | ReferenceObject>,
  skip: readonly HttpMethod[] = [],
): { [M in HttpMethod]?: OperationObject } {
  const out: { [M in HttpMethod]?: OperationObject } = {};
  for (const m of HTTP_METHODS) {
    if (m === 'post' || skip.includes(m)) continue;
    out[m] = op(`${idBase}${m[0]?.toUpperCase()}${m.slice(1)}`, tag, `${m.toUpperCase()}: refused, only POST is served`, responses);
  }
  return out;
}

const BODY_RULES =
  'Sent as `application/json`, `application/x-www-form-urlencoded` or `multipart/form-data`, UTF-8, at most TESSERA_BODY_LIMIT bytes (see the body rules in the API description).';

/** The three body encodings every dialect reads (CONTRACT.md), with one field schema; kept in components. */
function formBody(name: string, description: string, fields: JsonSchema): ReferenceObject {
  SHARED_BODIES[name] = {
    description: `${description} ${BODY_RULES}`,
    required: true,
    content: {
      'application/json': { schema: fields },
      'application/x-www-form-urlencoded': { schema: fields },
      'multipart/form-data': { schema: fields },
    },
  };
  return { $ref: `#/components/requestBodies/${name}` };
}

// ---- patterns of the tokens Tessera issues ----

const UUID_V4 = '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$';
const HEX128 = '^[0-9a-f]{128}$';
/** Header `{"alg":"HS256","typ":"JWT"}`, claims starting with `token_type`, a 32-byte HS256 signature. */
const JWT = '^eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\\.eyJ0b2tlbl90eXBlIjoi[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$';
const PEB_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}$';
const SECONDS = '^[1-9][0-9]*$';

// ---- moh (document 000) ----

type MohCode = 1 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

/** `moh` failure codes: document 000 fixes 3; the others are Tessera's. */
const MOH: Readonly<Record<MohCode, readonly [schemaName: string, message: string, when: string]>> = {
  1: [
    'MohInvalidRequest',
    'Invalid Request',
    "Tessera's code: the request could not be read — a field missing, blank, null or not a string, a body that is not a JSON object or a form, an unsupported media type, or a body over the limit.",
  ],
  3: ['MohBadCredentials', 'Bad Credentials', 'Document 000: unknown user, wrong password or disabled account, byte-identical answers.'],
  4: ['MohAccountLocked', 'Account Locked', "Tessera's code: the identifier is locked after repeated failed logins (TESSERA_LOCKOUT_*)."],
  5: ['MohTooManyRequests', 'Too Many Requests', "Tessera's code: the client address exceeded TESSERA_LOGIN_RATE_LIMIT."],
  6: ['MohMethodNotAllowed', 'Method Not Allowed', "Tessera's code: any method but POST; the answer carries `Allow: POST`."],
  7: [
    'MohServiceUnavailable',
    'Service Unavailable',
    "Tessera's code: Redis does not answer, or no argon2 slot freed up within TESSERA_ARGON2_MAX_WAIT_MS.",
  ],
  8: ['MohInternalServerError', 'Internal Server Error', "Tessera's code: an unexpected error."],
  9: [
    'MohInvalidToken',
    'Invalid Token',
    "Tessera's code: the refresh token is unknown, expired, revoked, not a refresh token, or already used (a used one presented again also revokes its whole login family).",
  ],
};

/** The `moh` failure envelopes of these codes, one component schema per code. */
function mohFailure(codes: readonly MohCode[]): JsonSchema {
  const variants = codes.map((code) => {
    const [name, message, when] = MOH[code];
    return sharedSchema(name, {
      ...narrowed('MinistryError', { properties: { code: constant(code), message: constant(message) } }),
      title: `code ${code}`,
      description: when,
    });
  });
  return variants.length === 1 ? (variants[0] as JsonSchema) : oneOf(...variants);
}

const MOVED: ReferenceObject = response('MovedByPrefix');

function mohItem(action: 'login' | 'refresh'): PathItemObject {
  const login = action === 'login';
  const id = login ? 'mohGetUserToken' : 'mohRefreshUserToken';
  const failures: MohCode[] = login ? [1, 3, 4, 5, 7, 8] : [1, 7, 8, 9];
  return {
    summary: login ? 'moh login (document 000)' : 'moh refresh (Tessera)',
    description:
      "Shown at its default path. `TESSERA_MOH_BASE` (document 000's `{baseurl}`, default empty) prefixes it, e.g. `/moh/getUserToken`; the default path then answers the JSON 404. HTTP status is always 200 (or 404 as said): the outcome is the envelope's `code`.",
    'x-tessera-prefix-setting': 'TESSERA_MOH_BASE',
    post: op(
      id,
      'moh',
      login ? 'Trades username and password for a UUID v4 access + refresh pair' : 'Trades a refresh token for a new pair',
      {
        '200': json(
          'Always HTTP 200. Success: the v2 envelope with code 0. Failure: the envelope with `result: null` and the code of the outcome.',
          oneOf(schema('MinistryEnvelope'), mohFailure(failures)),
        ),
        '404': MOVED,
      },
      {
        requestBody: formBody(
          login ? 'MohLogin' : 'MohRefresh',
          login
            ? 'Document 000: `username` and `password`, strings, taken as sent (not trimmed; a JSON number is the wrong type).'
            : 'Tessera: `refresh_token`, the refresh token of an earlier answer of `moh` or `nehr`. Refresh tokens are single-use.',
          schema(login ? 'MinistryLoginRequest' : 'MinistryRefreshRequest'),
        ),
        ...(login
          ? {}
          : {
              description:
                "Tessera's route (document 000 names none). The refresh token is single-use: trading it marks it used; presenting a used one again (a leaked copy) revokes every token descended from that login and answers code 9.",
            }),
      },
    ),
    ...otherMethods(id, 'moh', {
      '200': sharedResponse(
        'MohWrongMethod',
        json('HTTP 200, code 6, with `Allow: POST`.', mohFailure([6]), { Allow: header('AllowPost') }),
      ),
      '404': MOVED,
    }),
  };
}

// ---- nehr (document 001) ----

const NEHR = {
  unauthorized: 'Unauthorized: Access is denied due to invalid credentials.',
  internalError: 'Internal Server Error: Unable to process the request due to server error.',
  methodNotAllowed: 'Method Not Allowed: Only POST is allowed.',
  locked: 'Too Many Requests: The account is temporarily locked after repeated failed logins.',
  throttled: 'Too Many Requests: Too many login attempts from this client.',
  unavailable: 'Service Unavailable: The service is temporarily unable to process the request.',
  tooLarge: 'Bad Request: The request body is too large.',
  unsupportedMediaType: 'Bad Request: Unsupported content type.',
  unparseable: 'Bad Request: The request body could not be parsed.',
  invalidToken: 'Unauthorized: The token is invalid or expired.',
} as const;

function nehrFailure(status: number, messages: readonly string[]): JsonSchema {
  return narrowed('NehrError', { properties: { code: constant(status), message: { enum: messages } } });
}

/** The 400 messages of a route reading these fields (the first problem, in field order, is named). */
function nehrBadRequest(fields: readonly string[]): string[] {
  return [
    ...fields.flatMap((f) => [
      `Bad Request: Required field '${f}' is missing.`,
      `Bad Request: Required field '${f}' is empty.`,
      `Bad Request: Field '${f}' must be a string.`,
      `Bad Request: Field '${f}' is longer than 254 characters.`,
    ]),
    NEHR.unparseable,
    NEHR.unsupportedMediaType,
    NEHR.tooLarge,
  ];
}

function nehrItem(action: 'login' | 'refresh'): PathItemObject {
  const login = action === 'login';
  const id = login ? 'nehrGetToken' : 'nehrRefreshToken';
  const fields = login ? ['username', 'password'] : ['refresh_token'];
  const failures: Record<string, ResponseObject> = {
    '400': json(
      "Tessera's messages, in document 001's `<Reason Phrase>: <explanation>` form: the first field problem (missing, empty, or not a string — null, number, object, file), an unparseable body, an unsupported media type, or a body over the limit (all 400: document 001 has no 413/415).",
      nehrFailure(400, nehrBadRequest(fields)),
    ),
    '401': login
      ? json(
          'Document 001: unknown user, wrong password or disabled account, byte-identical answers.',
          nehrFailure(401, [NEHR.unauthorized]),
        )
      : json(
          "Tessera's message: the refresh token is unknown, expired, revoked, not a refresh token, or already used (reuse revokes its login family).",
          nehrFailure(401, [NEHR.invalidToken]),
        ),
  };
  if (login) {
    failures['429'] = json(
      "Tessera's messages: the identifier is locked after repeated failed logins, or the client address is throttled. `Retry-After` says when to try again.",
      nehrFailure(429, [NEHR.locked, NEHR.throttled]),
      { 'Retry-After': header('RetryAfter') },
    );
  }
  return {
    summary: login ? 'nehr login (document 001)' : 'nehr refresh (Tessera)',
    post: op(
      id,
      'nehr',
      login ? 'Trades username and password for a UUID v4 access + refresh pair' : 'Trades a refresh token for a new pair',
      {
        '200': json('The v2 envelope of document 001, code 0.', schema('MinistryEnvelope')),
        ...failures,
        '500': json('Document 001: an unexpected error.', nehrFailure(500, [NEHR.internalError])),
        '503': json(
          "Tessera's message: Redis does not answer, or no argon2 slot freed up within TESSERA_ARGON2_MAX_WAIT_MS.",
          nehrFailure(503, [NEHR.unavailable]),
        ),
      },
      {
        requestBody: formBody(
          login ? 'NehrLogin' : 'NehrRefresh',
          login
            ? 'Document 001: `username` and `password`, strings, taken as sent.'
            : 'Tessera: `refresh_token` from an earlier `moh` or `nehr` answer. Refresh tokens are single-use.',
          schema(login ? 'MinistryLoginRequest' : 'MinistryRefreshRequest'),
        ),
        ...(login ? {} : { description: "Tessera's route (document 001 names none); same rules as the moh refresh." }),
      },
    ),
    ...otherMethods(id, 'nehr', {
      '405': sharedResponse(
        'NehrWrongMethod',
        json("Tessera's message, with `Allow: POST`.", nehrFailure(405, [NEHR.methodNotAllowed]), { Allow: header('AllowPost') }),
      ),
    }),
  };
}

// ---- simplejwt (document 002; djangorestframework-simplejwt 5.2 with default settings) ----

type JwtAction = 'login' | 'refresh' | 'verify' | 'blacklist';

const DRF_FIELD_MESSAGES = [
  'This field is required.',
  'This field may not be blank.',
  'This field may not be null.',
  'Not a valid string.',
  'Enter a valid value.',
  'Ensure this field has no more than 254 characters.',
];

const SIMPLEJWT = {
  noActiveAccount: 'No active account found with the given credentials',
  unavailable: 'Service temporarily unavailable, try again later.',
  serverError: 'A server error occurred.',
  tooLarge: 'Request body exceeded the maximum allowed size.',
  tokenInvalid: 'Token is invalid or expired',
  wrongType: 'Token has wrong type',
  blacklisted: 'Token is blacklisted',
} as const;

/** The view name and docstring DRF's OPTIONS metadata shows, per view. */
const VIEWS: Readonly<Record<JwtAction, readonly [name: string, docstring: string]>> = {
  login: [
    'Token Obtain Pair',
    'Takes a set of user credentials and returns an access and refresh JSON web\ntoken pair to prove the authentication of those credentials.',
  ],
  refresh: [
    'Token Refresh',
    'Takes a refresh type JSON web token and returns an access type JSON web\ntoken if the refresh token is valid.',
  ],
  verify: [
    'Token Verify',
    "Takes a token and indicates if it is valid.  This view provides no\ninformation about a token's fitness for a particular use.",
  ],
  blacklist: [
    'Token Blacklist',
    'Takes a token and blacklists it. Must be used with the\n`rest_framework_simplejwt.token_blacklist` app installed.',
  ],
};

/**
 * Python's json module messages, as DRF quotes them ("JSON parse error - ..."), and in the same
 * form Tessera's nesting limit (64 levels, `MAX_JSON_DEPTH` in core); never the body.
 */
const JSON_PARSE_DETAIL =
  "^JSON parse error - (?:(?:Expecting value|Expecting property name enclosed in double quotes|Expecting ':' delimiter|Expecting ',' delimiter|Extra data|Invalid control character at|Unterminated string starting at|Nesting deeper than 64 levels): line \\d+ column \\d+ \\(char \\d+\\)|'utf-8' codec can't decode the body|Invalid JSON)$";

function drfDetail(detail: JsonSchema): JsonSchema {
  return narrowed('DrfDetail', { properties: { detail } });
}

function drfFieldErrors(fields: readonly string[]): JsonSchema {
  const messages: JsonSchema = { type: 'array', minItems: 1, maxItems: 1, items: { enum: DRF_FIELD_MESSAGES } };
  return narrowed('DrfFieldErrors', {
    propertyNames: { enum: fields },
    properties: Object.fromEntries(fields.map((f) => [f, messages])),
  });
}

function drfNonFieldErrors(extra: readonly string[] = []): JsonSchema {
  const notAnObject: JsonSchema[] = [
    constant('No data provided', 'The JSON body is `null`.'),
    { type: 'string', pattern: '^Invalid data\\. Expected a dictionary, but got (?:list|str|int|float|bool)\\.$' },
    ...extra.map((e) => constant(e)),
  ];
  return narrowed('DrfNonFieldErrors', { properties: { non_field_errors: { items: { anyOf: notAnObject } } } });
}

const capitalised = (word: string): string => `${word[0]?.toUpperCase()}${word.slice(1)}`;

/** The POST answers of one simplejwt view; shared by its two paths (with and without the slash). */
function simplejwtResponses(action: JwtAction): Record<string, ReferenceObject> {
  const login = action === 'login';
  const name = `SimpleJwt${capitalised(action)}`;
  const fields = login ? ['username', 'password'] : [action === 'verify' ? 'token' : 'refresh'];
  const wwwAuth = { 'WWW-Authenticate': header('WwwAuthenticateBearer') };
  const success: Record<JwtAction, ResponseObject> = {
    login: json('Document 002: an HS256 refresh + access pair, refresh first.', schema('TokenPair')),
    refresh: json(
      "A new access token (it keeps the refresh token's `iat`, as simplejwt 5.2 does); with TESSERA_JWT_ROTATE_REFRESH_TOKENS=1 also a new `refresh`.",
      schema('TokenRefresh'),
    ),
    verify: json('The token is a valid, unexpired, unrevoked simplejwt token (access or refresh).', schema('EmptyObject')),
    blacklist: json('The refresh token is blacklisted until its expiry and no longer refreshes.', schema('EmptyObject')),
  };
  const invalidDetails =
    action === 'verify' ? [SIMPLEJWT.tokenInvalid] : [SIMPLEJWT.tokenInvalid, SIMPLEJWT.wrongType, SIMPLEJWT.blacklisted];
  const responses: Record<string, ReferenceObject> = {
    '200': sharedResponse(`${name}Success`, success[action]),
    '400': sharedResponse(
      `${name}BadRequest`,
      json(
        `DRF's 400 bodies: field errors (${fields.map((f) => `\`${f}\``).join(', ')}; every problem field listed, in order), \`non_field_errors\` for a JSON body that is not an object, or a \`detail\` for a body that does not parse.${
          action === 'verify'
            ? ' With TESSERA_JWT_BLACKLIST_AFTER_ROTATION=1 a blacklisted refresh token is `{"non_field_errors":["Token is blacklisted"]}`, as simplejwt 5.2 answers.'
            : ''
        }`,
        oneOf(drfFieldErrors(fields), drfNonFieldErrors(action === 'verify' ? [SIMPLEJWT.blacklisted] : []), schema('DrfParseError')),
      ),
    ),
    '401': login
      ? sharedResponse(
          'SimpleJwtBadCredentials',
          json(
            'Document 002: unknown user, wrong password or disabled account, byte-identical answers.',
            drfDetail(constant(SIMPLEJWT.noActiveAccount)),
            wwwAuth,
          ),
        )
      : sharedResponse(
          `${name}InvalidToken`,
          json(
            "simplejwt's InvalidToken: a token that does not verify, has expired, was revoked by Tessera (a client, an admin, a disabled user), or (refresh, blacklist) is not a refresh token or is blacklisted.",
            narrowed('DrfTokenNotValid', { properties: { detail: { enum: invalidDetails } } }),
            wwwAuth,
          ),
        ),
    '413': sharedResponse(
      'SimpleJwtTooLarge',
      json(
        "Tessera's decision: a body over TESSERA_BODY_LIMIT is 413 with a DRF detail (Django itself would send an HTML 400).",
        drfDetail(constant(SIMPLEJWT.tooLarge)),
      ),
    ),
    '415': sharedResponse(
      'SimpleJwtUnsupportedMediaType',
      json(
        'DRF: a content type other than JSON, urlencoded or multipart (or a charset other than UTF-8), quoted as sent; `""` when a non-empty body has none.',
        drfDetail({ type: 'string', pattern: '^Unsupported media type ".*" in request\\.$' }),
      ),
    ),
  };
  if (login) {
    responses['429'] = sharedResponse(
      'SimpleJwtThrottled',
      json(
        "DRF's Throttled detail, for both a locked identifier and a throttled client address (Tessera's decision: simplejwt has no lockout answer of its own), with `Retry-After`.",
        drfDetail({
          type: 'string',
          pattern: '^Request was throttled\\. Expected available in (?:1 second|(?:[2-9]|[1-9][0-9]+) seconds)\\.$',
        }),
        { 'Retry-After': header('RetryAfter') },
      ),
    );
  }
  responses['500'] = sharedResponse(
    'SimpleJwtServerError',
    json("DRF's answer to an unexpected error.", drfDetail(constant(SIMPLEJWT.serverError))),
  );
  responses['503'] = sharedResponse(
    'SimpleJwtUnavailable',
    json("Tessera's decision: Redis does not answer, or no argon2 slot freed up in time.", drfDetail(constant(SIMPLEJWT.unavailable))),
  );
  return responses;
}

function simplejwtItem(action: JwtAction, slash: boolean): PathItemObject {
  const login = action === 'login';
  const name = `SimpleJwt${capitalised(action)}`;
  const id = `simplejwt${capitalised(action)}${slash ? 'Slash' : ''}`;
  const [viewName, docstring] = VIEWS[action];
  const requestSchema: Record<JwtAction, string> = {
    login: 'SimpleJwtLoginRequest',
    refresh: 'SimpleJwtRefreshRequest',
    verify: 'SimpleJwtVerifyRequest',
    blacklist: 'SimpleJwtRefreshRequest',
  };
  return {
    summary: `simplejwt ${viewName} (${slash ? 'with' : 'without'} the trailing slash)`,
    post: op(id, 'simplejwt', viewName, simplejwtResponses(action), {
      description: docstring,
      requestBody: formBody(
        name,
        login
          ? 'Document 002: `username` and `password`. As DRF CharFields: surrounding white space is trimmed and JSON numbers are taken as strings (booleans, null, objects and arrays are refused).'
          : `\`${action === 'verify' ? 'token' : 'refresh'}\`, trimmed as a DRF CharField.`,
        schema(requestSchema[action]),
      ),
    }),
    options: op(`${id}Options`, 'simplejwt', "DRF's SimpleMetadata for the view (no body is read)", {
      '200': sharedResponse(
        `${name}Options`,
        json(
          "Tessera's decision: OPTIONS answers as DRF does, with the view's metadata and `Allow: POST, OPTIONS`.",
          narrowed('DrfOptions', { properties: { name: constant(viewName), description: constant(docstring) } }),
          { Allow: header('AllowPostOptions') },
        ),
      ),
    }),
    ...otherMethods(
      id,
      'simplejwt',
      {
        '405': sharedResponse(
          'SimpleJwtWrongMethod',
          json(
            'DRF: `Method "<METHOD>" not allowed.` with `Allow: POST, OPTIONS`.',
            drfDetail({ type: 'string', pattern: '^Method "[^"]+" not allowed\\.$' }),
            { Allow: header('AllowPostOptions') },
          ),
        ),
      },
      ['options'],
    ),
  };
}

// ---- peb (document 003 and peb-reference.md) ----

interface PebErrorDoc {
  readonly id: number;
  readonly status: number;
  readonly message: string;
  readonly when: string;
}

/** PEB `error_id`s: messages of 5, 6 and 8 are document 003's; 3, 4, 7 the published list's; 9–11, 18 Tessera's wording. */
const PEB = {
  unavailable: { id: 3, status: 503, message: 'API is temporary unavailable.', when: 'Redis does not answer, or no argon2 slot in time.' },
  unspecified: { id: 4, status: 500, message: 'Unspecified error.', when: 'An unexpected error.' },
  methodNotAllowed: {
    id: 5,
    status: 405,
    message: 'Only POST method is allowed.',
    when: 'Document 003: any method but POST (with `Allow: POST`).',
  },
  missing: {
    id: 6,
    status: 400,
    message: 'One of required fields is missing.',
    when: 'Document 003: a required field is absent (missing beats empty beats malformed).',
  },
  empty: { id: 7, status: 400, message: 'One of required fields is empty.', when: 'A required field is empty or only white space.' },
  badFormat: {
    id: 8,
    status: 400,
    message: 'One of fields is improperly formatted.',
    when: 'Document 003: a malformed email (an `email`, or a `user` holding an `@`), a field that is not a string, a token that is not 128 hex, or a body that does not parse.',
  },
  unsupportedMediaType: {
    id: 8,
    status: 415,
    message: 'One of fields is improperly formatted.',
    when: "Tessera's decision: an unsupported media type is error 8 with status 415.",
  },
  tooLarge: {
    id: 8,
    status: 413,
    message: 'One of fields is improperly formatted.',
    when: "Tessera's decision: a body over the limit is error 8 with status 413.",
  },
  invalidToken: { id: 9, status: 401, message: 'Invalid API token.', when: 'The token is unknown, revoked or already renewed.' },
  expiredToken: { id: 10, status: 401, message: 'API token expired.', when: 'The token is known to have expired.' },
  badCredentials: {
    id: 11,
    status: 401,
    message: 'User with given credentials not found.',
    when: 'Tessera\'s decision: bad credentials use error 11 ("requested data not found"); the published list has no dedicated id. Unknown user, wrong password and disabled account are byte-identical.',
  },
  locked: {
    id: 18,
    status: 403,
    message: 'User is locked out after repeated failed logins.',
    when: "Error 18 (the published list's locked-out id) with status 403 (Tessera's decision): the identifier is locked after repeated failed logins.",
  },
  throttled: {
    id: 18,
    status: 429,
    message: 'Too many login attempts from this client.',
    when: "Tessera's decision: error 18 with status 429 when the client address is throttled.",
  },
} as const satisfies Record<string, PebErrorDoc>;

const PEB_LOGIN_ERRORS: readonly PebErrorDoc[] = [
  PEB.unavailable,
  PEB.unspecified,
  PEB.missing,
  PEB.empty,
  PEB.badFormat,
  PEB.unsupportedMediaType,
  PEB.tooLarge,
  PEB.badCredentials,
  PEB.locked,
  PEB.throttled,
];
const PEB_TOKEN_ERRORS: readonly PebErrorDoc[] = [
  PEB.unavailable,
  PEB.unspecified,
  PEB.missing,
  PEB.empty,
  PEB.badFormat,
  PEB.unsupportedMediaType,
  PEB.tooLarge,
  PEB.invalidToken,
  PEB.expiredToken,
];

const PEB_SCHEMA_NAMES = new Map<PebErrorDoc, string>(Object.entries(PEB).map(([key, e]) => [e, `PebError${capitalised(key)}`]));

/** The PEB error bodies of these errors, one component schema per error. */
function pebFailure(errors: readonly PebErrorDoc[]): JsonSchema {
  const variants = errors.map((e) =>
    sharedSchema(PEB_SCHEMA_NAMES.get(e) ?? `PebError${e.id}`, {
      ...narrowed('PebError', { properties: { status: constant(e.status), message: constant(e.message), error_id: constant(e.id) } }),
      title: `error ${e.id}, status ${e.status}`,
      description: e.when,
    }),
  );
  return variants.length === 1 ? (variants[0] as JsonSchema) : oneOf(...variants);
}

/** With TESSERA_PEB_MIRROR_STATUS=1 the body's `status` is the HTTP status too: one response per status. */
function pebMirrored(errors: readonly PebErrorDoc[], extra: HeaderMap = {}): Record<string, ResponseObject> {
  const byStatus = new Map<number, PebErrorDoc[]>();
  for (const e of errors) byStatus.set(e.status, [...(byStatus.get(e.status) ?? []), e]);
  const out: Record<string, ResponseObject> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const retry: HeaderMap = status === 403 || status === 429 ? { 'Retry-After': header('RetryAfter') } : {};
    out[String(status)] = json(
      `Only with TESSERA_PEB_MIRROR_STATUS=1 (default 0: these bodies come with HTTP 200): the error body with its \`status\` as the HTTP status${
        status === 403 || status === 429 ? ', and `Retry-After`' : ''
      }.`,
      pebFailure(list),
      { ...retry, ...extra },
    );
  }
  return out;
}

type PebAction = 'login' | 'renew' | 'check';

function pebItem(action: PebAction): PathItemObject {
  const id = { login: 'pebLogin', renew: 'pebRenew', check: 'pebCheck' }[action];
  const errors = action === 'login' ? PEB_LOGIN_ERRORS : PEB_TOKEN_ERRORS;
  const success = { login: 'PebSuccess', renew: 'PebRenew', check: 'PebCheck' }[action];
  const summaries: Record<PebAction, string> = {
    login: 'Trades an identifier (`email`, `username` or `user`) and password for a 128-hex token valid 30 days',
    renew: 'Trades a valid token for a new one; the old one stops working at once',
    check: 'Reports whether a token is valid, until when, and for which user',
  };
  return {
    summary: `peb ${action}`,
    description:
      'Document 003: the HTTP status is always 200 and the outcome is the body `status`. TESSERA_PEB_MIRROR_STATUS=1 sends the body `status` as the HTTP status too.',
    post: op(
      id,
      'peb',
      summaries[action],
      {
        '200': json(
          'By default every answer: the success body, or the error body `{"status","message","error_id"}` with the error ids of peb-reference.md.',
          oneOf(schema(success), pebFailure(errors)),
        ),
        ...pebMirrored(errors),
      },
      {
        requestBody: formBody(
          action === 'login' ? 'PebLogin' : 'PebToken',
          action === 'login'
            ? 'The identifier as `user` (an email when it holds `@`, else a username), `email` (trimmed and case-folded) or `username`, checked in that order; and `password`, taken as sent. Strings only.'
            : '`token`: a PEB token, 128 lowercase hex characters.',
          schema(action === 'login' ? 'PebLoginRequest' : 'PebTokenRequest'),
        ),
      },
    ),
    ...otherMethods(id, 'peb', {
      '200': sharedResponse(
        'PebWrongMethod',
        json('Document 003: error 5 with HTTP 200, and `Allow: POST`.', pebFailure([PEB.methodNotAllowed]), { Allow: header('AllowPost') }),
      ),
      '405': sharedResponse(
        'PebWrongMethodMirrored',
        pebMirrored([PEB.methodNotAllowed], { Allow: header('AllowPost') })['405'] as ResponseObject,
      ),
    }),
  };
}

// ---- /oauth (RFC 7662, RFC 7009) ----

function oauthFailure(error: string, descriptions: readonly string[]): JsonSchema {
  return narrowed('OAuthError', { properties: { error: constant(error), error_description: { enum: descriptions } } });
}

function oauthItem(kind: 'introspect' | 'revoke'): PathItemObject {
  const introspect = kind === 'introspect';
  const id = introspect ? 'oauthIntrospect' : 'oauthRevoke';
  return {
    summary: introspect ? 'RFC 7662 token introspection' : 'RFC 7009 token revocation',
    post: op(
      id,
      'oauth',
      introspect ? 'What Tessera knows of a token of any dialect' : 'Revokes a token of any dialect',
      {
        '200': introspect
          ? json(
              'The claims of a live token, or exactly `{"active":false}` for anything else (unknown, expired, revoked, blacklisted, badly signed).',
              oneOf(schema('IntrospectionActive'), schema('IntrospectionInactive')),
            )
          : {
              description:
                'RFC 7009: 200 with an empty body, whether or not the token was valid. A refresh token takes its whole login family with it (a simplejwt refresh token is also blacklisted); an access token goes alone. The answer carries `Content-Type: application/json` although the body is empty.',
              headers: TOKEN_HEADERS,
            },
        '400': sharedResponse(
          'OAuthInvalidRequest',
          json(
            'RFC 6749 `invalid_request`: a body that cannot be read (unsupported media type, malformed), a body over the limit, or no `token`.',
            oauthFailure('invalid_request', [
              'The request body could not be read.',
              'The request body is too large.',
              'The token parameter is required.',
            ]),
          ),
        ),
        '401': sharedResponse(
          'OAuthInvalidClient',
          json(
            '`invalid_client`: no client credentials, an Authorization header that is not well-formed Basic (body credentials are then ignored), or credentials that do not authenticate.',
            oauthFailure('invalid_client', ['Client authentication failed.']),
            { 'WWW-Authenticate': header('WwwAuthenticateBasic') },
          ),
        ),
        '500': sharedResponse(
          'OAuthServerError',
          json('`server_error`: an unexpected error.', oauthFailure('server_error', ['The server encountered an unexpected error.'])),
        ),
        '503': sharedResponse(
          'OAuthUnavailable',
          json(
            '`temporarily_unavailable`: Redis does not answer.',
            oauthFailure('temporarily_unavailable', ['The service is temporarily unavailable.']),
          ),
        ),
      },
      {
        description:
          'Callers are clients registered with `tessera clients add`, authenticated with HTTP Basic (`client_id:client_secret`, form-encoded parts, RFC 6749 §2.3.1) or with `client_id` and `client_secret` in the body (only when no Authorization header is sent). Redis keeps SHA-256 of the 256-bit secrets; a verified credential is remembered in process for 5 s.',
        security: [{ clientBasic: [] }, {}],
        requestBody: formBody(
          'OAuthToken',
          '`token`, and optionally `token_type_hint` (accepted, not needed) and body client credentials.',
          schema('OAuthTokenRequest'),
        ),
      },
    ),
    ...otherMethods(id, 'oauth', {
      '405': sharedResponse(
        'OAuthWrongMethod',
        json('Only POST, with `Allow: POST`.', oauthFailure('invalid_request', ['Only POST is allowed.']), { Allow: header('AllowPost') }),
      ),
    }),
  };
}

// ---- operations routes ----

/**
 * An operations route that answers every method alike: each method documented with the same
 * answers (GET and HEAD named as such, the others as answered the same way).
 */
function anyMethod(
  id: string,
  summary: string,
  responses: Record<string, ResponseObject | ReferenceObject>,
  description: string,
): PathItemObject {
  const item: { [M in HttpMethod]?: OperationObject } = {};
  for (const m of HTTP_METHODS) {
    const name = m === 'get' ? id : `${id}${m[0]?.toUpperCase()}${m.slice(1)}`;
    const what = m === 'get' ? summary : m === 'head' ? `${summary} (headers only)` : `${m.toUpperCase()}: answered as GET`;
    item[m] = op(name, 'operations', what, responses, { description });
  }
  return item;
}

/** The JSON 404 for every method but GET: /metrics is served by the edge for GET only. */
function notFoundButGet(id: string): { [M in HttpMethod]?: OperationObject } {
  const out: { [M in HttpMethod]?: OperationObject } = {};
  for (const m of HTTP_METHODS) {
    if (m === 'get') continue;
    out[m] = op(`${id}${m[0]?.toUpperCase()}${m.slice(1)}`, 'operations', `${m.toUpperCase()}: no such route`, {
      '404': { $ref: '#/components/responses/NotFound' },
    });
  }
  return out;
}

// ---- the document ----

const simplejwtRoutes = (['login', 'refresh', 'verify', 'blacklist'] as const).flatMap((action) => {
  const path = action === 'login' ? '/api/token' : `/api/token/${action}`;
  return [
    [path, simplejwtItem(action, false)],
    [`${path}/`, simplejwtItem(action, true)],
  ] as const;
});

/** Every route; built first, so that the shared parts its builders register are in place for `components`. */
const PATHS: Readonly<Record<string, PathItemObject>> = {
  '/getUserToken': mohItem('login'),
  '/refreshUserToken': mohItem('refresh'),
  '/nehrapi/login/getToken': nehrItem('login'),
  '/nehrapi/login/refreshToken': nehrItem('refresh'),
  ...Object.fromEntries(simplejwtRoutes),
  '/v1/login': pebItem('login'),
  '/v1/login/renew': pebItem('renew'),
  '/v1/login/check': pebItem('check'),
  '/oauth/introspect': oauthItem('introspect'),
  '/oauth/revoke': oauthItem('revoke'),
  '/healthz': anyMethod(
    'healthz',
    'Liveness',
    { '200': json('The process answers.', schema('Health'), {}, PLAIN_HEADERS) },
    'Answers every method alike.',
  ),
  '/readyz': anyMethod(
    'readyz',
    'Readiness: Redis answers',
    {
      '200': json('Redis answered a PING.', schema('Ready'), {}, PLAIN_HEADERS),
      '503': json('Redis did not answer within TESSERA_REDIS_TIMEOUT_MS.', schema('NotReady'), {}, PLAIN_HEADERS),
    },
    'Answers every method alike.',
  ),
  '/metrics': {
    get: op(
      'metrics',
      'operations',
      'Prometheus metrics of the ingress',
      {
        '200': {
          description:
            'Prometheus text exposition (`text/plain; version=0.0.4; charset=utf-8`): requests by route, dialect, outcome and status, latency, argon2 wait and pool, process metrics. Never a secret.',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
      },
      { description: 'Only GET; any other method on this path is the JSON 404 of the handler.' },
    ),
    ...notFoundButGet('metrics'),
  },
  '/openapi.json': anyMethod(
    'openapi',
    'This document',
    { '200': { description: 'This OpenAPI 3.1 document.', content: { 'application/json': { schema: schema('OpenApiDocument') } } } },
    'Answers every method alike.',
  ),
};

export const OPENAPI: OpenApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Tessera',
    version: '0.1.0',
    description: [
      'Token service speaking four existing login APIs on one user store and one token store: the ministry v2 envelope (`moh`, document 000), its NEHR variant (`nehr`, document 001), Django SimpleJWT (`simplejwt`, document 002) and the PEB API (`peb`, document 003), plus RFC 7662 introspection and RFC 7009 revocation.',
      '',
      'Body rules of every token route: bodies are `application/json`, `application/x-www-form-urlencoded` or `multipart/form-data`, UTF-8 (a `charset` other than UTF-8 is an unsupported media type), at most TESSERA_BODY_LIMIT bytes (16 KiB; bigger bodies are refused unread). An empty body, whatever its content type, is a body without fields: the answer is the dialect\'s "field missing" answer. JSON nested deeper than 64 levels (arrays and objects; a login body is 1) is malformed JSON, refused before it is parsed. In urlencoded bodies the last repetition of a field wins, and bytes that are not UTF-8 decode leniently (U+FFFD), as Django\'s QueryDict does; in JSON a lone surrogate escape (`\\ud800`) in a text field reads as U+FFFD, as its UTF-8 bytes would; a multipart file part where a text field is expected counts as a value of the wrong type.',
      '',
      'Answers of every token route: every answer is JSON with `Cache-Control: no-store` and `Pragma: no-cache`; an unknown user, a wrong password and a disabled user get byte-identical answers after the same argon2 work; every outcome (success, bad credentials, locked, throttled, malformed, unavailable, unexpected error) has a documented answer in the dialect, never an HTML page or a dropped connection. A path that is no route answers the JSON 404 `{"error":"not_found","message":"No such route."}`; the query string never changes the route.',
      '',
      "Tessera's decisions where the documents are silent are written in the descriptions: `moh` codes 1 and 4–9; every `nehr` message but 401 and 500; simplejwt's 413, 503 and OPTIONS answers; PEB error 11 for bad credentials, 18 for locked (403) and throttled (429), 413/415 for size and media type, `new_token` beside `token` on renew; the refresh routes of `moh` and `nehr` and their single-use refresh tokens (reuse revokes the login family).",
    ].join('\n'),
  },
  servers: [{ url: 'http://localhost:8080', description: '`npm start` (TESSERA_PORT, default 8080)' }],
  tags: [
    { name: 'moh', description: 'Ministry v2 envelope (document 000): always HTTP 200, outcome in `code`.' },
    { name: 'nehr', description: 'NEHR variant (document 001): the same envelope, real HTTP statuses on failure.' },
    { name: 'simplejwt', description: 'djangorestframework-simplejwt 5.2 with default settings (document 002).' },
    { name: 'peb', description: 'The PEB API (document 003, peb-reference.md): HTTP 200, outcome in `status`.' },
    { name: 'oauth', description: 'For other services: introspection and revocation of every token kind.' },
    { name: 'operations', description: 'Health, readiness, metrics and this document.' },
  ],
  paths: PATHS,
  components: {
    schemas: {
      Uuid4: { type: 'string', pattern: UUID_V4, description: 'A UUID v4, lowercase (moh/nehr access and refresh tokens).' },
      Hex128: { type: 'string', pattern: HEX128, description: '128 lowercase hex characters: 64 random bytes (PEB tokens).' },
      Jwt: {
        type: 'string',
        pattern: JWT,
        description:
          'An HS256 JWT signed with TESSERA_JWT_SIGNING_KEY, header `{"alg":"HS256","typ":"JWT"}`, claims in the library\'s order: `token_type`, `exp`, `iat`, `jti` (uuid4 hex), `user_id` (integer).',
      },
      PebTimestamp: { type: 'string', pattern: PEB_TIME, description: 'UTC, ISO 8601, whole seconds, no offset: `2023-09-25T01:21:20`.' },

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
        code: constant(0),
        message: constant('1 Records found'),
        result: schema('MinistryResult'),
      }),
      MinistryError: closed(
        { version: constant('v2'), code: { type: 'integer' }, message: { type: 'string' }, result: { type: 'null' } },
        [],
        'A `moh` failure: HTTP 200, the envelope with `result: null`.',
      ),
      NehrError: closed(
        { code: { type: 'integer', description: 'The HTTP status.' }, message: { type: 'string' } },
        [],
        'A `nehr` failure.',
      ),

      TokenPair: closed({ refresh: schema('Jwt'), access: schema('Jwt') }),
      TokenRefresh: closed({ access: schema('Jwt'), refresh: schema('Jwt') }, ['refresh']),
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
      DrfOptions: closed({
        name: { type: 'string' },
        description: { type: 'string' },
        renders: constant(['application/json', 'text/html']),
        parses: constant(['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data']),
      }),

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
          sub: { type: 'string', pattern: SECONDS, description: 'The user id.' },
          jti: { type: 'string', pattern: '^[0-9a-f]{32}$', description: 'simplejwt tokens only.' },
        },
        ['jti'],
      ),
      IntrospectionInactive: closed({ active: constant(false) }, [], 'Exactly `{"active":false}`, whatever the reason.'),
      OAuthError: closed({
        error: { enum: ['invalid_request', 'invalid_client', 'server_error', 'temporarily_unavailable'] },
        error_description: { type: 'string' },
      }),

      Health: closed({ status: constant('ok') }),
      Ready: closed({ status: constant('ready'), redis: constant('ok') }),
      NotReady: closed({ status: constant('unavailable'), redis: constant('unreachable') }),
      NotFound: closed({ error: constant('not_found'), message: constant('No such route.') }),
      OpenApiDocument: { type: 'object', required: ['openapi', 'info', 'paths'], properties: { openapi: constant('3.1.0') } },
      ...SHARED_SCHEMAS,
    },
    headers: {
      CacheControl: { description: 'Answers are never cached (RFC 6749 §5.1).', required: true, schema: constant('no-store') },
      Pragma: { description: 'For HTTP/1.0 caches (RFC 6749 §5.1).', required: true, schema: constant('no-cache') },
      AllowPost: { description: 'The one method the route serves.', required: true, schema: constant('POST') },
      AllowPostOptions: { description: 'As DRF answers for simplejwt views.', required: true, schema: constant('POST, OPTIONS') },
      RetryAfter: {
        description: 'Whole seconds until a retry may succeed (at least 1; an hour for a permanent lock).',
        required: true,
        schema: { type: 'string', pattern: SECONDS },
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
    },
    responses: {
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
      ...SHARED_RESPONSES,
    },
    requestBodies: SHARED_BODIES,
    securitySchemes: {
      clientBasic: {
        type: 'http',
        scheme: 'basic',
        description:
          'A registered client: `client_id:client_secret`, each form-encoded (RFC 6749 §2.3.1). Body credentials are the alternative.',
      },
    },
  },
};
