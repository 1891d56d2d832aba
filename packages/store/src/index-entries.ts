import type { UserRecord } from '@tessera/core';
import keySlot from 'cluster-key-slot';
import { guarded } from './errors.ts';
import type { KeyLayout } from './keys.ts';
import { ClaimIndex } from './lua-codes.ts';
import type { TesseraRedis } from './redis.ts';

/**
 * The email and id index entries of accounts (keys.ts: each in its own shard), claimed, settled,
 * released and repaired across slots for UserRepository (user-batch.ts says the steps and what a crash
 * between them leaves). The entries of one slot go in one script call.
 */

/** A user's write on its way through the steps: the entries it claimed, and those to settle. */
export interface Claimant {
  readonly user: { readonly username: string };
  /** Index entries this write claimed (released if the account's step refuses). */
  readonly claimed: string[];
  /** Index entries pending for this write, claimed or its own already (settled once the account is written). */
  readonly settle: string[];
}

/** An index entry a user's write claims; `holds`: whether the account named holds it still (read anew). */
export interface Entry<P extends Claimant = Claimant> {
  readonly p: P;
  readonly key: string;
  readonly holds: (holder: string) => Promise<boolean>;
}

/** Most index entries one script call claims or settles (claimIndex-n.lua, settleIndex-n.lua). */
const SLOT_BATCH = 100;
/** Most tries at taking over a stale index entry that keeps changing under us. */
const CLAIM_TRIES = 3;
/** How long a claimed index entry waits for its account's step (a crash's claim goes after it), ms. */
const CLAIM_PENDING_MS = 60_000;

export class IndexEntries {
  constructor(
    private readonly redis: TesseraRedis,
    private readonly keys: KeyLayout,
  ) {}

  /**
   * Claims index entries, one per user at most (a dry run only reads them): per entry, true when
   * another account holds it (`holds` says whether the account named holds it still). The entries
   * of one slot are claimed in one script call (claimIndex-n.lua, in turn as if one by one); a
   * settled entry whose holder no longer holds it is tried again, taken over as stale.
   */
  async claim(entries: readonly Entry[], dry: boolean): Promise<boolean[]> {
    if (dry)
      return Promise.all(
        entries.map(async ({ p, key, holds }) => {
          const holder = await guarded(() => this.redis.get(key));
          return holder !== null && holder !== p.user.username && (await holds(holder));
        }),
      );
    const taken = entries.map(() => true);
    let round = entries.map((e, i) => ({ ...e, i, stale: '' }));
    for (let t = 0; t < CLAIM_TRIES && round.length > 0; t++) {
      const next: typeof round = [];
      const answers: (string | number)[][] = [];
      await this.bySlot(
        round.map((e) => e.key),
        async (keys, at) => {
          const argv = at.flatMap((j) => {
            const e = round[j] as (typeof round)[number];
            return [e.p.user.username, e.stale];
          });
          const flat = await this.redis.claimIndex(keys.length, ...keys, CLAIM_PENDING_MS, ...argv);
          at.forEach((j, n) => {
            answers[j] = flat.slice(3 * n, 3 * n + 3);
          });
        },
      );
      const held: { e: (typeof round)[number]; holder: string }[] = [];
      round.forEach((e, j) => {
        const [code, holder, settled] = answers[j] as [number, string, number];
        if (code === ClaimIndex.Claimed) e.p.claimed.push(e.key);
        if (code !== ClaimIndex.Held) {
          e.p.settle.push(e.key);
          taken[e.i] = false;
        } else if (settled === 1) held.push({ e, holder });
        // else: a pending claim is another account's in the making
      });
      // a settled one is its record's, unless the record no longer holds it: stale, tried again
      await Promise.all(
        held.map(async ({ e, holder }) => {
          if (!(await e.holds(holder))) next.push({ ...e, stale: holder });
        }),
      );
      round = next;
    }
    return taken;
  }

  /**
   * Runs `step` on the keys grouped by slot (keys of one account shard share its hash tag; one
   * Redis has no slots to keep apart), at most SLOT_BATCH keys a call, all calls at once (one
   * round trip); `at`: the keys' positions.
   */
  async bySlot(keys: readonly string[], step: (keys: string[], at: number[]) => Promise<unknown>): Promise<void> {
    const slots = new Map<number, number[]>();
    if (!this.redis.isCluster)
      slots.set(
        0,
        Array.from(keys, (_, i) => i),
      );
    else
      keys.forEach((k, i) => {
        const slot = keySlot(k);
        const at = slots.get(slot);
        if (at === undefined) slots.set(slot, [i]);
        else at.push(i);
      });
    const calls = [...slots.values()].flatMap((at) =>
      Array.from({ length: Math.ceil(at.length / SLOT_BATCH) }, (_, n) => at.slice(n * SLOT_BATCH, (n + 1) * SLOT_BATCH)),
    );
    await guarded(() =>
      Promise.all(
        calls.map((at) =>
          step(
            at.map((i) => keys[i] as string),
            at,
          ),
        ),
      ),
    );
  }

  /** Settles claimed entries once their accounts are written: they no longer expire (settleIndex-n.lua). */
  async settle(keys: readonly string[]): Promise<void> {
    await this.bySlot(keys, (ks) => this.redis.settleIndex(ks.length, ...ks));
  }

  /**
   * Settles the index entries of accounts a write found (skipped or updated): a crash between an
   * account's step and its settle step leaves them pending, to expire (repairIndex-n.lua); the
   * write that finds the account again (an import run again) makes them whole.
   */
  async repair(accounts: readonly UserRecord[]): Promise<void> {
    const entries = accounts.flatMap((u) => [
      { key: this.keys.userId(u.id), username: u.username },
      ...(u.email ? [{ key: this.keys.email(u.email), username: u.username }] : []),
    ]);
    await this.bySlot(
      entries.map((e) => e.key),
      (keys, at) => this.redis.repairIndex(keys.length, ...keys, ...at.map((i) => (entries[i] as { username: string }).username)),
    );
  }

  /**
   * Undoes a user's claims, unless its record `now` (a concurrent write of the same user) has them;
   * entries that were its own already are settled again.
   */
  async release(p: Claimant, now: UserRecord | null): Promise<void> {
    if (p.settle.length === 0) return;
    const kept = new Set(now === null ? [] : [this.keys.userId(now.id), ...(now.email ? [this.keys.email(now.email)] : [])]);
    const drop = p.claimed.filter((k) => !kept.has(k));
    await guarded(() =>
      Promise.all([
        ...drop.map((k) => this.redis.releaseIndex(k, p.user.username)),
        ...p.settle.filter((k) => !drop.includes(k)).map((k) => this.redis.persist(k)),
      ]),
    );
  }
}
