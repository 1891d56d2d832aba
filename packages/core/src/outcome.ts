import type { IssuedTokens, TokenRecord, UserRecord } from './types.ts';

/** Why a request could not be understood. Dialects map each reason to their own wire form. */
export type ProblemReason =
  | 'missing' // a required field is absent
  | 'blank' // a required field is present but empty (or only white space)
  | 'null' // a required field is JSON null
  | 'invalid_type' // a field has a type the dialect refuses (object, list, boolean...)
  | 'invalid_format' // a field is a string of the wrong shape (e.g. a malformed email)
  | 'too_long' // an identifier over MAX_IDENTIFIER_CHARS (it would be stored in lockout keys)
  | 'prohibited_character' // a field holds a character the dialect refuses (DRF: NUL, a lone surrogate)
  | 'not_object' // the JSON body is valid but not an object
  | 'bad_json' // the body does not parse as JSON
  | 'bad_encoding' // the body is not valid UTF-8, or a form that does not decode
  | 'unsupported_media_type' // the content type is none of JSON, urlencoded, multipart
  | 'too_large'; // the body exceeds the configured limit

/** One field-level complaint, in dialect-neutral terms. */
export interface FieldProblem {
  readonly field: string;
  readonly reason: 'missing' | 'blank' | 'null' | 'invalid_type' | 'invalid_format' | 'too_long' | 'prohibited_character';
  /** For `prohibited_character`: the refused code units found, as DRF's validators report them (NUL, then the first lone surrogate). */
  readonly characters?: readonly number[];
}

export interface Problem {
  /** The first (most important) reason; field problems carry their own. */
  readonly reason: ProblemReason;
  /** Field problems in the order the dialect checks fields. */
  readonly fields?: readonly FieldProblem[];
  /** The offending content type, for `unsupported_media_type`. */
  readonly contentType?: string;
  /** A parser message, for `bad_json`. */
  readonly detail?: string;
}

/**
 * Every way a request to a token route can end. Handlers decide outcomes; dialect codecs decide
 * how an outcome looks on the wire. Nothing here knows HTTP.
 */
/** Operations on an existing token, each served by a route in every dialect that has it. */
export type TokenAction = 'refresh' | 'verify' | 'blacklist' | 'check';

/** Why a presented token was refused. */
export type TokenProblem =
  | 'invalid' // unknown, revoked, badly signed, or otherwise not a live token
  | 'expired' // known to have been valid, now past its expiry (PEB error 10)
  | 'wrong_type' // e.g. an access token where a refresh token belongs
  | 'no_type' // a well-signed SimpleJWT token without its type claim
  | 'no_id' // a well-signed SimpleJWT token without its id claim
  | 'no_exp' // a well-signed SimpleJWT token without `exp`
  | 'no_refresh_exp' // a well-signed SimpleJWT sliding token without its refresh_exp claim
  | 'refresh_expired' // a SimpleJWT sliding token past its refresh_exp claim: it no longer slides
  | 'blacklisted' // a SimpleJWT refresh token on the blacklist
  | 'reused'; // a rotated refresh token presented again: its whole family is now revoked

export type Outcome =
  | { readonly kind: 'issued'; readonly tokens: IssuedTokens; readonly user: UserRecord; readonly now: number }
  /**
   * A token operation replaced tokens: new pair (ministry), new access (+ refresh) JWT, renewed PEB
   * token. `user` is null where the operation does not load the user (SimpleJWT refresh).
   */
  | { readonly kind: 'refreshed'; readonly tokens: IssuedTokens; readonly user: UserRecord | null; readonly now: number }
  /** `claim`: the name of the claim a `no_refresh_exp` or `refresh_expired` is about (SimpleJWT names it). */
  | { readonly kind: 'token_invalid'; readonly action: TokenAction; readonly problem: TokenProblem; readonly claim?: string }
  /** SimpleJWT verify or blacklist succeeded: `{}`. */
  | { readonly kind: 'verified' }
  /** PEB check of a live token. */
  | { readonly kind: 'checked'; readonly record: TokenRecord; readonly user: UserRecord }
  | { readonly kind: 'bad_credentials' }
  | { readonly kind: 'locked'; readonly retryAfter: number }
  | { readonly kind: 'throttled'; readonly retryAfter: number }
  | { readonly kind: 'malformed'; readonly problem: Problem }
  | { readonly kind: 'method_not_allowed'; readonly method: string; readonly allow: readonly string[] }
  | { readonly kind: 'unavailable' }
  | { readonly kind: 'internal_error' };

export type OutcomeKind = Outcome['kind'];
