import { type GateResult, type Identifier, InvalidStateError, normaliseEmail, type Reservation, rateGroup } from '@tessera/core';
import { guarded } from './errors.ts';
import type { KeyLayout } from './keys.ts';
import { BeginLogin, ClearLock, EscalateLock, FinishLogin } from './lua-codes.ts';
import type { TesseraRedis } from './redis.ts';
import { decodeUser } from './user-record.ts';

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
/** Most entries the lockouts indexes keep together (each shard's index: its share, the soonest to end leave first past it). */
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

/** The text whose shard holds a lock other than an account's: the username or email it names. */
function lockText(lock: string): string {
  return lock.slice(2);
}

/** A reservation id the gate hands out names the shard of its lock: `<shard>/<caller's id>`. */
function shardOfReservation(id: string): number {
  return Number(id.slice(0, id.indexOf('/')));
}

/**
 * Lockout, rate limit and the login outbox, decided in Redis at request time: one Lua script opens
 * an attempt (and loads the user) in the account's shard, one closes it with its events; the
 * address's rate counter (its own slot) is counted in the same round trip. A login by email reads
 * the email's index entry first (keys.ts: it is in the email's shard), then opens in the account's.
 */
export class LoginGate {
  constructor(
    private readonly redis: TesseraRedis,
    private readonly keys: KeyLayout,
    readonly settings: LockoutSettings,
  ) {}

  /** The shard of an identifier's own lock: the username's, or the (case-folded) email's. */
  private identifierShard(identifier: Identifier): number {
    return this.keys.shardOf(lockText(identifierKey(identifier)));
  }

  /**
   * Opens an attempt: its reservation names the lock it counts against for `finish`; the attempt
   * counts against the rate bucket of `address`'s group (an IPv6 client's /64, see rateGroup).
   * `refusalEvent` (JSON) is appended to the outbox, with its outcome filled in, when the answer
   * is locked or throttled (throttled: the first refusal of the address's window only).
   */
  async begin(identifier: Identifier, address: string, firstTry: boolean, reservation: string, refusalEvent: string): Promise<GateResult> {
    const name = identifierKey(identifier);
    const s = this.settings;
    const home = this.identifierShard(identifier);
    const counted =
      s.rateLimit > 0 && firstTry ? guarded(() => this.redis.countRate(this.keys.rate(rateGroup(address)), s.rateWindowMs)) : undefined;
    const lookup = identifier.by === 'email' ? this.keys.email(normaliseEmail(identifier.value)) : this.keys.user(identifier.value);
    const mode = identifier.by === 'email' ? 'e' : 'u';
    const first = this.open(home, name, lookup, mode, name, '', reservation, refusalEvent);
    const [r, rate] = await Promise.all([first, counted]);
    if (rate !== undefined && rate[0] > s.rateLimit) {
      if (Number(r[0]) === BeginLogin.Reserved) await this.release({ id: `${home}/${reservation}`, lock: String(r[1]) });
      // only the first refusal of a window is an event: an address past its limit could otherwise
      // fill the outbox as fast as it sends
      if (rate[0] === s.rateLimit + 1 && refusalEvent !== '')
        await guarded(() =>
          this.redis.xadd(this.keys.outbox(home), '*', 'e', JSON.stringify({ ...JSON.parse(refusalEvent), outcome: 'throttled' })),
        );
      return { status: 'throttled', retryAfterMs: rate[1] };
    }
    let answer = { shard: home, r };
    if (Number(r[0]) === BeginLogin.Elsewhere) {
      const username = String(r[1]);
      const shard = this.keys.shardOf(username);
      const email = normaliseEmail(identifier.value);
      const own = `u:${username}`;
      answer = { shard, r: await this.open(shard, own, this.keys.user(username), 'u', '', email, reservation, refusalEvent) };
      // the email's index entry names an account that does not hold the email (user-batch.ts: a step
      // that never completed): the email is unknown
      if (Number(answer.r[0]) === BeginLogin.Stale)
        answer = { shard: home, r: await this.open(home, name, lookup, 'e', name, '1', reservation, refusalEvent) };
    }
    const code = Number(answer.r[0]) as BeginLogin;
    const out = answer.r;
    if (code === BeginLogin.Busy) return { status: 'busy', lock: String(out[1]) };
    if (code === BeginLogin.Locked) return { status: 'locked', retryAfterMs: Number(out[1]) };
    if (code !== BeginLogin.Reserved) throw new InvalidStateError(`beginLogin answered ${code}`);
    const fields: Record<string, string> = {};
    for (let i = 2; i + 1 < out.length; i += 2) fields[String(out[i])] = String(out[i + 1]);
    return { status: 'open', user: decodeUser(fields), reservation: { id: `${answer.shard}/${reservation}`, lock: String(out[1]) } };
  }

