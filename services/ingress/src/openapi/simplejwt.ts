/** The `simplejwt` routes (document 002; djangorestframework-simplejwt 5.2 with default settings). */
import { DRF_FIELD_MESSAGES, SIMPLEJWT_MESSAGES, SIMPLEJWT_VIEWS, SIMPLEJWT_WHEN, type SimpleJwtView } from '@tessera/core';
import {
  capitalised,
  constant,
  formBody,
  type HeaderMap,
  header,
  json,
  narrowed,
  oneOf,
  op,
  otherMethods,
  schema,
  sharedResponse,
} from './build.ts';
import type { JsonSchema, PathItemObject, ReferenceObject, ResponseObject } from './types.ts';

type JwtAction = Exclude<SimpleJwtView, 'check'>;

/**
 * Python's json module messages, as DRF quotes them ("JSON parse error - ..."), and in the same
 * form Tessera's nesting limit (64 levels, `MAX_JSON_DEPTH` in core); never the body.
 */
export const JSON_PARSE_DETAIL =
  "^JSON parse error - (?:(?:Expecting value|Expecting property name enclosed in double quotes|Expecting ':' delimiter|Expecting ',' delimiter|Extra data|Invalid control character at|Unterminated string starting at|Nesting deeper than 64 levels): line \\d+ column \\d+ \\(char \\d+\\)|'utf-8' codec can't decode the body|Invalid JSON)$";

export function drfDetail(detail: JsonSchema): JsonSchema {
  return narrowed('DrfDetail', { properties: { detail } });
}

/** The answer of one fixed message: a DRF `detail`, described by when it is given. */
function detailAnswer(which: keyof typeof SIMPLEJWT_MESSAGES, extra: HeaderMap = {}): ResponseObject {
  return json(SIMPLEJWT_WHEN[which].when, drfDetail(constant(SIMPLEJWT_MESSAGES[which])), extra);
}

function drfFieldErrors(fields: readonly string[]): JsonSchema {
  const messages: JsonSchema = { type: 'array', minItems: 1, maxItems: 1, items: { enum: Object.values(DRF_FIELD_MESSAGES) } };
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
    action === 'verify'
      ? [SIMPLEJWT_MESSAGES.tokenInvalid]
      : [SIMPLEJWT_MESSAGES.tokenInvalid, SIMPLEJWT_MESSAGES.wrongType, SIMPLEJWT_MESSAGES.blacklisted];
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
        oneOf(
          drfFieldErrors(fields),
          drfNonFieldErrors(action === 'verify' ? [SIMPLEJWT_MESSAGES.blacklisted] : []),
          schema('DrfParseError'),
        ),
      ),
    ),
    '401': login
      ? sharedResponse('SimpleJwtBadCredentials', detailAnswer('noActiveAccount', wwwAuth))
      : sharedResponse(
          `${name}InvalidToken`,
          json(
            `simplejwt's InvalidToken: ${SIMPLEJWT_WHEN.tokenInvalid.when}, or (refresh, blacklist) ${SIMPLEJWT_WHEN.wrongType.when} or ${SIMPLEJWT_WHEN.blacklisted.when}.`,
            narrowed('DrfTokenNotValid', { properties: { detail: { enum: invalidDetails } } }),
            wwwAuth,
          ),
        ),
    '413': sharedResponse('SimpleJwtTooLarge', detailAnswer('tooLarge')),
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
  responses['500'] = sharedResponse('SimpleJwtServerError', detailAnswer('serverError'));
  responses['503'] = sharedResponse('SimpleJwtUnavailable', detailAnswer('unavailable'));
  return responses;
}

export function simplejwtItem(action: JwtAction, slash: boolean): PathItemObject {
  const login = action === 'login';
  const name = `SimpleJwt${capitalised(action)}`;
  const id = `simplejwt${capitalised(action)}${slash ? 'Slash' : ''}`;
  const { name: viewName, description: docstring } = SIMPLEJWT_VIEWS[action];
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
