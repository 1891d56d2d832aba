import { beforeAll, describe, expect, it } from 'vitest';
import { type LoginAttempt, loginEvents, loginRefusedEvent, passwordRehashedEvent, userMigratedEvent } from './login.ts';
import { type AuditEventCheck, auditEventCheck } from './schema.ts';

const attempt: LoginAttempt = { dialect: 'nehr', identifier: 'u:alice', ip: '127.0.0.1', userAgent: 'curl/8' };
let problem: AuditEventCheck;
beforeAll(async () => {
  problem = await auditEventCheck();
});
const parsed = (json: string) => {
  const e = JSON.parse(json) as unknown;
  expect(problem(e)).toBeUndefined();
  return e;
};

describe('login attempt events', () => {
  it('a success: login.succeeded and token.issued of its family, no lockout', () => {
    const { attempt: a, lock, more } = loginEvents(attempt, { success: true, userId: 7, lock: 'a:7', family: 'f1' });
    expect(parsed(a)).toMatchObject({ ...attempt, type: 'login.succeeded', userId: 7, outcome: 'success' });
    expect(lock).toBe('');
    expect(more.map(parsed)).toMatchObject([{ ...attempt, type: 'token.issued', userId: 7, outcome: 'issued', family: 'f1' }]);
  });

  it('a failure: login.failed (bad credentials unless told) and the lockout.engaged naming the lock, no user id for an unknown user', () => {
    const unknown = loginEvents(attempt, { success: false, lock: 'u:alice' });
    expect(parsed(unknown.attempt)).not.toHaveProperty('userId');
    expect(parsed(unknown.attempt)).toMatchObject({ ...attempt, type: 'login.failed', outcome: 'bad_credentials' });
    expect(parsed(unknown.lock)).toMatchObject({ ...attempt, type: 'lockout.engaged', identifier: 'u:alice', reason: 'failures' });
    expect(unknown.more).toStrictEqual([]);
    const known = loginEvents(attempt, { success: false, userId: 7, outcome: 'unavailable', lock: 'a:7' });
    expect(parsed(known.attempt)).toMatchObject({ type: 'login.failed', userId: 7, outcome: 'unavailable', identifier: 'u:alice' });
    expect(parsed(known.lock)).toMatchObject({ type: 'lockout.engaged', userId: 7, identifier: 'a:7' });
  });

  it('a refusal: login.failed with the outcome given, or none for the gate to fill in', () => {
    expect(parsed(loginRefusedEvent(attempt, 'unavailable'))).toMatchObject({ ...attempt, type: 'login.failed', outcome: 'unavailable' });
    expect(parsed(loginRefusedEvent(attempt))).not.toHaveProperty('outcome');
  });

  it('a rehash and a lazy migration at login: user.changed and user.migrated naming the attempt, nothing else', () => {
    const whole = (json: string) => {
      const { v, id, at, ...rest } = parsed(json) as Record<string, unknown>;
      return rest;
    };
    expect(whole(passwordRehashedEvent(attempt))).toStrictEqual({
      type: 'user.changed',
      ...attempt,
      reason: 'password_rehashed',
      outcome: 'rehashed',
    });
    expect(whole(userMigratedEvent(attempt))).toStrictEqual({ type: 'user.migrated', ...attempt, reason: 'upstream', outcome: 'updated' });
  });
});
