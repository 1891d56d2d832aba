import { describe, expect, it } from 'vitest';
import { POLICY } from '../test/fixtures.ts';
import { handleIntrospect, INACTIVE, type OAuthPorts } from './oauth.ts';
import type { HttpAnswer, RawRequest, TokenRecord } from './types.ts';

const NOW = 1_800_000_000_000;
const TOKEN = '2b7f4c4e-8a1d-4d3e-9f65-0c7a1b2c3d4e';
const RECORD: TokenRecord = {
  kind: 'access',
  format: 'uuid',
  dialect: 'moh',
  userId: 7,
  username: 'alice',
  scopes: ['read', 'write'],
  iat: NOW / 1000 - 10,
  exp: NOW / 1000 + 3600,
  family: 'fam',
};
const policy = { bodyLimit: 16_384, signer: POLICY.signer };

function request(body: string, authorization = `Basic ${btoa('svc:secret')}`): RawRequest {
  return {
    method: 'POST',
    path: '/oauth/introspect',
    contentType: 'application/x-www-form-urlencoded',
    body: new TextEncoder().encode(body),
    ip: '127.0.0.1',
    userAgent: '',
    authorization,
  };
}

/** Ports over plain maps: what the store would say, and what memory holds. */
function ports(memory: { client?: boolean; cached?: TokenRecord }): OAuthPorts {
  return {
    authenticateClient: async (id, secret) => id === 'svc' && secret === 'secret',
    clientVerified: () => memory.client,
    cached: (t) => (t === TOKEN ? memory.cached : undefined),
    lookup: async (t) => (t === TOKEN ? { state: 'live', record: RECORD } : { state: 'unknown' }),
    isBlacklisted: async () => false,
    revokeToken: async () => {},
    revokeFamily: async () => {},
    blacklist: async () => {},
    now: () => NOW,
    onError: () => {},
  } as OAuthPorts;
}

/** The Redis way: ports that remember nothing, so the same answer has to come from lookup. */
const longWay = (p: OAuthPorts): OAuthPorts => ({ ...p, clientVerified: () => undefined, cached: () => undefined });

describe('handleIntrospect from memory', () => {
  it('answers a remembered token of a verified client at once, exactly as the long way does', async () => {
    const p = ports({ client: true, cached: RECORD });
    const now = handleIntrospect(request(`token=${TOKEN}`), p, policy);
    expect(now).not.toBeInstanceOf(Promise);
    const slow = handleIntrospect(request(`token=${TOKEN}`), longWay(p), policy);
    expect(slow).toBeInstanceOf(Promise);
    expect(now).toStrictEqual(await slow);
    const { active, username, scope, sub } = JSON.parse((now as HttpAnswer).body) as Record<string, unknown>;
    expect({ active, username, scope, sub }).toStrictEqual({ active: true, username: 'alice', scope: 'read write', sub: '7' });
    // the same record gives the same answer object
    expect(handleIntrospect(request(`token=${TOKEN}`), p, policy)).toBe(now);
  });

  it('takes the long way when the client or the token is not in memory', async () => {
    const expected = await handleIntrospect(request(`token=${TOKEN}`), longWay(ports({})), policy);
    for (const p of [ports({ client: undefined, cached: RECORD }), ports({ client: false, cached: RECORD }), ports({ client: true })]) {
      const answer = handleIntrospect(request(`token=${TOKEN}`), p, policy);
      expect(answer).toBeInstanceOf(Promise);
      expect(await answer).toStrictEqual(expected);
    }
  });

  it('answers a bad request at once, as the long way does', () => {
    const p = ports({ client: true, cached: RECORD });
    for (const [body, auth] of [
      ['', undefined],
      [`token=${TOKEN}`, 'Bearer x'],
    ] as const) {
      const answer = handleIntrospect(request(body, auth), p, policy);
      expect(answer).not.toBeInstanceOf(Promise);
      expect((answer as HttpAnswer).status).toBe(auth === undefined ? 400 : 401);
      expect(answer).toStrictEqual(handleIntrospect(request(body, auth), longWay(p), policy));
    }
  });

  it('says inactive once the remembered token has expired', () => {
    const expired = { ...RECORD, exp: NOW / 1000 };
    expect(handleIntrospect(request(`token=${TOKEN}`), ports({ client: true, cached: expired }), policy)).toBe(INACTIVE);
  });
});
