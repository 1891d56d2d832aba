import { type Identifier, normaliseEmail, rateGroup, type UserRecord } from '@tessera/core';
import { guarded } from './errors.ts';
import type { KeyLayout } from './keys.ts';
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
}

/** How long an identifier's lock history is kept, for escalation. */
const LOCK_MEMORY_MS = 30 * 86_400_000;
/** A reservation whose request died lapses after this. */
const RESERVATION_MS = 30_000;

export type BeginResult =
  | { readonly status: 'open'; readonly user: UserRecord | null }
  | { readonly status: 'locked'; readonly retryAfterMs: number }
  | { readonly status: 'throttled'; readonly retryAfterMs: number }
  | { readonly status: 'busy' };

/** The lockout key of an identifier: usernames as given, emails case-folded. */
export function identifierKey(identifier: Identifier): string {
  return identifier.by === 'email' ? `e:${normaliseEmail(identifier.value)}` : `u:${identifier.value}`;
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
   * Opens an attempt: `reservation` names it for `finish`; the attempt counts against the rate
   * bucket of `address`'s group (an IPv6 client's /64, see rateGroup). `refusalEvent` (JSON) is
   * appended to the outbox, with its outcome filled in, when the answer is locked or throttled.
   */
  async begin(identifier: Identifier, address: string, firstTry: boolean, reservation: string, refusalEvent: string): Promise<BeginResult> {
    const id = identifierKey(identifier);
    const s = this.settings;
    const lookup = identifier.by === 'email' ? this.keys.email(normaliseEmail(identifier.value)) : this.keys.user(identifier.value);
    const r = await guarded(() =>
      this.redis.beginLogin(
        this.keys.lockout(id),
        this.keys.reservations(id),
        this.keys.rate(rateGroup(address)),
        lookup,
        s.maxFailures,
        s.windowMs,
        s.rateLimit,
        s.rateWindowMs,
        firstTry ? '1' : '0',
        reservation,
        RESERVATION_MS,
        identifier.by === 'email' ? 'e' : 'u',
        this.keys.userPrefix,
        this.keys.outbox,
        refusalEvent,
      ),
    );
    const code = Number(r[0]);
    if (code === 2) return { status: 'busy' };
    if (code === 1) return { status: 'locked', retryAfterMs: Number(r[1]) };
    if (code === 3) return { status: 'throttled', retryAfterMs: Number(r[1]) };
    const fields: Record<string, string> = {};
    for (let i = 1; i + 1 < r.length; i += 2) fields[String(r[i])] = String(r[i + 1]);
    return { status: 'open', user: decodeUser(fields) };
  }

  /** Closes an attempt with its events; says whether this failure engaged a lockout. */
  async finish(
    identifier: Identifier,
    reservation: string,
    success: boolean,
    attemptEvent: string,
    lockEvent: string,
    more: readonly string[],
  ): Promise<boolean> {
    const id = identifierKey(identifier);
    const s = this.settings;
    const r = await guarded(() =>
      this.redis.finishLogin(
        this.keys.lockout(id),
        this.keys.reservations(id),
        this.keys.outbox,
        this.keys.lockouts,
        reservation,
        success ? '1' : '0',
        s.maxFailures,
        s.windowMs,
        s.lockMs,
        id,
        LOCK_MEMORY_MS,
        attemptEvent,
        lockEvent,
        ...more,
      ),
    );
    return Number(r[0]) === 1;
  }

  /** Releases a reservation without counting it (the attempt was refused before any verify). */
  async release(identifier: Identifier, reservation: string): Promise<void> {
    await guarded(() => this.redis.zrem(this.keys.reservations(identifierKey(identifier)), reservation));
  }

  /** Appends one event to the outbox on its own (a refusal with no state change). */
  async appendEvent(event: string): Promise<void> {
    await guarded(() => this.redis.xadd(this.keys.outbox, '*', 'e', event));
  }

  /** Applies growth and permanence to the n-th lockout (the worker, on lockout.engaged). */
  async escalate(identifierKeyValue: string, n: number, lockedAtMs: number): Promise<number> {
    const s = this.settings;
    return guarded(() =>
      this.redis.escalateLock(
        this.keys.lockout(identifierKeyValue),
        this.keys.lockouts,
        identifierKeyValue,
        n,
        lockedAtMs,
        s.lockMs,
        s.growth,
        s.permanentAfter,
        LOCK_MEMORY_MS,
      ),
    );
  }

  /** Admin unlock of an identifier key (`u:<username>` or `e:<email>`); false when it was not locked. */
  async clear(identifierKeyValue: string, event: string): Promise<boolean> {
    return (
      (await guarded(() =>
        this.redis.clearLock(this.keys.lockout(identifierKeyValue), this.keys.lockouts, this.keys.outbox, identifierKeyValue, event),
      )) === 1
    );
  }

  /** Identifiers locked now, with the lock's end (ms; Infinity when permanent). */
  async locked(): Promise<{ identifier: string; until: number }[]> {
    const now = Date.now();
    const flat = await guarded(() => this.redis.zrangebyscore(this.keys.lockouts, now, '+inf', 'WITHSCORES'));
    const out: { identifier: string; until: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const score = flat[i + 1] as string;
      out.push({ identifier: flat[i] as string, until: score === 'inf' ? Number.POSITIVE_INFINITY : Number(score) });
    }
    // drop expired entries from the index as we go
    await guarded(() => this.redis.zremrangebyscore(this.keys.lockouts, '-inf', now - 1));
    return out;
  }
}
