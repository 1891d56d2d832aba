import { decodeBody } from './body.ts';
import type { Dialect } from './dialects/dialect.ts';
import { isUnavailable } from './errors.ts';
import type { JwtSigner } from './jwt.ts';
import type { Outcome } from './outcome.ts';
import { mintPlan, type TokenLifetimes } from './tokens.ts';
import type { DialectName, Identifier, IssuedTokens, LoginCommand, RawRequest, TokenGrant, TokenRecord, UserRecord } from './types.ts';
import { type MigrationPlan, migratable, migrationPlan, type UpstreamVerdict } from './upstream.ts';

/** Who is logging in through which dialect, for the attempt's audit event. */
export interface LoginContext {
  readonly dialect: DialectName;
  readonly ip: string;
  readonly userAgent: string;
}

/**
 * An opened attempt: the lock it counts against (an existing account's, whichever form of
 * identifier named it; an unknown identifier's own) and its reservation of a verification there.
 */
export interface Reservation {
  readonly id: string;
  readonly lock: string;
}

/** What opening an attempt gave: the user (null when unknown) and the attempt's reservation, or a refusal. */
export type GateResult =
  | { readonly status: 'open'; readonly user: UserRecord | null; readonly reservation: Reservation }
  | { readonly status: 'locked'; readonly retryAfterMs: number }
  | { readonly status: 'throttled'; readonly retryAfterMs: number }
  /** N verifications against this lock are in flight: try again in a moment. */
  | { readonly status: 'busy'; readonly lock: string };

/** What the login handler needs from the outside world. Implemented by the store and passwords. */
export interface LoginPorts {
  /**
   * One round trip: rate limit, lockout, reservation of one password verification, the user.
   * Refusals (locked, throttled) are recorded with their event by the same step.
   */
  beginLogin(identifier: Identifier, ctx: LoginContext, firstTry: boolean): Promise<GateResult>;
  /** One round trip: closes the attempt (counts a failure or resets the count) with its events. */
  finishLogin(identifier: Identifier, ctx: LoginContext, reservation: Reservation, result: LoginResult): Promise<void>;
  /** Closes an opened attempt that was refused before any verification, recording its event. */
  abortLogin(identifier: Identifier, ctx: LoginContext, reservation: Reservation, outcome: 'unavailable'): Promise<void>;
  /** Records an attempt refused before it could be opened. */
  refuseLogin(identifier: Identifier, ctx: LoginContext, outcome: 'unavailable'): Promise<void>;
  /** A slot for one argon2 verification (bounded wait), or null when overloaded. */
  acquireVerifySlot(): Promise<(() => void) | null>;
  /** Verifies against `hash`, or against a fixed dummy hash when `hash` is null (same cost). */
  verifyPassword(hash: string | null, password: string): Promise<boolean>;
  /** Whether a hash that verified should give way to argon2id of the current settings (legacy, or weaker). */
  needsRehash(hash: string): boolean;
  /**
   * Replaces the user's hash by a fresh argon2id hash of the password just verified, only if the
   * stored hash is still `user.passwordHash`, recording `user.changed` (`password_rehashed`).
   */
  rehashPassword(user: UserRecord, password: string, ctx: LoginContext): Promise<void>;
  /** Whether this dialect has an old system that decides the first login of users Tessera does not know. */
  hasUpstream(dialect: DialectName): boolean;
  /** Asks the dialect's old system about the credentials (bounded by a timeout and a circuit breaker; never throws). */
  askUpstream(dialect: Dialect, command: LoginCommand, ctx: LoginContext): Promise<UpstreamVerdict>;
  /**
   * Takes over the user the old system just vouched for: creates it as planned with argon2id of
   * the password (or sets a pending user's password) and records `user.migrated`, in one step.
   * When the username or the old id is a user's here already: if that account is the login's own
   * (the same username but for case, or the same email for a login by email: a concurrent first
   * login made it), that user when this password verifies against it, else null; any other
   * account is a 'conflict' for the operator, and its password is never tried.
   */
  adoptUser(
    plan: MigrationPlan,
    command: LoginCommand,
    pending: UserRecord | null,
    ctx: LoginContext,
  ): Promise<UserRecord | null | 'conflict'>;
  /** Persists every token under its hash with a TTL equal to its lifetime. */
  saveTokens(grants: readonly TokenGrant[], record: (grant: TokenGrant) => TokenRecord): Promise<void>;
  now(): number;
  /** Waits until an attempt against this lock closes here, or `ms` pass, whichever comes first. */
  waitForTurn(lock: string, ms: number): Promise<void>;
  newFamilyId(): string;
  /** Told about every unexpected error (for logs); never about expected outcomes. */
  onError(err: unknown, context: string): void;
}

