import type { Outcome } from '../outcome.ts';
import type { IssuedTokens, UserRecord } from '../types.ts';
import { secondsLeft } from './dialect.ts';

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

export type IssuedOutcome = Extract<Outcome, { kind: 'issued' }>;
