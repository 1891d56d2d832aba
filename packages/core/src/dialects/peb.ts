import type { Fields } from '../body.ts';
import { looksLikeEmail, MAX_IDENTIFIER_CHARS, normaliseEmail, readTextField } from '../fields.ts';
import { liveOwner, reissue, type TokenPolicy, type TokenPorts, tokenRefusal } from '../lifecycle.ts';
import type { FieldProblem, Outcome, Problem, TokenAction } from '../outcome.ts';
import { HEX128, mintToken } from '../tokens.ts';
import type { HttpAnswer, Identifier } from '../types.ts';
import { formRequest, jsonObject, type UpstreamCodec } from '../upstream.ts';
import { userIdOf } from '../user-fields.ts';
import { parseTokenField } from './credentials.ts';
import { type Dialect, jsonAnswer, type ParseResult, retryAfterHeader, type TokenParseResult } from './dialect.ts';

/**
 * PEB `error_id`s (peb-reference.md), each with its HTTP status (sent only with
 * TESSERA_PEB_MIRROR_STATUS=1; the body's `status` always) and when it is given, which the OpenAPI
 * document quotes. Messages of 5, 6 and 8 are document 003's words; 3, 4 and 7 are the published
 * error list's explanations; 9, 10, 11 and 18 are Tessera's wording of those ids.
 */
export const PEB_ERRORS = {
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
} as const;

export type PebError = (typeof PEB_ERRORS)[keyof typeof PEB_ERRORS];

export interface PebOptions {
  /** Send the body's `status` as the HTTP status too (default: always 200, as document 003 says). */
  readonly mirrorStatus: boolean;
}

/** `2023-09-25T01:21:20`: UTC, ISO 8601, whole seconds, no offset. */
export function pebTimestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19);
}

const rules = { trim: false, acceptNumbers: false, whitespaceIsBlank: true } as const;

function problemError(problem: Problem): PebError {
  switch (problem.reason) {
    case 'missing':
      return PEB_ERRORS.missing;
    case 'blank':
      return PEB_ERRORS.empty;
    case 'unsupported_media_type':
      return PEB_ERRORS.unsupportedMediaType;
    case 'too_large':
      return PEB_ERRORS.tooLarge;
    default:
      return PEB_ERRORS.badFormat;
  }
}

/** The login identifier: `user` (email or username, told apart by `@`), else `email`, else `username`. */
function readIdentifier(fields: Fields): { ok: true; id: Identifier } | { ok: false; problem: FieldProblem } | { ok: 'absent' } {
  for (const name of ['user', 'email', 'username'] as const) {
    const r = readTextField(fields, name, { ...rules, maxChars: MAX_IDENTIFIER_CHARS });
    if (r.ok === 'absent') continue;
    if (r.ok === false) return r;
    const asEmail = name === 'email' || (name === 'user' && r.value.includes('@'));
    if (!asEmail) return { ok: true, id: { by: 'username', value: r.value } };
    if (!looksLikeEmail(r.value.trim())) return { ok: false, problem: { field: name, reason: 'invalid_format' } };
    return { ok: true, id: { by: 'email', value: normaliseEmail(r.value) } };
  }
  return { ok: 'absent' };
}

/** PEB's body `status`: an integer in its error answers, the string "200" in document 003's examples. */
const statusOf = (b: Record<string, unknown> | null) => Number(b?.status);

/**
 * An old PEB API as its clients call it: the identifier as `email` or `username` with `password`,
 * form-encoded; status 200 with a token is a yes, error_id 11 bad credentials. Its check
 * (`/v1/login/check`) names the user: id, username and email.
 */
const pebUpstream: UpstreamCodec = {
  login: (command) =>
    formRequest({ [command.identifier.by === 'email' ? 'email' : 'username']: command.identifier.value, password: command.password }),
  readLogin(status, body) {
    const b = jsonObject(body);
    if (statusOf(b) === 200 && typeof b?.token === 'string') return { kind: 'accepted', user: {}, token: b.token };
    if (b?.error_id === PEB_ERRORS.badCredentials.id) return { kind: 'rejected' };
    return {
      kind: 'failed',
      detail: `HTTP ${status}${b === null ? ', not a JSON object' : `, error_id ${JSON.stringify(b.error_id ?? null)}`}`,
    };
  },
  details: {
    path: '/check',
    request: (token) => formRequest({ token }),
    read(_status, body) {
      const b = jsonObject(body);
      if (statusOf(b) !== 200 || b?.valid !== true) return null;
      const id = userIdOf(b.user_id);
      return {
        ...(id === undefined ? {} : { id }),
        ...(typeof b.username === 'string' ? { username: b.username } : {}),
        ...(typeof b.email === 'string' ? { email: b.email } : {}),
      };
    },
  },
};

