/** The `simplejwt` routes (document 002; djangorestframework-simplejwt 5.2 with default settings). */
import {
  DRF_FIELD_MESSAGES,
  DRF_NULL_CHARACTER_MESSAGE,
  drfProhibitedMessages,
  SIMPLEJWT_CLAIM_MESSAGES,
  SIMPLEJWT_MESSAGES,
  SIMPLEJWT_VIEWS,
  SIMPLEJWT_WHEN,
  type SimpleJwtView,
  simpleJwtMetadata,
} from '@tessera/core';
import * as build from './build.ts';
import type { JsonSchema, PathItemObject, ReferenceObject, ResponseObject } from './types.ts';

type JwtAction = Exclude<SimpleJwtView, 'check'>;

/** Each view's path (without the trailing slash), request schema and field names. */
export const SIMPLEJWT_PATHS: Readonly<Record<JwtAction, { path: string; request: string; fields: readonly string[] }>> = {
  login: { path: '/api/token', request: 'SimpleJwtLoginRequest', fields: ['username', 'password'] },
  refresh: { path: '/api/token/refresh', request: 'SimpleJwtRefreshRequest', fields: ['refresh'] },
  verify: { path: '/api/token/verify', request: 'SimpleJwtVerifyRequest', fields: ['token'] },
  blacklist: { path: '/api/token/blacklist', request: 'SimpleJwtRefreshRequest', fields: ['refresh'] },
  sliding: { path: '/api/token/sliding', request: 'SimpleJwtLoginRequest', fields: ['username', 'password'] },
  slidingRefresh: { path: '/api/token/sliding/refresh', request: 'SimpleJwtSlidingRefreshRequest', fields: ['token'] },
};

const isLogin = (action: JwtAction) => action === 'login' || action === 'sliding';

/** A pattern for a claim message of any claim name. */
const claimPattern = (message: (claim: string) => string) =>
  `^${message('\u0000')
    .replace(/[.+*?()[\]{}|^$]/g, '\\$&')
    .replace('\u0000', "[^']+")}$`;

/**
 * Python's json module messages, as DRF quotes them ("JSON parse error - ..."), DRF's refusal of
 * NaN and Infinity, and in the same form Tessera's nesting limit (64 levels, `MAX_JSON_DEPTH` in
 * core); never the body.
 */
export const JSON_PARSE_DETAIL =
  "^JSON parse error - (?:(?:Expecting value|Expecting property name enclosed in double quotes|Expecting ':' delimiter|Expecting ',' delimiter|Extra data|Invalid control character at|Unterminated string starting at|Nesting deeper than 64 levels): line \\d+ column \\d+ \\(char \\d+\\)|Out of range float values are not JSON compliant: '(?:NaN|Infinity|-Infinity)'|'utf-8' codec can't decode the body|Invalid JSON)$";

/** Every answer of a simplejwt view: the token routes' headers, and DRF's `Allow` and `Vary`. */
const DRF_VIEW_HEADERS: build.HeaderMap = {
  ...build.TOKEN_HEADERS,
  Allow: build.header('AllowPostOptions'),
  Vary: build.header('VaryAccept'),
};

/** A JSON answer of a simplejwt view. */
function drfJson(description: string, body: JsonSchema, extra: build.HeaderMap = {}): ResponseObject {
  return build.json(description, body, extra, DRF_VIEW_HEADERS);
}

export function drfDetail(detail: JsonSchema): JsonSchema {
  return build.narrowed('DrfDetail', { properties: { detail } });
}

/** The answer of one fixed message: a DRF `detail`, described by when it is given. */
function detailAnswer(which: keyof typeof SIMPLEJWT_MESSAGES, extra: build.HeaderMap = {}): ResponseObject {
  return drfJson(SIMPLEJWT_WHEN[which].when, drfDetail(build.constant(SIMPLEJWT_MESSAGES[which])), extra);
}

/** DRF's surrogate message for any surrogate code unit, from the one core words. */
const SURROGATE_MESSAGE = `^${(drfProhibitedMessages([0xd800])[0] ?? '').replace(/[.+]/g, '\\$&').replace('D800', 'D[89A-F][0-9A-F]{2}')}$`;

