/**
 * Audit events: one per security-relevant change, committed with the change it describes.
 * Never carries a password, a token or a secret (token hashes are not included either).
 */

/** Bumped on any incompatible change of the event shape. */
export const EVENT_SCHEMA_VERSION = 1;

export const EVENT_TYPES = [
  'login.succeeded',
  'login.failed',
  'lockout.engaged',
  'lockout.released',
  'token.issued',
  'token.refreshed',
  'token.revoked',
  'token.reuse_detected',
  'user.changed',
  'user.migrated',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export type Dialect = 'moh' | 'nehr' | 'simplejwt' | 'peb' | 'oauth' | 'cli' | 'ops';

export interface AuditEvent {
  /** Schema version (EVENT_SCHEMA_VERSION). */
  readonly v: number;
  /** ULID: unique, sortable by time. Consumers deduplicate by it. */
  readonly id: string;
  readonly type: EventType;
  /** ISO 8601 UTC time of the change. */
  readonly at: string;
  readonly dialect?: Dialect;
  /**
   * The identifier as submitted and normalised (`u:<username>`, `e:<case-folded email>`); in
   * lockout events, the lock: `a:<user id>` for an account, else the identifier's own.
   */
  readonly identifier?: string;
  readonly userId?: number;
  readonly ip?: string;
  readonly userAgent?: string;
  /** e.g. success, bad_credentials, locked, throttled, unavailable, revoked, reuse. */
  readonly outcome?: string;
  /**
   * Why (revocations: client, admin, user_disabled, password_changed, reuse, and evicted: the
   * oldest tokens of a family, or a user's session that ends first, past the bounds of
   * TESSERA_MAX_TOKENS_PER_FAMILY and TESSERA_MAX_SESSIONS_PER_USER; lockouts: failures, admin).
   */
  readonly reason?: string;
  /** Login family of the tokens concerned. */
  readonly family?: string;
  /** How many tokens a revocation took. */
  readonly count?: number;
  /** When a lockout ends, ms since epoch. */
  readonly until?: number;
}