/** How an opened attempt ended. */
export interface LoginResult {
  readonly success: boolean;
  readonly user: UserRecord | null;
  readonly tokens?: IssuedTokens;
  /** A failure that was not bad credentials: the upstream answered nothing clear (still counted). */
  readonly outcome?: 'unavailable';
  /** A success that records the user's last login (LoginPolicy.recordsLastLogin), at the store's clock. */
  readonly recordLastLogin?: true;
}

export interface LoginPolicy {
  readonly bodyLimit: number;
  readonly lifetimes: TokenLifetimes;
  readonly signer: JwtSigner;
  /** How long a request may wait while N verifications of its identifier are in flight. */
  readonly busyWaitMs: number;
  /** The dialects whose successful logins record the user's last login (SimpleJWT's, with UPDATE_LAST_LOGIN). */
  readonly recordsLastLogin?: readonly DialectName[];
}

/** Retry-After for a permanent lock: an hour (nothing better can be promised). */
const PERMANENT_RETRY_S = 3600;

async function openAttempt(identifier: Identifier, ctx: LoginContext, ports: LoginPorts, policy: LoginPolicy): Promise<GateResult | null> {
  const deadline = ports.now() + policy.busyWaitMs;
  for (let first = true; ; first = false) {
    const gate = await ports.beginLogin(identifier, ctx, first);
    if (gate.status !== 'busy') return gate;
    if (ports.now() >= deadline) return null;
    // woken at once when an attempt closes in this process; other processes' are polled
    await ports.waitForTurn(gate.lock, 5 + Math.floor(Math.random() * 10));
  }
}

/** Decides the outcome of one login request. Never throws. */
export async function decideLogin(dialect: Dialect, req: RawRequest, ports: LoginPorts, policy: LoginPolicy): Promise<Outcome> {
  if (req.method !== 'POST') return { kind: 'method_not_allowed', method: req.method, allow: dialect.allow };
  const body = decodeBody(req.contentType, req.body, policy.bodyLimit);
  if (!body.ok) return { kind: 'malformed', problem: body.problem };
  const parsed = dialect.parseLogin(body.fields);
  if (!parsed.ok) return { kind: 'malformed', problem: parsed.problem };
  const { identifier, password } = parsed.command;
  const ctx: LoginContext = { dialect: dialect.name, ip: req.ip, userAgent: req.userAgent };
  try {
    const gate = await openAttempt(identifier, ctx, ports, policy);
    if (gate === null) {
      await ports.refuseLogin(identifier, ctx, 'unavailable');
      return { kind: 'unavailable' };
    }
    if (gate.status === 'locked')
      return { kind: 'locked', retryAfter: gate.retryAfterMs < 0 ? PERMANENT_RETRY_S : gate.retryAfterMs / 1000 };
    if (gate.status === 'throttled') return { kind: 'throttled', retryAfter: gate.retryAfterMs / 1000 };
    if (gate.status === 'busy') return { kind: 'unavailable' };
    const { user } = gate;
    if (
      (user === null || user.pendingUpstream === true) &&
      user?.disabled !== true &&
      ports.hasUpstream(dialect.name) &&
      migratable(parsed.command)
    )
      return await upstreamLogin(dialect, parsed.command, gate.reservation, user, ctx, ports, policy);
    const release = await ports.acquireVerifySlot();
    if (release === null) {
      await ports.abortLogin(identifier, ctx, gate.reservation, 'unavailable');
      return { kind: 'unavailable' };
    }
    let verified: boolean;
    try {
      // Unknown users cost one verification against the dummy hash, so timing says nothing.
      verified = await ports.verifyPassword(user?.passwordHash ?? null, password);
      // A legacy (or weaker) hash becomes argon2id at the first login, inside the same slot. A
      // failed upgrade never fails the login: the next one tries again.
      if (verified && user !== null && !user.disabled && ports.needsRehash(user.passwordHash))
        await ports.rehashPassword(user, password, ctx).catch((err: unknown) => {
          if (!isUnavailable(err)) ports.onError(err, `rehash:${dialect.name}`);
        });
    } finally {
      release();
    }
    if (user === null || !verified || user.disabled) {
      await ports.finishLogin(identifier, ctx, gate.reservation, { success: false, user });
      return { kind: 'bad_credentials' };
    }
    return await issue(dialect, identifier, ctx, gate.reservation, user, ports, policy);
  } catch (err) {
    if (isUnavailable(err)) return { kind: 'unavailable' };
    ports.onError(err, `login:${dialect.name}`);
    return { kind: 'internal_error' };
  }
}

