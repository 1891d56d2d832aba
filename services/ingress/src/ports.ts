import type { Settings } from '@tessera/config';
import type { LoginPolicy, LoginPorts, OAuthPolicy, OAuthPorts, TokenPolicy, TokenPorts } from '@tessera/core';
import { jwtSigner } from '@tessera/core';
import type { PasswordHasher } from '@tessera/passwords';
import type { ClientRepository, TokenRepository, UserRepository } from '@tessera/store';
import type { Logger } from './log.ts';

export interface Deps {
  readonly users: UserRepository;
  readonly tokens: TokenRepository;
  readonly clients: ClientRepository;
  readonly hasher: PasswordHasher;
  readonly log: Logger;
}

/** Wires the login handler's ports to the store and the password hasher. */
export function loginPorts(deps: Deps): LoginPorts {
  return {
    findUser: (id) => deps.users.find(id),
    verifyPassword: (hash, password) => deps.hasher.verify(hash, password),
    saveTokens: (grants, record) => deps.tokens.save(grants, record),
    now: () => Date.now(),
    newFamilyId: () => crypto.randomUUID(),
    onError: (err, context) => deps.log.error('unexpected error', { context, err }),
  };
}

export function loginPolicy(settings: Settings): LoginPolicy {
  return { bodyLimit: settings.bodyLimit, lifetimes: settings.lifetimes, signer: jwtSigner(settings.jwtSigningKey) };
}

/** Wires the token operations' ports to the store. */
export function tokenPorts(deps: Deps): TokenPorts {
  return {
    lookup: (t) => deps.tokens.lookup(t),
    useRefresh: (t) => deps.tokens.useRefresh(t),
    consume: (t) => deps.tokens.consume(t),
    revokeFamily: async (family, reason) => {
      await deps.tokens.revokeFamily(family, reason);
    },
    isFamilyRevoked: (family) => deps.tokens.isFamilyRevoked(family),
    findUserById: (id) => deps.users.findById(id),
    saveTokens: (grants, record) => deps.tokens.save(grants, record),
    isBlacklisted: (jti) => deps.tokens.isBlacklisted(jti),
    blacklist: (token, jti, exp) => deps.tokens.blacklist(token, jti, exp),
    now: () => Date.now(),
    onError: (err, context) => deps.log.error('unexpected error', { context, err }),
  };
}

export function tokenPolicy(settings: Settings): TokenPolicy {
  return {
    ...loginPolicy(settings),
    rotateRefreshTokens: settings.jwtRotateRefreshTokens,
    blacklistAfterRotation: settings.jwtBlacklistAfterRotation,
  };
}

/** How long a verified (or refused) client credential is remembered in this process. */
const CLIENT_CACHE_MS = 5000;

/** Wires introspection and revocation to the store; client checks are cached for 5 s. */
export function oauthPorts(deps: Deps): OAuthPorts {
  const verified = new Map<string, { ok: boolean; until: number }>();
  return {
    authenticateClient: async (id, secret) => {
      const key = `${id}\u0000${secret}`;
      const now = Date.now();
      const hit = verified.get(key);
      if (hit !== undefined && hit.until > now) return hit.ok;
      const ok = await deps.clients.verify(id, secret);
      if (verified.size > 10_000) verified.clear();
      verified.set(key, { ok, until: now + CLIENT_CACHE_MS });
      return ok;
    },
    lookup: (t) => deps.tokens.lookup(t),
    isBlacklisted: (jti) => deps.tokens.isBlacklisted(jti),
    revokeToken: async (t) => {
      await deps.tokens.revoke(t, 'client');
    },
    revokeFamily: async (family) => {
      await deps.tokens.revokeFamily(family, 'client');
    },
    blacklist: (token, jti, exp) => deps.tokens.blacklist(token, jti, exp),
    now: () => Date.now(),
    onError: (err, context) => deps.log.error('unexpected error', { context, err }),
  };
}

export function oauthPolicy(settings: Settings): OAuthPolicy {
  return { bodyLimit: settings.bodyLimit, signer: jwtSigner(settings.jwtSigningKey) };
}
