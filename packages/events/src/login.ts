import { eventJson as json } from './event.ts';
import type { Dialect } from './types.ts';

/** Who tried to log in: what every event of one login attempt names. */
export interface LoginAttempt {
  readonly dialect: Dialect;
  /** The identifier as submitted and normalised: `u:<username>`, `e:<case-folded email>`. */
  readonly identifier: string;
  readonly ip?: string;
  readonly userAgent?: string;
}

/** What a verified (or refused) login attempt came to. */
export interface LoginEnd {
  readonly success: boolean;
  /** The user the identifier named, if any. */
  readonly userId?: number;
  /** A failure's outcome (default `bad_credentials`). */
  readonly outcome?: string;
  /** The lock the attempt was counted on: what a lockout.engaged event names. */
  readonly lock: string;
  /** The login family of the tokens a success issued. */
  readonly family?: string;
}

/** The JSON events of a finished login attempt, as the gate's finish script takes them. */
export interface LoginEvents {
  /** login.succeeded or login.failed. */
  readonly attempt: string;
  /** The lockout.engaged a failure may cause ('' after a success); the script fills in until and count. */
  readonly lock: string;
  /** token.issued with a success's tokens. */
  readonly more: readonly string[];
}

/**
 * The login.failed of an attempt refused without a verification, as JSON; without an outcome,
 * the gate's begin script fills it in (locked, throttled).
 */
export function loginRefusedEvent(attempt: LoginAttempt, outcome?: string): string {
  return json('login.failed', { ...attempt, outcome });
}

/** The events of a login attempt that was verified (or refused after its verification). */
export function loginEvents(attempt: LoginAttempt, end: LoginEnd): LoginEvents {
  const base = { ...attempt, userId: end.userId };
  return {
    attempt: end.success
      ? json('login.succeeded', { ...base, outcome: 'success' })
      : json('login.failed', { ...base, outcome: end.outcome ?? 'bad_credentials' }),
    lock: end.success ? '' : json('lockout.engaged', { ...base, identifier: end.lock, reason: 'failures' }),
    more: end.family === undefined ? [] : [json('token.issued', { ...base, outcome: 'issued', family: end.family })],
  };
}

/** The user.changed of a login that replaced a verified hash with argon2id of the current settings. */
export function passwordRehashedEvent(attempt: LoginAttempt): string {
  return json('user.changed', { ...attempt, reason: 'password_rehashed', outcome: 'rehashed' });
}

/**
 * The user.migrated of a login the old system vouched for (lazy migration); the store's script
 * that creates the user says `created`, one that sets a pending user's password keeps `updated`.
 */
export function userMigratedEvent(attempt: LoginAttempt): string {
  return json('user.migrated', { ...attempt, reason: 'upstream', outcome: 'updated' });
}