/** Mints the dialect's tokens for a verified user, saves them, and closes the attempt as a success. */
async function issue(
  dialect: Dialect,
  identifier: Identifier,
  ctx: LoginContext,
  reservation: Reservation,
  user: UserRecord,
  ports: LoginPorts,
  policy: LoginPolicy,
): Promise<Outcome> {
  const now = ports.now();
  const family = ports.newFamilyId();
  const minted = await mintPlan(dialect.issues, { now, userId: user.id, lifetimes: policy.lifetimes, signer: policy.signer });
  const tokens: IssuedTokens =
    minted.refresh === undefined ? { access: minted.access, family } : { access: minted.access, refresh: minted.refresh, family };
  const grants = tokens.refresh === undefined ? [tokens.access] : [tokens.access, tokens.refresh];
  // Tokens first, then the attempt's record: a crash in between leaves tokens nobody received.
  await ports.saveTokens(grants, (g) => tokenRecord(g, dialect.name, user, family));
  // SimpleJWT's update_last_login follows the tokens too; it is written with the attempt's record
  const lastLogin = policy.recordsLastLogin?.includes(dialect.name) === true ? { recordLastLogin: true as const } : {};
  await ports.finishLogin(identifier, ctx, reservation, { success: true, user, tokens, ...lastLogin });
  return { kind: 'issued', tokens, user, now };
}

/**
 * Lazy migration: the old system decides a user Tessera does not know yet (or one imported as
 * pending). The attempt is already open, so the lockout counts it like any other: the old system
 * never sees more attempts for an identifier than the lockout lets through. A yes creates the
 * user (argon2id of the password just proven, inside a verify slot) and issues Tessera's tokens.
 */
async function upstreamLogin(
  dialect: Dialect,
  command: LoginCommand,
  reservation: Reservation,
  pending: UserRecord | null,
  ctx: LoginContext,
  ports: LoginPorts,
  policy: LoginPolicy,
): Promise<Outcome> {
  const { identifier } = command;
  const verdict = await ports.askUpstream(dialect, command, ctx);
  switch (verdict.kind) {
    case 'unreachable':
      // Nothing reached the old system: the attempt is not counted.
      await ports.abortLogin(identifier, ctx, reservation, 'unavailable');
      return { kind: 'unavailable' };
    case 'failed':
      await ports.finishLogin(identifier, ctx, reservation, { success: false, user: pending, outcome: 'unavailable' });
      return { kind: 'unavailable' };
    case 'rejected':
      await ports.finishLogin(identifier, ctx, reservation, { success: false, user: pending });
      return { kind: 'bad_credentials' };
    case 'accepted':
      break;
  }
  const release = await ports.acquireVerifySlot();
  if (release === null) {
    await ports.abortLogin(identifier, ctx, reservation, 'unavailable');
    return { kind: 'unavailable' };
  }
  let user: UserRecord | null | 'conflict';
  try {
    user = await ports.adoptUser(migrationPlan(command, verdict.user), command, pending, ctx);
  } finally {
    release();
  }
  if (user === 'conflict') {
    await ports.abortLogin(identifier, ctx, reservation, 'unavailable');
    return { kind: 'unavailable' };
  }
  if (user === null) {
    await ports.finishLogin(identifier, ctx, reservation, { success: false, user: pending });
    return { kind: 'bad_credentials' };
  }
  return issue(dialect, identifier, ctx, reservation, user, ports, policy);
}

/** Who a token belongs to: what its record keeps of the user. */
export type TokenOwner = Pick<UserRecord, 'id' | 'username' | 'scopes'>;

export function tokenRecord(g: TokenGrant, dialect: DialectName, user: TokenOwner, family: string): TokenRecord {
  const base = {
    kind: g.kind,
    format: g.format,
    dialect,
    userId: user.id,
    username: user.username,
    scopes: user.scopes,
    iat: Math.floor(g.issuedAt / 1000),
    exp: Math.floor(g.expiresAt / 1000),
    family,
  };
  return g.jti === undefined ? base : { ...base, jti: g.jti };
}