/** PEB renew (the old token dies at once) and check. */
async function pebToken(action: TokenAction, token: string, ports: TokenPorts, policy: TokenPolicy): Promise<Outcome> {
  const st = action === 'check' ? await ports.lookup(token) : await ports.consume(token);
  if (st.state === 'expired') return tokenRefusal(action, 'expired');
  if (st.state !== 'live' || st.record.dialect !== 'peb') return tokenRefusal(action, 'invalid');
  const user = await liveOwner(st.record, ports);
  if (user === null) return tokenRefusal(action, 'invalid');
  if (action === 'check') return { kind: 'checked', record: st.record, user };
  const now = ports.now();
  const grant = await mintToken('hex128', 'access', { now, userId: user.id, lifetimes: policy.lifetimes, signer: policy.signer });
  const tokens = await reissue('peb', user, st.record.family, ports, [grant]);
  return tokens === null ? tokenRefusal(action, 'invalid') : { kind: 'refreshed', tokens, user, now };
}

/** The PEB API (document 003, peb-reference.md). */
export function createPeb(options: PebOptions): Dialect {
  // Retry-After only means something next to a real 429/503; Allow is useful either way.
  const answer = (status: number, body: unknown, withStatus?: Record<string, string>, always?: Record<string, string>): HttpAnswer =>
    jsonAnswer(options.mirrorStatus ? status : 200, body, options.mirrorStatus ? { ...always, ...withStatus } : always);
  const error = (e: PebError, withStatus?: Record<string, string>, always?: Record<string, string>): HttpAnswer =>
    answer(e.status, { status: e.status, message: e.message, error_id: e.id }, withStatus, always);
  return {
    name: 'peb',
    upstream: pebUpstream,
    issues: { access: 'hex128' },
    allow: ['POST'],
    parseLogin(fields: Fields): ParseResult {
      const problems: FieldProblem[] = [];
      const id = readIdentifier(fields);
      const pw = readTextField(fields, 'password', rules);
      if (id.ok === 'absent') problems.push({ field: 'email', reason: 'missing' });
      if (pw.ok === 'absent') problems.push({ field: 'password', reason: 'missing' });
      if (id.ok === false) problems.push(id.problem);
      if (pw.ok === false) problems.push(pw.problem);
      if (id.ok === true && pw.ok === true) return { ok: true, command: { identifier: id.id, password: pw.value } };
      // Missing beats empty beats malformed: the order of PEB's error ids.
      const rank = { missing: 0, blank: 1, null: 2, invalid_type: 2, invalid_format: 2, too_long: 2, prohibited_character: 2 } as const;
      problems.sort((a, b) => rank[a.reason] - rank[b.reason]);
      const first = problems[0] as FieldProblem;
      return { ok: false, problem: { reason: first.reason, fields: problems } };
    },
    parseToken(_action: TokenAction, fields: Fields): TokenParseResult {
      const r = parseTokenField(fields, 'token', rules);
      if (r.ok && !HEX128.test(r.token))
        return { ok: false, problem: { reason: 'invalid_format', fields: [{ field: 'token', reason: 'invalid_format' }] } };
      return r;
    },
    decideToken: pebToken,
    render(outcome: Outcome): HttpAnswer {
      switch (outcome.kind) {
        case 'refreshed': {
          // Renew: the docs name the new value `new_token` in prose and `token` in the example.
          const t = outcome.tokens.access;
          return answer(200, {
            status: 200,
            token: t.value,
            new_token: t.value,
            valid_till: pebTimestamp(t.expiresAt),
            valid_till_unix: Math.floor(t.expiresAt / 1000),
          });
        }
        case 'checked':
          return answer(200, {
            status: 200,
            valid: true,
            valid_till: pebTimestamp(outcome.record.exp * 1000),
            valid_till_unix: outcome.record.exp,
            user_id: outcome.user.id,
            username: outcome.user.username,
            email: outcome.user.email,
          });
        case 'token_invalid':
          return error(outcome.problem === 'expired' ? PEB_ERRORS.expiredToken : PEB_ERRORS.invalidToken);
        case 'issued': {
          const t = outcome.tokens.access;
          return answer(200, {
            status: 200,
            token: t.value,
            valid_till: pebTimestamp(t.expiresAt),
            valid_till_unix: Math.floor(t.expiresAt / 1000),
          });
        }
        case 'bad_credentials':
          return error(PEB_ERRORS.badCredentials);
        case 'locked':
          return error(PEB_ERRORS.locked, retryAfterHeader(outcome.retryAfter));
        case 'throttled':
          return error(PEB_ERRORS.throttled, retryAfterHeader(outcome.retryAfter));
        case 'malformed':
          return error(problemError(outcome.problem));
        case 'method_not_allowed':
          return error(PEB_ERRORS.methodNotAllowed, undefined, { allow: outcome.allow.join(', ') });
        case 'unavailable':
          return error(PEB_ERRORS.unavailable);
        case 'verified':
        case 'internal_error':
          return error(PEB_ERRORS.unspecified);
      }
    },
  };
}
