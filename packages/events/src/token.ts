import { eventJson as json } from './event.ts';
import type { Dialect } from './types.ts';

/** A revocation as its audit event tells it. */
export interface TokenRevocation {
  /** Why: client, admin, user_disabled, password_changed, reuse, evicted. */
  readonly reason: string;
  /** How many of the tokens revoked were still there (live, or a used refresh token). */
  readonly count: number;
  /** Who asked, when another party did (`oauth`, `cli`); none when the service itself decided. */
  readonly dialect?: Dialect;
  readonly userId?: number;
  /** The login family revoked (none for one token, or every token of a user). */
  readonly family?: string;
}

/** The event of a revocation, as JSON: token.reuse_detected when a used refresh token came back, else token.revoked. */
export function tokenRevokedEvent({ dialect, userId, family, reason, count }: TokenRevocation): string {
  return json(reason === 'reuse' ? 'token.reuse_detected' : 'token.revoked', {
    dialect,
    userId,
    family,
    reason,
    count,
    outcome: 'revoked',
  });
}

/** The event of a refresh: new tokens joined a login family. */
export function tokenRefreshedEvent(dialect: Dialect, userId: number, family: string): string {
  return json('token.refreshed', { dialect, userId, family, outcome: 'refreshed' });
}
