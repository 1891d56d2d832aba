import { decodeJwt } from 'jose';
import type { Fields } from '../body.ts';
import type { FieldProblem, Outcome, Problem, TokenAction, TokenProblem } from '../outcome.ts';
import type { HttpAnswer } from '../types.ts';
import { jsonObject, jsonRequest, type UpstreamCodec } from '../upstream.ts';
import { userIdOf } from '../user-fields.ts';
import { parseTokenField, parseUsernamePassword } from './credentials.ts';
import { type Dialect, jsonAnswer, type ParseResult, retryAfterHeader, type TokenParseResult } from './dialect.ts';
import { simpleJwtToken, slidingRefresh } from './simplejwt-tokens.ts';

/** Django REST framework's field error strings (rest_framework/fields.py). */
export const DRF_FIELD_MESSAGES: Readonly<Record<Exclude<FieldProblem['reason'], 'prohibited_character'>, string>> = {
  missing: 'This field is required.',
  blank: 'This field may not be blank.',
  null: 'This field may not be null.',
  invalid_type: 'Not a valid string.',
  invalid_format: 'Enter a valid value.',
  // DRF's CharField(max_length=254) words it so
  too_long: 'Ensure this field has no more than 254 characters.',
};

/** DRF's ProhibitNullCharactersValidator message (rest_framework/validators.py). */
export const DRF_NULL_CHARACTER_MESSAGE = 'Null characters are not allowed.';

/** The messages of DRF's field validators for a value holding these code units (NUL, a lone surrogate). */
export function drfProhibitedMessages(characters: readonly number[]): string[] {
  // ProhibitSurrogateCharactersValidator: 'Surrogate characters are not allowed: U+{code_point:X}.'
  return characters.map((c) =>
    c === 0 ? DRF_NULL_CHARACTER_MESSAGE : `Surrogate characters are not allowed: U+${c.toString(16).toUpperCase()}.`,
  );
}

export const SIMPLEJWT_MESSAGES = {
  noActiveAccount: 'No active account found with the given credentials',
  unavailable: 'Service temporarily unavailable, try again later.',
  serverError: 'A server error occurred.',
  tooLarge: 'Request body exceeded the maximum allowed size.',
  tokenInvalid: 'Token is invalid or expired',
  wrongType: 'Token has wrong type',
  blacklisted: 'Token is blacklisted',
  noType: 'Token has no type',
  noId: 'Token has no id',
  noExp: "Token has no 'exp' claim",
} as const;

/**
 * The HTTP status of each fixed message and when it is given: the OpenAPI document quotes these.
 * The three InvalidToken messages have phrases the document joins into one sentence.
 */
export const SIMPLEJWT_WHEN: Readonly<Record<keyof typeof SIMPLEJWT_MESSAGES, { readonly status: number; readonly when: string }>> = {
  noActiveAccount: { status: 401, when: 'Document 002: unknown user, wrong password or disabled account, byte-identical answers.' },
  unavailable: { status: 503, when: "Tessera's decision: Redis does not answer, or no argon2 slot freed up in time." },
  serverError: { status: 500, when: "DRF's answer to an unexpected error." },
  tooLarge: {
    status: 413,
    when: "Tessera's decision: a body over TESSERA_BODY_LIMIT is 413 with a DRF detail (Django itself would send an HTML 400).",
  },
  tokenInvalid: {
    status: 401,
    when: 'a token that does not verify, has expired, was revoked by Tessera (a client, an admin, a disabled user)',
  },
  wrongType: { status: 401, when: 'is not a refresh token' },
  blacklisted: { status: 401, when: 'is blacklisted' },
  noType: { status: 401, when: 'is signed with the key but has no type claim (TOKEN_TYPE_CLAIM)' },
  noId: { status: 401, when: 'is signed with the key but has no id claim (JTI_CLAIM)' },
  noExp: { status: 401, when: 'is signed with the key but has no `exp`' },
};

/**
 * SimpleJWT's messages about a sliding token's refresh_exp claim (check_exp), naming the claim as
 * SLIDING_TOKEN_REFRESH_EXP_CLAIM does, with when each is given (sliding refresh only).
 */
