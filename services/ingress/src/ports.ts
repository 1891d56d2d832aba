import type { Settings } from '@tessera/config';
import type { Logger } from '@tessera/config/log';
import type {
  Identifier,
  LoginContext,
  LoginPolicy,
  LoginPorts,
  OAuthPolicy,
  OAuthPorts,
  TokenCache,
  TokenPolicy,
  TokenPorts,
} from '@tessera/core';
import { ClientCheckCache, type JwtSigner, TurnQueue, UserCache } from '@tessera/core';
import {
  type LoginAttempt,
  loginEvents,
  loginRefusedEvent,
  passwordRehashedEvent,
  tokenRefreshedEvent,
  userMigratedEvent,
} from '@tessera/events';
import type { PasswordHasher, VerifyPool } from '@tessera/passwords';
import { type ClientRepository, identifierKey, type LoginGate, type TokenRepository, tokenHash, type UserRepository } from '@tessera/store';
import { adoptUser } from './adopt.ts';
import type { Upstreams } from './upstream.ts';

export interface Deps {
  readonly users: UserRepository;
  readonly tokens: TokenRepository;
  readonly clients: ClientRepository;
  readonly gate: LoginGate;
  readonly pool: VerifyPool;
  readonly hasher: PasswordHasher;
  readonly log: Logger;
  /** Live access tokens remembered for introspection (absent: every introspection reads Redis). */
  readonly tokenCache?: TokenCache;
  /** The old systems of lazy migration (absent: none). */
  readonly upstreams?: Upstreams;
  /** SimpleJWT's keys and claim rules. */
  readonly signer: JwtSigner;
}

/** Who a login attempt's events name. */
function attemptFields(identifier: Identifier, ctx: LoginContext): LoginAttempt {
  return { dialect: ctx.dialect, identifier: identifierKey(identifier), ip: ctx.ip, userAgent: ctx.userAgent };
}

/** Wires the login handler's ports to the gate (lockout, outbox), the store and the verify pool. */
export function loginPorts(deps: Deps): LoginPorts {
  // requests waiting for a verification slot of a lock, woken when an attempt on it closes here
  const turns = new TurnQueue();
  return {
    beginLogin: async (identifier, ctx, firstTry) => {
      const refusal = loginRefusedEvent(attemptFields(identifier, ctx));
      return deps.gate.begin(identifier, ctx.ip, firstTry, crypto.randomUUID(), refusal);
    },
    finishLogin: async (identifier, ctx, reservation, result) => {
      // a lockout event names the lock (what the worker escalates and an operator clears)
      const { attempt, lock, more } = loginEvents(attemptFields(identifier, ctx), {
        success: result.success,
        userId: result.user?.id,
        outcome: result.outcome,
        lock: reservation.lock,
        family: result.tokens?.family,
      });
      const lastLoginOf = result.recordLastLogin === true ? result.user?.username : undefined;
      await deps.gate.finish(reservation, result.success, attempt, lock, more, lastLoginOf);
      turns.wake(reservation.lock);
    },
    abortLogin: async (identifier, ctx, reservation, outcome) => {
      await deps.gate.release(reservation);
      turns.wake(reservation.lock);
      await deps.gate.appendEvent(loginRefusedEvent(attemptFields(identifier, ctx), outcome), identifier);
    },
    refuseLogin: async (identifier, ctx, outcome) => {
      await deps.gate.appendEvent(loginRefusedEvent(attemptFields(identifier, ctx), outcome), identifier);
    },
    acquireVerifySlot: () => deps.pool.acquire(),
    verifyPassword: (hash, password) => deps.hasher.verify(hash, password),
    needsRehash: (hash) => deps.hasher.needsRehash(hash),
    rehashPassword: async (user, password, ctx) => {
      const fresh = await deps.hasher.hash(password);
      const event = passwordRehashedEvent(attemptFields({ by: 'username', value: user.username }, ctx));
      await deps.users.setPasswordHash(user.username, fresh, { expected: user.passwordHash, event });
    },
    hasUpstream: (dialect) => deps.upstreams?.has(dialect) === true,
    askUpstream: (dialect, command, ctx) =>
      deps.upstreams?.ask(dialect, command, ctx.ip) ?? Promise.resolve({ kind: 'unreachable', detail: 'no upstream' }),
    // the user.migrated event names the user as it is kept; putUsers says "created" of a new one
    adoptUser: (plan, command, pending, ctx) =>
      adoptUser(
        deps,
        plan,
        command,
        pending,
        ctx,
        userMigratedEvent(attemptFields({ by: 'username', value: pending?.username ?? plan.username }, ctx)),
      ),
    // tokens the index's bounds pushed out are revoked by then, with their events
    saveTokens: async (grants, record) => void (await deps.tokens.save(grants, record)),
    now: () => Date.now(),
    waitForTurn: (lock, ms) => turns.wait(lock, ms),
    newFamilyId: () => crypto.randomUUID(),
    onError: (err, context) => deps.log.error('unexpected error', { context, err }),
  };
}

