import type { Fields } from '../body.ts';
import type { TokenPolicy, TokenPorts } from '../lifecycle.ts';
import type { Outcome, Problem, TokenAction } from '../outcome.ts';
import type { DialectName, HttpAnswer, LoginCommand, TokenFormat } from '../types.ts';
import type { UpstreamCodec } from '../upstream.ts';

export type ParseResult = { readonly ok: true; readonly command: LoginCommand } | { readonly ok: false; readonly problem: Problem };

export type TokenParseResult = { readonly ok: true; readonly token: string } | { readonly ok: false; readonly problem: Problem };

/** What a dialect issues on a successful login. */
export interface IssuePlan {
  readonly access: TokenFormat;
  /** Absent when the dialect has a single token (PEB, SimpleJWT's sliding views). */
  readonly refresh?: TokenFormat;
  /** The single token is a SimpleJWT sliding token (kind `sliding`): it refreshes itself. */
  readonly sliding?: true;
}

/**
 * One wire dialect: how its requests read, what its token routes do, and how each outcome looks. A
 * new dialect is a new module implementing this, plus its paths in `routeTable` (routes.ts).
 */
export interface Dialect {
  readonly name: DialectName;
  readonly issues: IssuePlan;
  /** Methods the login route answers, for `Allow`. */
  readonly allow: readonly string[];
  /** The answer to OPTIONS on a route of the given action, where the original system gives one. */
  options?(action?: 'login' | TokenAction): HttpAnswer;
  /** Extracts credentials from decoded body fields, checking fields in the dialect's order. */
  parseLogin(fields: Fields): ParseResult;
  /** Extracts the token a token operation takes, in the dialect's field name and rules. */
  parseToken(action: TokenAction, fields: Fields): TokenParseResult;
  /**
   * What the dialect does with the token one of its token routes was given (already read by
   * `parseToken`): its own rules for refresh, verify, blacklist or check. May throw (the caller
   * answers `unavailable` or `internal_error`).
   */
  decideToken(action: TokenAction, token: string, ports: TokenPorts, policy: TokenPolicy): Promise<Outcome>;
  /** Renders an outcome in the dialect's wire form. */
  render(outcome: Outcome): HttpAnswer;
  /** The dialect as a client of its old system speaks it (lazy migration). */
  readonly upstream: UpstreamCodec;
}

/**
 * The old system each dialect's users come from (lazy migration): `moh` and `nehr` are the
 * ministry's one system, spoken in two envelopes.
 */
export const OLD_SYSTEM_OF: Readonly<Record<DialectName, string>> = { moh: 'moh', nehr: 'moh', simplejwt: 'simplejwt', peb: 'peb' };

/** Headers every token-route answer carries (RFC 6749 §5.1). */
export const NO_STORE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
  'cache-control': 'no-store',
  pragma: 'no-cache',
});

export function jsonAnswer(status: number, body: unknown, extra?: Record<string, string>): HttpAnswer {
  return { status, headers: extra === undefined ? NO_STORE_HEADERS : { ...NO_STORE_HEADERS, ...extra }, body: JSON.stringify(body) };
}

/** Whole seconds left until `expiresAt`, as Spring's `expires_in` counts them (86399 right after issue). */
export function secondsLeft(expiresAt: number, now: number): number {
  return Math.max(0, Math.floor((expiresAt - now - 1) / 1000));
}

export function retryAfterHeader(seconds: number): Record<string, string> {
  return { 'retry-after': String(Math.max(1, Math.ceil(seconds))) };
}