export const SIMPLEJWT_CLAIM_MESSAGES = {
  noClaim: { message: (claim: string) => `Token has no '${claim}' claim`, when: 'is a sliding token without its refresh_exp claim' },
  claimExpired: {
    message: (claim: string) => `Token '${claim}' claim has expired`,
    when: 'is a sliding token past its refresh_exp claim: it no longer slides (it verifies until its `exp`)',
  },
} as const;

/** The InvalidToken message of each way a token is refused (SimpleJWT's TokenError); any other is `tokenInvalid`. */
const TOKEN_ERRORS: Readonly<Partial<Record<TokenProblem, keyof typeof SIMPLEJWT_MESSAGES>>> = {
  wrong_type: 'wrongType',
  blacklisted: 'blacklisted',
  no_type: 'noType',
  no_id: 'noId',
  no_exp: 'noExp',
};

/** The views: the pair's (a login, then token actions), and the sliding token's two. */
export type SimpleJwtView = 'login' | TokenAction | 'sliding' | 'slidingRefresh';

/** What DRF's SimpleMetadata says of a serializer field (`actions.POST.<field>`): SimpleJWT's are CharFields. */
export type DrfFieldInfo = {
  readonly type: 'string';
  readonly required: boolean;
  readonly read_only: boolean;
  readonly label: string;
};

/** A field the client sends (required, writable), and one only the answer carries (read-only). */
const input = (label: string): DrfFieldInfo => ({ type: 'string', required: true, read_only: false, label });
const output = (label: string): DrfFieldInfo => ({ type: 'string', required: false, read_only: true, label });

/**
 * Each simplejwt view as DRF's OPTIONS metadata shows it: the view's name, its docstring, and its
 * serializer's fields in declaration order (djangorestframework-simplejwt 5.2, DRF 3.14).
 */
export const SIMPLEJWT_VIEWS: Readonly<
  Record<SimpleJwtView, { readonly name: string; readonly description: string; readonly fields: Readonly<Record<string, DrfFieldInfo>> }>
> = {
  login: {
    name: 'Token Obtain Pair',
    description:
      'Takes a set of user credentials and returns an access and refresh JSON web\ntoken pair to prove the authentication of those credentials.',
    fields: { username: input('Username'), password: input('Password') },
  },
  refresh: {
    name: 'Token Refresh',
    description: 'Takes a refresh type JSON web token and returns an access type JSON web\ntoken if the refresh token is valid.',
    fields: { refresh: input('Refresh'), access: output('Access') },
  },
  verify: {
    name: 'Token Verify',
    description:
      "Takes a token and indicates if it is valid.  This view provides no\ninformation about a token's fitness for a particular use.",
    fields: { token: input('Token') },
  },
  blacklist: {
    name: 'Token Blacklist',
    description: 'Takes a token and blacklists it. Must be used with the\n`rest_framework_simplejwt.token_blacklist` app installed.',
    fields: { refresh: input('Refresh') },
  },
  check: { name: 'Token Check', description: '', fields: {} },
  sliding: {
    name: 'Token Obtain Sliding',
    description: 'Takes a set of user credentials and returns a sliding JSON web token to\nprove the authentication of those credentials.',
    fields: { username: input('Username'), password: input('Password') },
  },
  slidingRefresh: {
    name: 'Token Refresh Sliding',
    description: "Takes a sliding JSON web token and returns a new, refreshed version if the\ntoken's refresh period has not expired.",
    fields: { token: input('Token') },
  },
};

/** The methods of every simplejwt view (DRF's APIView: the handlers it defines, plus OPTIONS). */
const SIMPLEJWT_ALLOW = ['POST', 'OPTIONS'] as const;

/**
 * Headers DRF puts on every answer of a simplejwt view, whatever its status: APIView's `Allow`,
 * and `Vary: Accept` from content negotiation.
 */
export const DRF_HEADERS: Readonly<Record<'allow' | 'vary', string>> = Object.freeze({
  allow: SIMPLEJWT_ALLOW.join(', '),
  vary: 'Accept',
});

/** DRF's default renderers and parsers, as the metadata lists them. */
const DRF_RENDERS = ['application/json', 'text/html'] as const;
const DRF_PARSES = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'] as const;

