import { type GateResult, type Identifier, normaliseEmail, type Reservation, rateGroup } from '@tessera/core';
import { guarded } from './errors.ts';
import type { KeyLayout } from './keys.ts';
import { BeginLogin, ClearLock, FinishLogin } from './lua-codes.ts';
import type { TesseraRedis } from './redis.ts';
import { decodeUser } from './users.ts';

export interface LockoutSettings {
  /** Failures inside the window that engage a lockout. */
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly lockMs: number;
  /** Each further lockout of an identifier lasts `growth` times the previous. */
  readonly growth: number;
  /** From the K-th lockout on, the lock is permanent (0: never). */
  readonly permanentAfter: number;
  /** Login attempts per client address (an IPv6 client: per /64) per rate window (0: no limit). */
  readonly rateLimit: number;
  readonly rateWindowMs: number;
  /** A reservation whose attempt never closed (its process died) lapses after this. */
  readonly reservationMs: number;
}

/** How long an account's lock history is kept after its last lock, for escalation. */
const ACCOUNT_LOCK_MEMORY_MS = 30 * 86_400_000;
/** An unknown identifier's lock never lasts longer ("permanent" included): its key must go. */
const UNKNOWN_LOCK_LONGEST_MS = 30 * 86_400_000;
/** Most entries the lockouts index keeps (the soonest to end leave first past it). */
export const LOCKOUT_INDEX_MAX = 100_000;

/** The lock name of a submitted identifier: usernames as given, emails case-folded. */
export function identifierKey(identifier: Identifier): string {
  return identifier.by === 'email' ? `e:${normaliseEmail(identifier.value)}` : `u:${identifier.value}`;
}

/** The lock name of an account. */
export function accountLock(userId: number): string {
  return `a:${userId}`;
}

/**
 * What an operator typed to name a lock: a lock name as listed (`a:7`, `u:alice`, `e:a@b.c`), or a
 * plain username or email.
 */
export function lockName(typed: string): string {
  if (/^(a:\d+$|u:)/.test(typed)) return typed;
  if (typed.startsWith('e:')) return identifierKey({ by: 'email', value: typed.slice(2) });
  return identifierKey(typed.includes('@') ? { by: 'email', value: typed } : { by: 'username', value: typed });
}

/** An account's lock history outlives its lock (escalation); an unknown identifier's, one window. */
function memoryOf(lock: string, s: LockoutSettings): number {
  return lock.startsWith('a:') ? ACCOUNT_LOCK_MEMORY_MS : s.windowMs;
}

/**
 * Lockout, rate limit and the login outbox, decided in Redis at request time: one Lua script opens
 * an attempt (and loads the user), one closes it with its events.
 */
export class LoginGate {
  constructor(
    private readonly redis: TesseraRedis,
    private readonly keys: KeyLayout,
    readonly settings: LockoutSettings,
  ) {}

  /**
   * Opens an attempt: its reservation names the lock it counts against for `finish`; the attempt
   * counts against the rate bucket of `address`'s group (an IPv6 client's /64, see rateGroup).
   * `refusalEvent` (JSON) is appended to the outbox, with its outcome filled in, when the answer
   * is locked or throttled.
   */
  async begin(identifier: Identifier, address: string, firstTry: boolean, reservation: string, refusalEvent: string): Promise<GateResult> {
    const name = identifierKey(identifier);
    const s = this.settings;
    const lookup = identifier.by === 'email' ? this.keys.email(normaliseEmail(identifier.value)) : this.keys.user(identifier.value);
    const r = await guarded(() =>
      this.redis.beginLogin(
        this.keys.lockout(name),
        this.keys.reservations(name),
        this.keys.rate(rateGroup(address)),
        lookup,
        s.maxFailures,
        s.windowMs,
        s.rateLimit,
        s.rateWindowMs,
        firstTry ? '1' : '0',
        reservation,
        s.reservationMs,
        identifier.by === 'email' ? 'e' : 'u',
        this.keys.indexPrefix,
        this.keys.outbox,
        refusalEvent,
        name,
      ),
    );
    const code = Number(r[0]) as BeginLogin;
    if (code === BeginLogin.Busy) return { status: 'busy', lock: String(r[1]) };
    if (code === BeginLogin.Locked) return { status: 'locked', retryAfterMs: Number(r[1]) };
    if (code === BeginLogin.Throttled) return { status: 'throttled', retryAfterMs: Number(r[1]) };
    const fields: Record<string, string> = {};
    for (let i = 2; i + 1 < r.length; i += 2) fields[String(r[i])] = String(r[i + 1]);
    return { status: 'open', user: decodeUser(fields), reservation: { id: reservation, lock: String(r[1]) } };
  }

