import type { RevokeReason } from '@tessera/core';

/** The shapes TokenRepository (tokens.ts) takes and gives. */

/** A revocation announcement on the revocations channel. */
export interface RevocationMessage {
  readonly hashes: readonly string[];
  readonly reason: RevokeReason | 'blacklist' | 'renewed' | 'evicted';
}

/** The bounds of the token index (settings.tokenLimits): live tokens per login family, families per user. */
export interface TokenLimits {
  readonly perFamily: number;
  readonly familiesPerUser: number;
  /**
   * How long a JWT's record outlives its `exp`, ms: SimpleJWT's LEEWAY, during which the token
   * still verifies (absent: 0).
   */
  readonly jwtLeewayMs?: number;
}

/** Tokens a save took out of a family past the bounds, and revoked (reason `evicted`, one token.revoked event each). */
export interface Eviction {
  readonly userId: number;
  readonly family: string;
  /** How many of them were still live. */
  readonly count: number;
  /** The whole family went (past the families per user), not only its oldest tokens. */
  readonly whole: boolean;
}