/** DRF's SimpleMetadata for a simplejwt view: the OPTIONS body. */
export function simpleJwtMetadata(view: SimpleJwtView) {
  const { name, description, fields } = SIMPLEJWT_VIEWS[view];
  return { name, description, renders: DRF_RENDERS, parses: DRF_PARSES, actions: { POST: fields } };
}

/** A JSON answer of a simplejwt view: DRF's headers besides the token routes' own. */
function answer(status: number, body: unknown, extra?: Record<string, string>): HttpAnswer {
  return jsonAnswer(status, body, extra === undefined ? DRF_HEADERS : { ...DRF_HEADERS, ...extra });
}

/** simplejwt's InvalidToken (401, code token_not_valid); verify reports a blacklisted token as a field error. */
function tokenInvalid(action: TokenAction, problem: TokenProblem, claim = 'refresh_exp'): HttpAnswer {
  if (action === 'verify' && problem === 'blacklisted') return answer(400, { non_field_errors: [SIMPLEJWT_MESSAGES.blacklisted] });
  const detail =
    problem === 'no_refresh_exp' || problem === 'refresh_expired'
      ? SIMPLEJWT_CLAIM_MESSAGES[problem === 'no_refresh_exp' ? 'noClaim' : 'claimExpired'].message(claim)
      : SIMPLEJWT_MESSAGES[TOKEN_ERRORS[problem] ?? 'tokenInvalid'];
  return answer(401, { detail, code: 'token_not_valid' }, WWW_AUTHENTICATE);
}

/** A fixed message as DRF's `detail`, with its status. */
function detail(which: keyof typeof SIMPLEJWT_MESSAGES, extra?: Record<string, string>): HttpAnswer {
  return answer(SIMPLEJWT_WHEN[which].status, { detail: SIMPLEJWT_MESSAGES[which] }, extra);
}

/** DRF's Throttled detail: "Request was throttled. Expected available in N second(s)." */
export function throttledDetail(seconds: number): string {
  const wait = Math.max(1, Math.ceil(seconds));
  return `Request was throttled. Expected available in ${wait} ${wait === 1 ? 'second' : 'seconds'}.`;
}

function badRequest(problem: Problem): HttpAnswer {
  switch (problem.reason) {
    case 'too_large':
      return detail('tooLarge');
    case 'unsupported_media_type':
      return answer(415, { detail: `Unsupported media type "${problem.contentType ?? ''}" in request.` });
    case 'bad_json':
      return answer(400, { detail: `JSON parse error - ${problem.detail ?? 'invalid JSON'}` });
    case 'bad_encoding':
      return answer(400, { detail: `Multipart form parse error - ${problem.detail ?? 'invalid body'}` });
    case 'not_object':
      // A JSON null is "no data" to a DRF serializer; any other non-object is "invalid".
      return answer(400, {
        non_field_errors: [
          problem.detail === 'NoneType' ? 'No data provided' : `Invalid data. Expected a dictionary, but got ${problem.detail ?? 'list'}.`,
        ],
      });
    default: {
      const body: Record<string, string[]> = {};
      for (const f of problem.fields ?? []) {
        body[f.field] = f.reason === 'prohibited_character' ? drfProhibitedMessages(f.characters ?? []) : [DRF_FIELD_MESSAGES[f.reason]];
      }
      return answer(400, body);
    }
  }
}

/**
 * DRF CharField defaults (PasswordField only changes the rendering style): trimmed, numbers
 * accepted, NUL and lone surrogates refused by its validators.
 */
const DRF_CHAR_FIELD = { trim: true, acceptNumbers: true, whitespaceIsBlank: true, prohibitNulAndSurrogates: true } as const;

/** What TokenViewBase.get_authenticate_header answers with the default AUTH_HEADER_TYPES. */
const WWW_AUTHENTICATE = { 'www-authenticate': 'Bearer realm="api"' };

/** The `user_id` claim of an access token, unverified: the upstream is trusted for its own users' ids. */
function userIdClaim(access: string): number | undefined {
  try {
    return userIdOf(decodeJwt(access).user_id);
  } catch {
    return undefined;
  }
}

/**
 * An old SimpleJWT deployment as its clients call it: `{username, password}` as JSON; 200 with a
 * pair is a yes (its access token's `user_id` is the id to keep), 401 bad credentials.
 */