function drfFieldErrors(fields: readonly string[]): JsonSchema {
  // one message, or DRF's two validator messages (a NUL and a lone surrogate in the same value)
  const messages: JsonSchema = {
    type: 'array',
    minItems: 1,
    maxItems: 2,
    items: {
      anyOf: [{ enum: [...Object.values(DRF_FIELD_MESSAGES), DRF_NULL_CHARACTER_MESSAGE] }, { type: 'string', pattern: SURROGATE_MESSAGE }],
    },
  };
  return build.narrowed('DrfFieldErrors', {
    propertyNames: { enum: fields },
    properties: Object.fromEntries(fields.map((f) => [f, messages])),
  });
}

function drfNonFieldErrors(extra: readonly string[] = []): JsonSchema {
  const notAnObject: JsonSchema[] = [
    build.constant('No data provided', 'The JSON body is `null`.'),
    { type: 'string', pattern: '^Invalid data\\. Expected a dictionary, but got (?:list|str|int|float|bool)\\.$' },
    ...extra.map((e) => build.constant(e)),
  ];
  return build.narrowed('DrfNonFieldErrors', { properties: { non_field_errors: { items: { anyOf: notAnObject } } } });
}

/** The POST answers of one simplejwt view; shared by its two paths (with and without the slash). */
function simplejwtResponses(action: JwtAction): Record<string, ReferenceObject> {
  const login = isLogin(action);
  const name = `SimpleJwt${build.capitalised(action)}`;
  const { fields } = SIMPLEJWT_PATHS[action];
  const wwwAuth = { 'WWW-Authenticate': build.header('WwwAuthenticateBearer') };
  const success: Record<JwtAction, ResponseObject> = {
    login: drfJson('Document 002: an HS256 refresh + access pair, refresh first.', build.schema('TokenPair')),
    refresh: drfJson(
      "A new access token (it keeps the refresh token's `iat`, as simplejwt 5.2 does); with TESSERA_JWT_ROTATE_REFRESH_TOKENS=1 also a new `refresh`.",
      build.schema('TokenRefresh'),
    ),
    verify: drfJson('The token is a valid, unexpired, unrevoked simplejwt token (access or refresh).', build.schema('EmptyObject')),
    blacklist: drfJson('The refresh token is blacklisted until its expiry and no longer refreshes.', build.schema('EmptyObject')),
    sliding: drfJson(
      'One sliding token, valid TESSERA_JWT_SLIDING_LIFETIME, that slides until TESSERA_JWT_SLIDING_REFRESH_LIFETIME after the login.',
      build.schema('SlidingToken'),
    ),
    slidingRefresh: drfJson(
      'The sliding token again with a new `exp` and `iat` (its `jti` and refresh_exp unchanged), in its login family; the one presented stays valid until its own `exp`.',
      build.schema('SlidingToken'),
    ),
  };
  // UntypedToken (verify) checks `exp` and the id; RefreshToken also the blacklist and the type
  const refusals: (keyof typeof SIMPLEJWT_MESSAGES)[] =
    action === 'verify' ? ['tokenInvalid', 'noExp', 'noId'] : ['tokenInvalid', 'wrongType', 'blacklisted', 'noType', 'noId', 'noExp'];
  const refusalWhen = refusals.slice(1).map((m) => `\`${SIMPLEJWT_MESSAGES[m]}\` when it ${SIMPLEJWT_WHEN[m].when}`);
  const invalidDetail: JsonSchema = { enum: refusals.map((m) => SIMPLEJWT_MESSAGES[m]) };
  // SlidingToken's own refusals name the claim of the settings
  const claimRefusals = Object.values(SIMPLEJWT_CLAIM_MESSAGES);
  if (action === 'slidingRefresh')
    refusalWhen.push(...claimRefusals.map((c) => `\`${c.message('refresh_exp')}\` (the claim of the settings) when it ${c.when}`));
  const responses: Record<string, ReferenceObject> = {
    '200': build.sharedResponse(`${name}Success`, success[action]),
    '400': build.sharedResponse(
      `${name}BadRequest`,
      drfJson(
        `DRF's 400 bodies: field errors (${fields.map((f) => `\`${f}\``).join(', ')}; every problem field listed, in order), \`non_field_errors\` for a JSON body that is not an object, or a \`detail\` for a body that does not parse.${
          action === 'verify'
            ? ' With TESSERA_JWT_BLACKLIST_AFTER_ROTATION=1 a blacklisted refresh token is `{"non_field_errors":["Token is blacklisted"]}`, as simplejwt 5.2 answers.'
            : ''
        }`,
        build.oneOf(
          drfFieldErrors(fields),
          drfNonFieldErrors(action === 'verify' ? [SIMPLEJWT_MESSAGES.blacklisted] : []),
          build.schema('DrfParseError'),
        ),
      ),
    ),
    '401': login
      ? build.sharedResponse('SimpleJwtBadCredentials', detailAnswer('noActiveAccount', wwwAuth))
      : build.sharedResponse(
          `${name}InvalidToken`,
          drfJson(
            `simplejwt's InvalidToken: \`${SIMPLEJWT_MESSAGES.tokenInvalid}\` for ${SIMPLEJWT_WHEN.tokenInvalid.when}; ${refusalWhen.join('; ')}.`,
            build.narrowed('DrfTokenNotValid', {
              properties: {
                detail:
                  action === 'slidingRefresh'
                    ? { anyOf: [invalidDetail, ...claimRefusals.map((c) => ({ type: 'string', pattern: claimPattern(c.message) }))] }
                    : invalidDetail,
              },
            }),
            wwwAuth,
          ),
        ),
    '413': build.sharedResponse('SimpleJwtTooLarge', detailAnswer('tooLarge')),
    '415': build.sharedResponse(
      'SimpleJwtUnsupportedMediaType',
      drfJson(
        'DRF: a content type other than JSON, urlencoded or multipart (or a charset other than UTF-8), quoted as sent; `""` when a non-empty body has none.',
        drfDetail({ type: 'string', pattern: '^Unsupported media type ".*" in request\\.$' }),
      ),
    ),
  };
  if (login) {
    responses['429'] = build.sharedResponse(
      'SimpleJwtThrottled',
      drfJson(
        "DRF's Throttled detail, for both a locked identifier and a throttled client address (Tessera's decision: simplejwt has no lockout answer of its own), with `Retry-After`.",
        drfDetail({
          type: 'string',
          pattern: '^Request was throttled\\. Expected available in (?:1 second|(?:[2-9]|[1-9][0-9]+) seconds)\\.$',
        }),
        { 'Retry-After': build.header('RetryAfter') },
      ),
    );
  }
  responses['500'] = build.sharedResponse('SimpleJwtServerError', detailAnswer('serverError'));
  responses['503'] = build.sharedResponse('SimpleJwtUnavailable', detailAnswer('unavailable'));
  return responses;
}

