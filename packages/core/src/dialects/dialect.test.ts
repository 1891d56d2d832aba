import { describe, expect, it } from 'vitest';
import { makeUser, ministryTokens, NOW } from '../../test/fixtures.ts';
import { jsonAnswer, NO_STORE_HEADERS, retryAfterHeader, secondsLeft } from './dialect.ts';
import { ministryEnvelope } from './envelope.ts';

describe('NO_STORE_HEADERS and jsonAnswer', () => {
  it('carries JSON, no-store and no-cache, and cannot be changed', () => {
    expect(NO_STORE_HEADERS).toStrictEqual({ 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' });
    expect(Object.isFrozen(NO_STORE_HEADERS)).toBe(true);
  });

  it('serialises the body and merges extra headers without touching the shared ones', () => {
    const a = jsonAnswer(429, { b: 1, a: [null] }, { 'retry-after': '5' });
    expect(a).toStrictEqual({
      status: 429,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache', 'retry-after': '5' },
      body: '{"b":1,"a":[null]}',
    });
    expect(NO_STORE_HEADERS).toStrictEqual({ 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' });
  });
});

describe('secondsLeft', () => {
  it('counts whole seconds left as Spring does: lifetime - 1 right after issue', () => {
    const issuedAt = 1_695_604_880_000;
    const expiresAt = issuedAt + 86_400_000;
    expect(secondsLeft(expiresAt, issuedAt)).toBe(86_399);
    expect(secondsLeft(expiresAt, issuedAt + 999)).toBe(86_399);
    expect(secondsLeft(expiresAt, issuedAt + 1_000)).toBe(86_398);
    expect(secondsLeft(expiresAt, expiresAt - 1_001)).toBe(1);
    expect(secondsLeft(expiresAt, expiresAt - 1_000)).toBe(0);
    expect(secondsLeft(expiresAt, expiresAt)).toBe(0);
    expect(secondsLeft(expiresAt, expiresAt + 60_000)).toBe(0);
  });
});

describe('retryAfterHeader', () => {
  it('rounds up to whole seconds, at least 1', () => {
    expect(retryAfterHeader(30)).toStrictEqual({ 'retry-after': '30' });
    expect(retryAfterHeader(2.1)).toStrictEqual({ 'retry-after': '3' });
    expect(retryAfterHeader(0.2)).toStrictEqual({ 'retry-after': '1' });
    expect(retryAfterHeader(0)).toStrictEqual({ 'retry-after': '1' });
  });
});

describe('ministryEnvelope', () => {
  it('copies profile fields, scopes and institutes from the user record', () => {
    const user = makeUser({
      scopes: ['read'],
      profile: {
        persCode: null,
        civilId: '123456789',
        userMobile: '+96890000000',
        userIntitutes: [{ id: 7, name: 'Royal Hospital' }],
        firstLogin: true,
        loggedInUser: { id: 42 },
        userDetails: { name: 'Test' },
      },
    });
    const env = ministryEnvelope(ministryTokens(), user, NOW) as { result: Record<string, unknown> };
    expect(env.result).toStrictEqual({
      access_token: 'd0816a77-af67-43fc-bad1-2edb2aae3dc5',
      token_type: 'bearer',
      refresh_token: '542f00d0-4be3-4b47-940a-62e354b9c3e7',
      expires_in: 86_399,
      scope: ['read'],
      firstLogin: true,
      loggedInUser: { id: 42 },
      userDetails: { name: 'Test' },
      persCode: null,
      userIntitutes: [{ id: 7, name: 'Royal Hospital' }],
      civilId: '123456789',
      userMobile: '+96890000000',
    });
  });

  it('gives null for a missing refresh token and copies arrays rather than sharing them', () => {
    const { refresh: _refresh, ...tokens } = ministryTokens();
    const user = makeUser();
    const env = ministryEnvelope(tokens, user, NOW) as { result: { refresh_token: unknown; scope: unknown; userIntitutes: unknown } };
    expect(env.result.refresh_token).toBeNull();
    expect(env.result.scope).not.toBe(user.scopes);
    expect(env.result.userIntitutes).not.toBe(user.profile.userIntitutes);
  });
});
