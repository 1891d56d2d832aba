import { beforeAll, describe, expect, it } from 'vitest';
import { type AuditEventCheck, auditEventCheck } from './schema.ts';
import { tokenRefreshedEvent, tokenRevokedEvent } from './token.ts';

let problem: AuditEventCheck;
beforeAll(async () => {
  problem = await auditEventCheck();
});
/** An event's fields but its id, time and version, once it is known to be a schema-valid event. */
const fields = (json: string) => {
  const { v, id, at, ...rest } = JSON.parse(json) as Record<string, unknown>;
  expect(problem({ v, id, at, ...rest })).toBeUndefined();
  return rest;
};

describe('token events', () => {
  it('a revocation: token.revoked with who asked, what and why, only the fields given', () => {
    expect(fields(tokenRevokedEvent({ dialect: 'oauth', reason: 'client', count: 1 }))).toStrictEqual({
      type: 'token.revoked',
      dialect: 'oauth',
      reason: 'client',
      count: 1,
      outcome: 'revoked',
    });
    expect(fields(tokenRevokedEvent({ userId: 7, family: 'f1', reason: 'evicted', count: 0 }))).toStrictEqual({
      type: 'token.revoked',
      userId: 7,
      family: 'f1',
      reason: 'evicted',
      count: 0,
      outcome: 'revoked',
    });
  });

  it('a revocation for reuse is token.reuse_detected', () => {
    expect(fields(tokenRevokedEvent({ userId: 7, family: 'f1', reason: 'reuse', count: 3 }))).toStrictEqual({
      type: 'token.reuse_detected',
      userId: 7,
      family: 'f1',
      reason: 'reuse',
      count: 3,
      outcome: 'revoked',
    });
  });

  it('a refresh: token.refreshed of the family', () => {
    expect(fields(tokenRefreshedEvent('simplejwt', 7, 'f1'))).toStrictEqual({
      type: 'token.refreshed',
      dialect: 'simplejwt',
      userId: 7,
      family: 'f1',
      outcome: 'refreshed',
    });
  });
});