  /** beginLogin-3.lua in one shard, against the identifier lock `name` ('' for none). */
  private open(
    shard: number,
    name: string,
    lookup: string,
    mode: 'u' | 'e',
    identifierLock: string,
    last: string,
    reservation: string,
    refusalEvent: string,
  ): Promise<(string | number)[]> {
    const s = this.settings;
    return guarded(() =>
      this.redis.beginLogin(
        this.keys.lockout(name, shard),
        this.keys.reservations(name, shard),
        lookup,
        s.maxFailures,
        s.windowMs,
        `${shard}/${reservation}`,
        s.reservationMs,
        mode,
        this.keys.shardPrefix(shard),
        this.keys.outbox(shard),
        refusalEvent,
        identifierLock,
        last,
      ),
    );
  }

  /**
   * Closes an attempt with its events; says whether this failure engaged a lockout. A success with
   * `lastLoginOf` also records that user's last login (`lastLogin`, ms): in the same step when the
   * user is in the lock's shard (an account's lock always is), else beside it.
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
    const shard = shardOfReservation(reservation.id);
    const here = lastLoginOf !== undefined && this.keys.shardOf(lastLoginOf) === shard;
    const [r] = await Promise.all([
      guarded(() =>
        this.redis.finishLogin(
          this.keys.lockout(lock, shard),
          this.keys.reservations(lock, shard),
          this.keys.outbox(shard),
          this.keys.lockouts(shard),
          // (`<shard>u:` alone names no user: nothing to record)
          here ? this.keys.user(lastLoginOf) : `${this.keys.shardPrefix(shard)}u:`,
          reservation.id,
          success ? '1' : '0',
          s.maxFailures,
          s.windowMs,
          s.lockMs,
          lock,
          memoryOf(lock, s),
          this.indexMax(),
          attemptEvent,
          lockEvent,
          here ? '1' : '0',
          ...more,
        ),
      ),
      success && lastLoginOf !== undefined && !here
        ? guarded(() => this.redis.patchUser(this.keys.user(lastLoginOf), 'lastLogin', String(Date.now())))
        : undefined,
    ]);
    return Number(r[0]) === FinishLogin.LockEngaged;
  }

  /** Each shard's share of LOCKOUT_INDEX_MAX. */
  private indexMax(): number {
    return Math.ceil(LOCKOUT_INDEX_MAX / this.keys.shards);
  }

  /** Releases a reservation without counting it (the attempt was refused before any verify). */
  async release(reservation: Reservation): Promise<void> {
    const shard = shardOfReservation(reservation.id);
    await guarded(() => this.redis.zrem(this.keys.reservations(reservation.lock, shard), reservation.id));
  }

  /** Whether an account's lock holds now (for a login that reaches the account by another road). */
  async accountLocked(user: { readonly id: number; readonly username: string }): Promise<boolean> {
    const key = this.keys.lockout(accountLock(user.id), this.keys.shardOf(user.username));
    const [until, permanent] = await guarded(() => this.redis.hmget(key, 'lockedUntil', 'permanent'));
    return permanent === '1' || Number(until ?? 0) > Date.now();
  }

  /**
   * Appends one event to the outbox on its own (a refusal with no state change, an operator's
   * change): the outbox of the shard of `about`, the identifier or username it concerns.
   */
  async appendEvent(event: string, about: Identifier): Promise<void> {
    await guarded(() => this.redis.xadd(this.keys.outbox(this.identifierShard(about)), '*', 'e', event));
  }

  /** The shard of a lock: its username's or email's; an account's, its username's (null: the account is gone). */
  private async lockShard(lock: string): Promise<number | null> {
    if (!lock.startsWith('a:')) return this.keys.shardOf(lockText(lock));
    const username = await guarded(() => this.redis.get(this.keys.userId(Number(lockText(lock)))));
    return username === null ? null : this.keys.shardOf(username);
  }

