import type { Fields } from '../body.ts';
import { liveOwner, reissue, type TokenPolicy, type TokenPorts, tokenRefusal } from '../lifecycle.ts';
import type { Outcome, TokenAction } from '../outcome.ts';
import { mintToken, UUID_V4 } from '../tokens.ts';
import type { DialectName, HttpAnswer, IssuedTokens, UserRecord } from '../types.ts';
import { jsonObject, jsonRequest, textOf, type UpstreamCodec, type UpstreamUser } from '../upstream.ts';
import { PROFILE_JSON_FIELDS, PROFILE_TEXT_FIELDS, profileJson } from '../user-fields.ts';
import { parseTokenField, parseUsernamePassword } from './credentials.ts';
import { type Dialect, jsonAnswer, type ParseResult, secondsLeft, type TokenParseResult } from './dialect.ts';

/**
 * The ministry v2 success envelope shared by `moh` and `nehr` (documents 000 and 001), every
 * `result` field in the documents' order and spelling.
 */
export function ministryEnvelope(tokens: IssuedTokens, user: UserRecord, now: number): unknown {
  const p = user.profile;
  return {
    version: 'v2',
    code: 0,
    message: '1 Records found',
    result: {
      access_token: tokens.access.value,
      token_type: 'bearer',
      refresh_token: tokens.refresh?.value ?? null,
      expires_in: secondsLeft(tokens.access.expiresAt, now),
      scope: [...user.scopes],
      firstLogin: p.firstLogin ?? null,
      loggedInUser: p.loggedInUser ?? null,
      userDetails: p.userDetails ?? null,
      persCode: p.persCode,
      userIntitutes: [...p.userIntitutes],
      civilId: p.civilId,
      userMobile: p.userMobile,
    },
  };
}

/**
 * What a ministry success envelope's `result` tells of the user: scopes and profile fields. A
 * field a user record cannot hold (not JSON, over 8 KiB, `userIntitutes` not a list) is left out.
 */
function ministryUser(result: Record<string, unknown>): UpstreamUser {
  const profile: Record<string, unknown> = {};
  for (const f of PROFILE_TEXT_FIELDS) {
    const v = textOf(result[f]);
    if (v !== undefined && v.length <= 254) profile[f] = v;
  }
  for (const f of PROFILE_JSON_FIELDS) {
    const v = result[f];
    if (v === undefined || v === null || (f === 'userIntitutes' && !Array.isArray(v)) || profileJson(v) === null) continue;
    profile[f] = v;
  }
  const scope = result.scope;
  const scopes = Array.isArray(scope) && scope.every((s) => typeof s === 'string') ? (scope as string[]) : undefined;
  return { ...(scopes === undefined ? {} : { scopes }), profile };
}

/**
 * A ministry login as its clients send it (`username`, `password` as JSON), and its answer read:
 * the v2 envelope with code 0 is a yes; `rejected(status, code)` tells the dialect's "bad
 * credentials"; anything else is no answer.
 */
export function ministryUpstream(rejected: (status: number, code: unknown) => boolean): UpstreamCodec {
  return {
    login: (command) => jsonRequest({ username: command.identifier.value, password: command.password }),
    readLogin(status, body) {
      const b = jsonObject(body);
      const result = b?.result;
      if (status === 200 && b?.code === 0 && typeof result === 'object' && result !== null)
        return { kind: 'accepted', user: ministryUser(result as Record<string, unknown>) };
      if (rejected(status, b?.code)) return { kind: 'rejected' };
      return { kind: 'failed', detail: `HTTP ${status}${b === null ? ', not a JSON object' : `, code ${JSON.stringify(b.code ?? null)}`}` };
    },
  };
}

export type IssuedOutcome = Extract<Outcome, { kind: 'issued' }>;

/** Every outcome but a success: what a ministry dialect answers in its own way. */
export type MinistryFailure = Exclude<Outcome, { kind: 'issued' | 'refreshed' }>;

