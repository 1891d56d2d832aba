/**
 * Shared vocabulary of Tessera. Pure types: nothing here performs I/O.
 */

/** The four wire dialects Tessera speaks. */
export type DialectName = 'moh' | 'nehr' | 'simplejwt' | 'peb';

/** The request as the runtime adapter hands it over: a small plain object, never a WHATWG Request. */
export interface RawRequest {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  /** The `content-type` header as sent (multipart boundaries are case-sensitive), or '' when absent. */
  readonly contentType: string;
  /** The body bytes, or null when the adapter refused to read an oversized body. */
  readonly body: Uint8Array | null;
  /** Peer address as seen by the adapter. */
  readonly ip: string;
  readonly userAgent: string;
  /** The `authorization` header, or '' when absent (client authentication of /oauth routes). */
  readonly authorization: string;
  /** The caller's `x-request-id`, or '' (the ingress then makes one). */
  readonly requestId?: string;
}

/** What a handler gives back to the adapter. The adapter writes it verbatim. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Profile fields the ministry envelope returns, as stored on the user. */
export interface UserProfile {
  readonly persCode: string | null;
  readonly civilId: string | null;
  readonly userMobile: string | null;
  readonly userIntitutes: unknown[];
  readonly firstLogin: unknown;
  readonly loggedInUser: unknown;
  readonly userDetails: unknown;
}

/** A user as the store returns it. */
export interface UserRecord {
  /** Positive integer, stable for the life of the user (SimpleJWT `user_id`). */
  readonly id: number;
  readonly username: string;
  readonly email: string | null;
  /** The stored password hash: argon2id (PHC), or a legacy format until the user's next login. */
  readonly passwordHash: string;
  readonly scopes: readonly string[];
  readonly disabled: boolean;
  /** Imported without a password of its own: the login dialect's upstream decides the first login. */
  readonly pendingUpstream?: true;
  /**
   * Django's `last_login`, ms since the epoch: imported, or recorded by a SimpleJWT login with
   * UPDATE_LAST_LOGIN. Absent: never (or not known).
   */
  readonly lastLogin?: number;
  readonly profile: UserProfile;
}

/** How a login names its user. */
export interface Identifier {
  readonly by: 'username' | 'email';
  readonly value: string;
}

/** Credentials a dialect extracted from a login request. */
export interface LoginCommand {
  readonly identifier: Identifier;
  readonly password: string;
}

/**
 * Kinds of tokens Tessera stores. A SimpleJWT sliding token is both: the bearer credential, and
 * the credential that gets the next one (its own refresh).
 */
export type TokenKind = 'access' | 'refresh' | 'sliding';

/** Token formats. */
export type TokenFormat = 'uuid' | 'hex128' | 'jwt';

/** One token to persist: its raw value is hashed by the store, never written. */
export interface TokenGrant {
  readonly value: string;
  readonly kind: TokenKind;
  readonly format: TokenFormat;
  /** Lifetime in whole seconds; the Redis TTL equals it. */
  readonly lifetime: number;
  /** Issue time, ms since epoch. */
  readonly issuedAt: number;
  /** Expiry, ms since epoch (issuedAt + lifetime * 1000). */
  readonly expiresAt: number;
  /** JWT id, where the token has one. */
  readonly jti?: string;
}

/** What the store records for every token, keyed by the token's hash. */
export interface TokenRecord {
  readonly kind: TokenKind;
  readonly format: TokenFormat;
  readonly dialect: DialectName;
  readonly userId: number;
  readonly username: string;
  readonly scopes: readonly string[];
  /** Seconds since epoch. */
  readonly iat: number;
  /** Seconds since epoch. */
  readonly exp: number;
  /** Login family: every token descended from one login shares it. */
  readonly family: string;
  readonly jti?: string;
}

/** A set of tokens issued together by one login. */
export interface IssuedTokens {
  readonly access: TokenGrant;
  readonly refresh?: TokenGrant;
  readonly family: string;
}