  /**
   * Applies growth and permanence to the n-th lockout of a lock that was engaged until `untilMs`
   * (the worker, on lockout.engaged); a late event (the lock cleared or over, the account gone)
   * does nothing.
   */
  async escalate(lock: string, n: number, untilMs: number): Promise<number> {
    const s = this.settings;
    const account = lock.startsWith('a:');
    const shard = await this.lockShard(lock);
    if (shard === null) return EscalateLock.Late;
    return guarded(() =>
      this.redis.escalateLock(
        this.keys.lockout(lock, shard),
        this.keys.lockouts(shard),
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
   * username or email), the account's lock and the locks of its username and email go together
   * (each in its shard: one step per shard, the event appended once after them).
   * Returns the lock cleared (the account's when there is one; `event` builds its
   * lockout.released), or null when nothing was locked.
   */
  async clear(typed: string, event: (lock: string) => string): Promise<string | null> {
    const name = lockName(typed);
    const username = name.startsWith('a:')
      ? await guarded(() => this.redis.get(this.keys.userId(Number(lockText(name)))))
      : name.startsWith('e:')
        ? await guarded(() => this.redis.get(this.keys.email(lockText(name))))
        : lockText(name);
    const [id, email] = username === null ? [null, null] : await guarded(() => this.redis.hmget(this.keys.user(username), 'id', 'email'));
    const locks = new Map<string, number>();
    if (id !== null && username !== null) {
      locks.set(accountLock(Number(id)), this.keys.shardOf(username));
      locks.set(identifierKey({ by: 'username', value: username }), this.keys.shardOf(username));
      if (email) locks.set(identifierKey({ by: 'email', value: email }), this.keys.shardOf(email));
    }
    // an account's lock whose account is gone: its shard is unknown, nothing to clear there
    if (!locks.has(name) && !name.startsWith('a:')) locks.set(name, this.keys.shardOf(lockText(name)));
    if (locks.size === 0) return null;
    const byShard = new Map<number, string[]>();
    for (const [lock, shard] of locks) byShard.set(shard, [...(byShard.get(shard) ?? []), lock]);
    const cleared = await guarded(() =>
      Promise.all(
        [...byShard].map(([shard, names]) =>
          this.redis.clearLock(this.keys.lockouts(shard), this.keys.outbox(shard), this.keys.shardPrefix(shard), '', ...names),
        ),
      ),
    );
    if (!cleared.includes(ClearLock.Cleared)) return null;
    const [lock, shard] = [...locks][0] as [string, number];
    await guarded(() => this.redis.xadd(this.keys.outbox(shard), '*', 'e', event(lock)));
    return lock;
  }

  /**
   * Locks holding now (soonest to end first), with the lock's end (ms; Infinity when permanent)
   * and, for an account's lock, its username.
   */
  async locked(): Promise<LockListing[]> {
    const now = Date.now();
    const shards = Array.from({ length: this.keys.shards }, (_, k) => k);
    const lists = await guarded(() =>
      Promise.all(shards.map((k) => this.redis.zrangebyscore(this.keys.lockouts(k), now, '+inf', 'WITHSCORES'))),
    );
    const out: LockListing[] = [];
    for (const flat of lists) {
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const score = flat[i + 1] as string;
        out.push({ identifier: flat[i] as string, until: score === 'inf' ? Number.POSITIVE_INFINITY : Number(score) });
      }
    }
    out.sort((a, b) => a.until - b.until);
    const accounts = out.filter((l) => l.identifier.startsWith('a:'));
    if (accounts.length > 0) {
      // one GET each: the id index entries are in their ids' shards
      const names = await guarded(() => Promise.all(accounts.map((l) => this.redis.get(this.keys.userId(Number(lockText(l.identifier)))))));
      accounts.forEach((l, i) => {
        const username = names[i];
        if (username !== null && username !== undefined) l.username = username;
      });
    }
    // drop expired entries from the indexes as we go
    await guarded(() => Promise.all(shards.map((k) => this.redis.zremrangebyscore(this.keys.lockouts(k), '-inf', now - 1))));
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