export function loginPolicy(settings: Settings, signer: JwtSigner): LoginPolicy {
  return {
    bodyLimit: settings.bodyLimit,
    lifetimes: settings.lifetimes,
    signer,
    busyWaitMs: settings.lockout.busyWaitMs,
    // UPDATE_LAST_LOGIN is SimpleJWT's setting: its logins (pair and sliding views) record it
    recordsLastLogin: settings.jwtUpdateLastLogin ? ['simplejwt'] : [],
  };
}

/**
 * Wires the token operations' ports to the store. With the token memory, a live access token and
 * its owner are answered from it (the PEB check, SimpleJWT verify), as introspection is.
 */
export function tokenPorts(deps: Deps): TokenPorts {
  const cache = deps.tokenCache;
  const users = cache === undefined ? undefined : new UserCache({ maxAgeMs: cache.maxAgeMs, now: Date.now, active: () => cache.active });
  return {
    lookup: cache === undefined ? (t) => deps.tokens.lookup(t) : memoryFirst(deps.tokens, cache),
    useRefresh: (t) => deps.tokens.useRefresh(t),
    consume: (t) => deps.tokens.consume(t),
    revokeFamily: async (userId, family, reason) => void (await deps.tokens.revokeFamily(userId, family, reason)),
    findUserById:
      users === undefined
        ? (id, username) => deps.users.findById(id, username)
        : async (id, username) => {
            const known = users.get(id);
            if (known !== undefined) return known;
            const user = await deps.users.findById(id, username);
            if (user !== null) users.put(user);
            return user;
          },
    saveRefreshed: (grants, record, dialect, userId, family) =>
      deps.tokens.saveRefreshed(grants, record, family, tokenRefreshedEvent(dialect, userId, family)),
    isBlacklisted: (jti) => deps.tokens.isBlacklisted(jti),
    blacklist: (token, jti, exp) => deps.tokens.blacklist(token, jti, exp),
    now: () => Date.now(),
    onError: (err, context) => deps.log.error('unexpected error', { context, err }),
  };
}

export function tokenPolicy(settings: Settings, signer: JwtSigner): TokenPolicy {
  return {
    ...loginPolicy(settings, signer),
    rotateRefreshTokens: settings.jwtRotateRefreshTokens,
    blacklistAfterRotation: settings.jwtBlacklistAfterRotation,
  };
}

/** A lookup answered by the token memory when it knows the token, else by Redis (and then remembered). */
function memoryFirst(tokens: TokenRepository, cache: TokenCache): TokenPorts['lookup'] {
  const remembering = rememberingLookup(tokens, cache);
  return (token) => {
    const record = cache.get(token);
    return record === undefined ? remembering(token) : Promise.resolve({ state: 'live', record });
  };
}

/** A lookup that remembers live access tokens (TokenCache.put says which), unless a revocation arrived while it was in flight. */
function rememberingLookup(tokens: TokenRepository, cache: TokenCache): OAuthPorts['lookup'] {
  return async (token) => {
    const stamp = cache.stamp();
    const hash = tokenHash(token);
    const st = await tokens.lookup(token, hash);
    if (st.state === 'live') cache.put(stamp, token, hash, st.record);
    return st;
  };
}

/** Wires introspection and revocation to the store; client checks are remembered a moment (ClientCheckCache). */
export function oauthPorts(deps: Deps): OAuthPorts {
  const cache = deps.tokenCache;
  const clients = new ClientCheckCache((id, secret) => deps.clients.verify(id, secret), Date.now);
  return {
    authenticateClient: (id, secret) => clients.check(id, secret),
    clientVerified: (id, secret) => clients.known(id, secret),
    lookup: cache === undefined ? (t) => deps.tokens.lookup(t) : rememberingLookup(deps.tokens, cache),
    ...(cache === undefined ? {} : { cached: (t: string) => cache.get(t) }),
    isBlacklisted: (jti) => deps.tokens.isBlacklisted(jti),
    revokeToken: async (t) => void (await deps.tokens.revoke(t, 'client', 'oauth')),
    revokeFamily: async (userId, family) => void (await deps.tokens.revokeFamily(userId, family, 'client', 'oauth')),
    blacklist: (token, jti, exp) => deps.tokens.blacklist(token, jti, exp),
    now: () => Date.now(),
    onError: (err, context) => deps.log.error('unexpected error', { context, err }),
  };
}

export function oauthPolicy(settings: Settings, signer: JwtSigner): OAuthPolicy {
  return { bodyLimit: settings.bodyLimit, signer };
}