/** The failures both ministry dialects tell apart, named as `MOH_CODES` names them. */
export type MinistryFailureName =
  | 'invalidToken'
  | 'badCredentials'
  | 'locked'
  | 'throttled'
  | 'invalidRequest'
  | 'methodNotAllowed'
  | 'unavailable'
  | 'internalError';

function failureName(outcome: MinistryFailure): MinistryFailureName {
  switch (outcome.kind) {
    case 'token_invalid':
      return 'invalidToken';
    case 'bad_credentials':
      return 'badCredentials';
    case 'locked':
    case 'throttled':
    case 'unavailable':
      return outcome.kind;
    case 'malformed':
      return 'invalidRequest';
    case 'method_not_allowed':
      return 'methodNotAllowed';
    case 'verified':
    case 'checked':
    case 'internal_error':
      return 'internalError';
  }
}

/**
 * How a ministry dialect answers a failure: `which` names it, `allow` is the `Allow` header of a
 * method not allowed (else undefined).
 */
export type MinistryFailureAnswer = (which: MinistryFailureName, outcome: MinistryFailure, allow?: Record<string, string>) => HttpAnswer;

const textRules = { trim: false, acceptNumbers: false, whitespaceIsBlank: true } as const;

/**
 * `moh` and `nehr` share requests (`username`/`password`, `refresh_token`), tokens (UUID v4
 * pairs) and the success envelope; they differ only in how they answer failures.
 */
export function ministryDialect(
  name: Extract<DialectName, 'moh' | 'nehr'>,
  failure: MinistryFailureAnswer,
  upstream: UpstreamCodec,
): Dialect {
  return {
    name,
    upstream,
    issues: { access: 'uuid', refresh: 'uuid' },
    allow: ['POST'],
    parseLogin(fields: Fields): ParseResult {
      return parseUsernamePassword(fields, textRules, textRules);
    },
    parseToken(_action: TokenAction, fields: Fields): TokenParseResult {
      return parseTokenField(fields, 'refresh_token', textRules);
    },
    decideToken: (_action, token, ports, policy) => ministryRefresh(name, token, ports, policy),
    render(outcome: Outcome): HttpAnswer {
      if (outcome.kind === 'issued' || (outcome.kind === 'refreshed' && outcome.user !== null)) {
        return jsonAnswer(200, ministryEnvelope(outcome.tokens, outcome.user as UserRecord, outcome.now));
      }
      const failed: MinistryFailure = outcome.kind === 'refreshed' ? { kind: 'internal_error' } : outcome;
      const allow = failed.kind === 'method_not_allowed' ? { allow: failed.allow.join(', ') } : undefined;
      return failure(failureName(failed), failed, allow);
    },
  };
}

/**
 * moh/nehr refresh: the refresh token is single-use. Trading it marks it used (atomically); a used
 * one presented again revokes every token of its login family. Either ministry dialect takes the
 * other's refresh tokens (one system, two envelopes).
 */
async function ministryRefresh(dialect: DialectName, token: string, ports: TokenPorts, policy: TokenPolicy): Promise<Outcome> {
  if (!UUID_V4.test(token)) return tokenRefusal('refresh', 'invalid');
  const st = await ports.useRefresh(token);
  if (st.state === 'used') {
    await ports.revokeFamily(st.record.userId, st.record.family, 'reuse');
    return tokenRefusal('refresh', 'reused');
  }
  if (st.state !== 'live') return tokenRefusal('refresh', st.state === 'wrong_kind' ? 'wrong_type' : 'invalid');
  if (st.record.dialect !== 'moh' && st.record.dialect !== 'nehr') return tokenRefusal('refresh', 'invalid');
  const user = await liveOwner(st.record, ports, st.owner);
  if (user === null) return tokenRefusal('refresh', 'invalid');
  const now = ports.now();
  const ctx = { now, userId: user.id, lifetimes: policy.lifetimes, signer: policy.signer };
  const grants = [await mintToken('uuid', 'access', ctx), await mintToken('uuid', 'refresh', ctx)];
  const tokens = await reissue(dialect, user, st.record.family, ports, grants);
  return tokens === null ? tokenRefusal('refresh', 'reused') : { kind: 'refreshed', tokens, user, now };
}