const simplejwtUpstream: UpstreamCodec = {
  login: (command) => jsonRequest({ username: command.identifier.value, password: command.password }),
  readLogin(status, body) {
    const b = jsonObject(body);
    if (status === 200 && typeof b?.access === 'string') {
      const id = userIdClaim(b.access);
      return { kind: 'accepted', user: id === undefined ? {} : { id } };
    }
    if (status === 401) return { kind: 'rejected' };
    return { kind: 'failed', detail: `HTTP ${status}` };
  },
};

/**
 * djangorestframework-simplejwt 5.x `TokenObtainPairView` with default settings: username is a
 * CharField and password a PasswordField, both trimmed with numbers accepted.
 */
export const simplejwt: Dialect = {
  name: 'simplejwt',
  upstream: simplejwtUpstream,
  issues: { access: 'jwt', refresh: 'jwt' },
  allow: SIMPLEJWT_ALLOW,
  /** DRF's SimpleMetadata answer for the view. */
  options(action: SimpleJwtView = 'login'): HttpAnswer {
    return answer(200, simpleJwtMetadata(action));
  },
  parseLogin(fields: Fields): ParseResult {
    return parseUsernamePassword(fields, DRF_CHAR_FIELD, DRF_CHAR_FIELD);
  },
  parseToken(action: TokenAction, fields: Fields): TokenParseResult {
    return parseTokenField(fields, action === 'verify' ? 'token' : 'refresh', DRF_CHAR_FIELD);
  },
  decideToken: simpleJwtToken,
  render(outcome: Outcome): HttpAnswer {
    switch (outcome.kind) {
      case 'issued':
        return answer(200, { refresh: outcome.tokens.refresh?.value, access: outcome.tokens.access.value });
      case 'refreshed':
        // TokenRefreshSerializer: access first; refresh only when ROTATE_REFRESH_TOKENS is on.
        return answer(
          200,
          outcome.tokens.refresh === undefined
            ? { access: outcome.tokens.access.value }
            : { access: outcome.tokens.access.value, refresh: outcome.tokens.refresh.value },
        );
      case 'token_invalid':
        return tokenInvalid(outcome.action, outcome.problem, outcome.claim);
      case 'verified':
        return answer(200, {});
      case 'bad_credentials':
        return detail('noActiveAccount', WWW_AUTHENTICATE);
      case 'locked':
      case 'throttled':
        return answer(429, { detail: throttledDetail(outcome.retryAfter) }, retryAfterHeader(outcome.retryAfter));
      case 'malformed':
        return badRequest(outcome.problem);
      case 'method_not_allowed':
        // outcome.allow is SIMPLEJWT_ALLOW, which DRF_HEADERS already says
        return answer(405, { detail: `Method "${outcome.method}" not allowed.` });
      case 'unavailable':
        return detail('unavailable');
      case 'checked':
      case 'internal_error':
        return detail('serverError');
    }
  },
};

/**
 * djangorestframework-simplejwt 5.x `TokenObtainSlidingView` and `TokenRefreshSlidingView`
 * (`/api/token/sliding/`, `/api/token/sliding/refresh/`): a login gives one sliding token,
 * `{"token"}`, which the refresh view slides. The same fields, rules and answers as the pair's views.
 */
export const simplejwtSliding: Dialect = {
  ...simplejwt,
  issues: { access: 'jwt', sliding: true },
  options(action = 'login'): HttpAnswer {
    return answer(200, simpleJwtMetadata(action === 'login' ? 'sliding' : 'slidingRefresh'));
  },
  parseToken(_action: TokenAction, fields: Fields): TokenParseResult {
    return parseTokenField(fields, 'token', DRF_CHAR_FIELD);
  },
  decideToken(action, token, ports, policy) {
    return action === 'refresh' ? slidingRefresh(token, ports, policy) : simpleJwtToken(action, token, ports, policy);
  },
  render(outcome: Outcome): HttpAnswer {
    // TokenObtainSlidingSerializer and TokenRefreshSlidingSerializer: `{"token"}`
    if (outcome.kind === 'issued' || outcome.kind === 'refreshed') return answer(200, { token: outcome.tokens.access.value });
    return simplejwt.render(outcome);
  },
};
