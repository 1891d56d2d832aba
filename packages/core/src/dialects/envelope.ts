import type { Fields } from '../body.ts';
import type { Outcome, TokenAction } from '../outcome.ts';
import type { DialectName, HttpAnswer, IssuedTokens, UserRecord } from '../types.ts';
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

export type IssuedOutcome = Extract<Outcome, { kind: 'issued' }>;

/** Every outcome but a success: what a ministry dialect answers in its own way. */
export type MinistryFailure = Exclude<Outcome, { kind: 'issued' | 'refreshed' }>;

const textRules = { trim: false, acceptNumbers: false, whitespaceIsBlank: true } as const;

/**
 * `moh` and `nehr` share requests (`username`/`password`, `refresh_token`), tokens (UUID v4
 * pairs) and the success envelope; they differ only in how they answer failures.
 */
export function ministryDialect(name: Extract<DialectName, 'moh' | 'nehr'>, failure: (outcome: MinistryFailure) => HttpAnswer): Dialect {
  return {
    name,
    issues: { access: 'uuid', refresh: 'uuid' },
    allow: ['POST'],
    parseLogin(fields: Fields): ParseResult {
      return parseUsernamePassword(fields, textRules, textRules);
    },
    parseToken(_action: TokenAction, fields: Fields): TokenParseResult {
      return parseTokenField(fields, 'refresh_token', textRules);
    },
    render(outcome: Outcome): HttpAnswer {
      if (outcome.kind === 'issued' || (outcome.kind === 'refreshed' && outcome.user !== null)) {
        return jsonAnswer(200, ministryEnvelope(outcome.tokens, outcome.user as UserRecord, outcome.now));
      }
      return failure(outcome.kind === 'refreshed' ? { kind: 'internal_error' } : outcome);
    },
  };
}