  /**
   * Closes an attempt with its events; says whether this failure engaged a lockout. A success with
   * `lastLoginOf` also records that user's last login (`lastLogin`, ms), in the same step.
   */
  async finish(
    reservation: Reservation,
    success: boolean,
    attemptEvent: string,
    lockEvent: string,
    more: readonly string[],
    lastLoginOf?: string,
  ): Promise<boolean> {
    const s = this.settings;
    const { lock } = reservation;
    const r = await guarded(() =>
      this.redis.finishLogin(
        this.keys.lockout(lock),
        this.keys.reservations(lock),
        this.keys.outbox,
        this.keys.lockouts,
        // (`u:` alone names no user: nothing to record)
        this.keys.user(lastLoginOf ?? ''),
        reservation.id,
        success ? '1' : '0',
        s.maxFailures,
        s.windowMs,
        s.lockMs,
        lock,
        memoryOf(lock, s),
        LOCKOUT_INDEX_MAX,
        attemptEvent,
        lockEvent,
        lastLoginOf === undefined ? '0' : '1',
        ...more,
      ),
    );
    return Number(r[0]) === FinishLogin.LockEngaged;
  }

  /** Releases a reservation without counting it (the attempt was refused before any verify). */
  async release(reservation: Reservation): Promise<void> {
    await guarded(() => this.redis.zrem(this.keys.reservations(reservation.lock), reservation.id));
  }

  /** Whether an account's lock holds now (for a login that reaches the account by another road). */
  async accountLocked(userId: number): Promise<boolean> {
    const [until, permanent] = await guarded(() => this.redis.hmget(this.keys.lockout(accountLock(userId)), 'lockedUntil', 'permanent'));
    return permanent === '1' || Number(until ?? 0) > Date.now();
  }

  /** Appends one event to the outbox on its own (a refusal with no state change). */
  async appendEvent(event: string): Promise<void> {
    await guarded(() => this.redis.xadd(this.keys.outbox, '*', 'e', event));
  }

  /**
   * Applies growth and permanence to the n-th lockout of a lock that was engaged until `untilMs`
   * (the worker, on lockout.engaged); a late event (the lock cleared or over) does nothing.
   */
  async escalate(lock: string, n: number, untilMs: number): Promise<number> {
    const s = this.settings;
    const account = lock.startsWith('a:');
    return guarded(() =>
      this.redis.escalateLock(
        this.keys.lockout(lock),
        this.keys.lockouts,
        lock,
        n,
        untilMs,
        s.lockMs,
        s.growth,
        s.permanentAfter,
        memoryOf(lock, s),
        account ? 0 : UNKNOWN_LOCK_LONGEST_MS,
      ),
    );
  }

  /**
   * Admin unlock of what an operator typed (see lockName). When it names an account (its lock,
   * username or email), the account's lock and the locks of its username and email go together.
   * Returns the lock cleared (the account's when there is one; `event` builds its
   * lockout.released), or null when nothing was locked.
   */
  async clear(typed: string, event: (lock: string) => string): Promise<string | null> {
    const name = lockName(typed);
    const username = name.startsWith('a:')
      ? await guarded(() => this.redis.get(this.keys.userId(Number(name.slice(2)))))
      : name.startsWith('e:')
        ? await guarded(() => this.redis.get(this.keys.email(name.slice(2))))
        : name.slice(2);
    const [id, email] = username === null ? [null, null] : await guarded(() => this.redis.hmget(this.keys.user(username), 'id', 'email'));
    const locks = new Set<string>();
    if (id !== null && username !== null) {
      locks.add(accountLock(Number(id)));
      locks.add(identifierKey({ by: 'username', value: username }));
      if (email) locks.add(identifierKey({ by: 'email', value: email }));
    }
    locks.add(name);
    const lock = [...locks][0] as string;
    const cleared = await guarded(() =>
      this.redis.clearLock(this.keys.lockouts, this.keys.outbox, this.keys.indexPrefix, event(lock), ...locks),
    );
    return cleared === ClearLock.Cleared ? lock : null;
  }

  /**
   * Locks holding now, with the lock's end (ms; Infinity when permanent) and, for an account's
   * lock, its username.
   */
  async locked(): Promise<LockListing[]> {
    const now = Date.now();
    const flat = await guarded(() => this.redis.zrangebyscore(this.keys.lockouts, now, '+inf', 'WITHSCORES'));
    const out: LockListing[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const score = flat[i + 1] as string;
      out.push({ identifier: flat[i] as string, until: score === 'inf' ? Number.POSITIVE_INFINITY : Number(score) });
    }
    const accounts = out.filter((l) => l.identifier.startsWith('a:'));
    if (accounts.length > 0) {
      const names = await guarded(() => this.redis.mget(accounts.map((l) => this.keys.userId(Number(l.identifier.slice(2))))));
      accounts.forEach((l, i) => {
        const username = names[i];
        if (username !== null && username !== undefined) l.username = username;
      });
    }
    // drop expired entries from the index as we go
    await guarded(() => this.redis.zremrangebyscore(this.keys.lockouts, '-inf', now - 1));
    return out;
  }
}

export interface LockListing {
  /** The lock's name: `a:<user id>`, `u:<username>` or `e:<email>`. */
  readonly identifier: string;
  readonly until: number;
  /** An account lock's username. */
  username?: string;
}