export function simplejwtItem(action: JwtAction, slash: boolean): PathItemObject {
  const login = isLogin(action);
  const name = `SimpleJwt${build.capitalised(action)}`;
  const id = `simplejwt${build.capitalised(action)}${slash ? 'Slash' : ''}`;
  const { name: viewName, description: docstring } = SIMPLEJWT_VIEWS[action];
  const { request, fields } = SIMPLEJWT_PATHS[action];
  return {
    summary: `simplejwt ${viewName} (${slash ? 'with' : 'without'} the trailing slash)`,
    post: build.op(id, 'simplejwt', viewName, simplejwtResponses(action), {
      description: docstring,
      requestBody: build.formBody(
        name,
        login
          ? 'Document 002: `username` and `password`. As DRF CharFields: surrounding white space is trimmed and JSON numbers are taken as strings (booleans, null, objects and arrays are refused).'
          : `\`${fields[0]}\`, trimmed as a DRF CharField.`,
        build.schema(request),
      ),
    }),
    options: build.op(`${id}Options`, 'simplejwt', "DRF's SimpleMetadata for the view (no body is read)", {
      '200': build.sharedResponse(
        `${name}Options`,
        drfJson(
          "DRF's SimpleMetadata for the view, as the real one answers: its name, docstring, renderers, parsers and, under `actions.POST`, each serializer field.",
          build.constant(simpleJwtMetadata(action)),
        ),
      ),
    }),
    ...build.otherMethods(
      id,
      'simplejwt',
      {
        '405': build.sharedResponse(
          'SimpleJwtWrongMethod',
          drfJson('DRF: `Method "<METHOD>" not allowed.`', drfDetail({ type: 'string', pattern: '^Method "[^"]+" not allowed\\.$' })),
        ),
      },
      ['options'],
    ),
  };
}
