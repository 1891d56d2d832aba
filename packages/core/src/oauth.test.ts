import { describe, expect, it } from 'vitest';
import { handleIntrospect, INACTIVE, introspectNow, type OAuthPorts } from './oauth.ts';
import { jwtSigner } from './tokens.ts';
import type { RawRequest, TokenRecord } from './types.ts';

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
const policy = { bodyLimit: 16_384, signer: jwtSigner('k'.repeat(40)) };

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

describe('introspectNow', () => {
  it('answers a remembered token of a verified client exactly as handleIntrospect does', async () => {
    const p = ports({ client: true, cached: RECORD });
    const now = introspectNow(request(`token=${TOKEN}`), p, policy);
    expect(now).toStrictEqual(await handleIntrospect(request(`token=${TOKEN}`), p, policy));
    const { active, username, scope, sub } = JSON.parse(now?.body ?? '{}') as Record<string, unknown>;
    expect({ active, username, scope, sub }).toStrictEqual({ active: true, username: 'alice', scope: 'read write', sub: '7' });
    // the same record gives the same answer object
    expect(introspectNow(request(`token=${TOKEN}`), p, policy)).toBe(now);
  });

  it('leaves the work to handleIntrospect when the client or the token is not in memory', () => {
    expect(introspectNow(request(`token=${TOKEN}`), ports({ client: undefined, cached: RECORD }), policy)).toBeUndefined();
    expect(introspectNow(request(`token=${TOKEN}`), ports({ client: false, cached: RECORD }), policy)).toBeUndefined();
    expect(introspectNow(request(`token=${TOKEN}`), ports({ client: true }), policy)).toBeUndefined();
    const { cached: _, ...withoutMemory } = ports({ client: true, cached: RECORD });
    expect(introspectNow(request(`token=${TOKEN}`), withoutMemory as OAuthPorts, policy)).toBeUndefined();
  });

  it('answers a bad request at once, as the long way would', async () => {
    const p = ports({ client: true, cached: RECORD });
    for (const [body, auth] of [
      ['', undefined],
      [`token=${TOKEN}`, 'Bearer x'],
    ] as const) {
      expect(introspectNow(request(body, auth), p, policy)).toStrictEqual(await handleIntrospect(request(body, auth), p, policy));
    }
  });

  it('says inactive once the remembered token has expired', () => {
    const expired = { ...RECORD, exp: NOW / 1000 };
    expect(introspectNow(request(`token=${TOKEN}`), ports({ client: true, cached: expired }), policy)).toBe(INACTIVE);
  });
});
