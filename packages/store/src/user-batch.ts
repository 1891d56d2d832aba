import {
  InvalidStateError,
  looksLikeEmail,
  MAX_USER_ID,
  normaliseEmail,
  USERNAME_RULE,
  type UserRecord,
  userIdOf,
  validUsername,
} from '@tessera/core';
import { guarded } from './errors.ts';
import { IdBlocks } from './ids.ts';
import { type Entry, IndexEntries } from './index-entries.ts';
import type { KeyLayout } from './keys.ts';
import { PutUser, PutUserFlag } from './lua-codes.ts';
import type { TesseraRedis } from './redis.ts';
import { decodeUser, encodeUser, type NewUser, PUT_STATUS, type PutOptions, type PutResult, pairsToObject } from './user-record.ts';
import { inTurns, type Pending, type PreparedBatch } from './user-turns.ts';

/** What the account's step refuses when a concurrent write of the same username came first. */
const REFUSED: ReadonlySet<string | undefined> = new Set(['exists', 'id_mismatch']);

/**
 * Writes users in batches for UserRepository (users.ts): each account's record in its username's
 * shard; its email's and its id's index entries (→ username) in their own shards.
 *
 * Creating a user or changing its email spans slots, so it is done in ordered steps: (1) claim the
 * id's and the email's index entries (claimIndex-n.lua: pending, with an expiry), (2) write the
 * account (putUsers-2.lua, which refuses an existing username), then (3) settle the claims
 * (settleIndex-n.lua), or release them if the account's step refused, and release an email the
 * account no longer has. A batch goes through each step at once: the entries of one slot in one
 * script call, the ids and emails in two rounds, the accounts of a shard 50 a script. Unique: an entry names one account, only a claim makes it, and a pending claim is
 * never taken over. An index entry is believed only when the account it names has the email or id
 * in its record. What a crash between steps leaves: a claim whose account was never written
 * expires (CLAIM_PENDING_MS, index-entries.ts) and meanwhile reads as absent; a settled entry its account no longer
 * holds (an old email not yet released) reads as absent and the next claim of it takes it over; a
 * crash after an account's step but before its settle step leaves its claims pending, to expire,
 * and the next write that finds the account (an import run again) settles them (`repair`).
 *
 * On one Redis the steps are not needed where one step can see every key: a new account whose id
 * is known is written with its entries in the account's step when both are free (putUsers-2.lua);
 * an account whose entries are found there goes the steps.
 */
export class UserBatches {
  private readonly ids: IdBlocks;
  private readonly index: IndexEntries;
  /** Ids one at a time, in each call's order (idBlock 1). */
  private readonly dense: boolean;

  /** `idBlock`: as UserRepository's; `get`: an account's record as it is now. */
  constructor(
    private readonly redis: TesseraRedis,
    private readonly keys: KeyLayout,
    idBlock: number,
    private readonly get: (username: string) => Promise<UserRecord | null>,
  ) {
    this.ids = new IdBlocks(redis, keys.userSeq, idBlock);
    this.index = new IndexEntries(redis, keys);
    this.dense = idBlock === 1;
  }

  /**
   * Writes users in order, each with its indexes, the events that record them written with the
   * accounts of each shard (putUsers-2.lua; the class comment says the steps): created, or with
   * mode 'update' replacing an existing record whole (its id stays). A later user of the call
   * sees an earlier one (users that share a username, email or id go in turns). Keep batches
   * small (50). Throws `TypeError` for an invalid username, email or id, writing nothing.
   */
  async putMany(users: readonly NewUser[], options: PutOptions): Promise<PutResult[]> {
    return this.commit(await this.prepare(users, options));
  }

  /**
   * putMany's first step: the users checked, their accounts read and, one at a time (idBlock 1),
   * their ids offered in the call's order, then put in turns (users that share a username, email
   * or id go one after another). Nothing is written but the id sequence. The records read are
   * the ones the commit goes by: a batch whose usernames another batch writes must be prepared
   * after that batch is committed.
   */
  async prepare(users: readonly NewUser[], options: PutOptions): Promise<PreparedBatch> {
    const pending: Pending[] = users.map((user, at) => {
      if (!validUsername(user.username)) throw new TypeError(`invalid username ${JSON.stringify(user.username)}: ${USERNAME_RULE}`);
      const email = user.email ? normaliseEmail(user.email) : '';
      if (email !== '' && !looksLikeEmail(email)) throw new TypeError(`invalid email ${JSON.stringify(user.email)}`);
      if (user.id !== undefined && userIdOf(user.id) === undefined)
        throw new TypeError(`invalid id ${user.id}: a positive integer up to ${MAX_USER_ID}`);
      if (user.lastLogin !== undefined && !(Number.isSafeInteger(user.lastLogin) && user.lastLogin >= 0))
        throw new TypeError(`invalid lastLogin ${user.lastLogin}: ms since the epoch`);
      return { at, user, email, fields: encodeUser(user), claimed: [], settle: [] };
    });
    const records = await this.records(pending.map((p) => p.user.username));
    pending.forEach((p, i) => {
      p.read = records[i];
    });
    if (this.dense && options.dryRun !== true) await this.offerIds(pending);
    return inTurns(pending, options);
  }

  /** putMany's writes, turn after turn, of a batch prepared; the results in the call's order. */
  async commit(batch: PreparedBatch): Promise<PutResult[]> {
    const out: PutResult[] = new Array(batch.count);
    for (const [n, turn] of batch.turns.entries()) await this.putTurn(turn, batch.options, batch.count === 1, out, n === 0);
    return out;
  }

  /**
   * Ids one at a time, as the call's order gives them: for each new user (no record yet, and not
   * an earlier user of the call), in order, the sequence moves past an id given or gives the next,
   * in one script call (raiseSeq-1.lua). So a row without an id takes the next id after the ids
   * the rows before it kept, as an import of a file expects. `read`: the records prepare read.
   */
  private async offerIds(pending: readonly Pending[]): Promise<void> {
    const seen = new Set<string>();
    const fresh: Pending[] = [];
    for (const p of pending) {
      if (p.read?.id === undefined && !seen.has(p.user.username)) fresh.push(p);
      seen.add(p.user.username);
    }
    if (fresh.length === 0) return;
    const seq = await guarded(() =>
      this.redis.raiseSeq(this.keys.userSeq, ...fresh.map((p) => (p.user.id === undefined ? '' : String(p.user.id)))),
    );
    fresh.forEach((p, i) => {
      const n = seq[i] as number;
      if (p.user.id === undefined) p.offered = n > MAX_USER_ID ? -1 : n;
    });
  }

  /** One turn of users; `first`: the call's first turn, whose records prepare read. */
  private async putTurn(turn: readonly Pending[], options: PutOptions, single: boolean, out: PutResult[], first: boolean): Promise<void> {
    const dry = options.dryRun === true;
    const unread = turn.filter((p) => !first || p.read === undefined);
    const read = await this.records(unread.map((p) => p.user.username));
    unread.forEach((p, i) => {
      p.read = read[i];
    });
    const claiming: Pending[] = [];
    turn.forEach((p) => {
      const existing = decodeUser(p.read as Record<string, string>);
      p.existing = existing;
      if (existing !== null && options.mode === 'create') out[p.at] = { status: 'exists', id: existing.id };
      else if (existing !== null && p.user.id !== undefined && p.user.id !== existing.id)
        out[p.at] = { status: 'id_mismatch', id: existing.id };
      else claiming.push(p);
    });
    // (every account found, updated too: its entries, left to expire by a crash, are its own again)
    if (!dry) await this.index.repair(turn.flatMap((p) => (p.existing ? [p.existing] : [])));
    // one Redis: a new account whose id is known is written with its index entries in one step
    const direct = this.redis.isCluster || dry ? [] : claiming.filter((p) => p.existing === null && (p.user.id ?? p.offered ?? -1) > 0);
    const once = await this.writeAccounts(direct, options, single, out, true);
    const isDirect = new Set(direct);
    const going = await this.claim([...claiming.filter((p) => !isDirect.has(p)), ...once.unclaimed], dry, out);
    const written = [...once.written, ...(await this.writeAccounts(going, options, single, out, false)).written];
    if (dry) return;
    // the claims are settled: the accounts hold them now; then the emails they no longer have go
    await this.index.settle(written.flatMap((p) => p.settle));
    const oldEmail = (p: Pending) => (p.existing?.email && p.existing.email !== p.email ? p.existing.email : null);
    // (dense: one id at a time, the sequence was moved past a kept id already: offerIds)
    const kept = (p: Pending) => p.existing === null && p.user.id !== undefined && !this.dense;
    await guarded(() =>
      Promise.all(
        written
          .filter((p) => oldEmail(p) !== null || kept(p))
          .map(async (p) => {
            const old = oldEmail(p);
            if (old !== null) await this.redis.releaseIndex(this.keys.email(old), p.user.username);
            if (kept(p)) await this.ids.keep(p.user.id as number);
          }),
      ),
    );
  }

  /**
   * The account's step (putUsers-2.lua) for users of a turn, those of a shard 50 a script: written
   * (their claims to settle), and, `direct` (one Redis, new accounts with an id), those whose index
   * entries it found there (`unclaimed`: to go the steps). A refusal releases the user's claims.
   */
  private async writeAccounts(
    users: readonly Pending[],
    options: PutOptions,
    single: boolean,
    out: PutResult[],
    direct: boolean,
  ): Promise<{ written: Pending[]; unclaimed: Pending[] }> {
    const dry = options.dryRun === true;
    const byShard = new Map<number, Pending[]>();
    for (const p of users) {
      const shard = this.keys.shardOf(p.user.username);
      const mates = byShard.get(shard);
      if (mates === undefined) byShard.set(shard, [p]);
      else mates.push(p);
    }
    const most = options.scriptUsers ?? 50;
    const scripts = [...byShard].flatMap(([shard, ps]) =>
      Array.from({ length: Math.ceil(ps.length / most) }, (_, i) => [shard, ps.slice(i * most, (i + 1) * most)] as const),
    );
    const written: Pending[] = [];
    const unclaimed: Pending[] = [];
    await Promise.all(
      scripts.map(async ([shard, ps]) => {
        const args: string[] = [];
        for (const p of ps) {
          // direct: the id's and the email's entries, written in the same step if free
          if (direct) p.id = p.user.id ?? p.offered;
          const idEntry = direct ? this.keys.userId(p.id as number) : '';
          const emailEntry = direct && p.email !== '' ? this.keys.email(p.email) : '';
          args.push(p.user.username, String(p.id ?? 0), idEntry, emailEntry, String(p.fields.length));
          for (const f of p.fields) args.push(f);
        }
        const flat = await guarded(() =>
          this.redis.putUsers(
            this.keys.outbox(shard),
            this.keys.revocationsDue(shard),
            options.mode,
            dry ? '1' : '0',
            this.keys.shardPrefix(shard),
            options.event ?? '',
            single ? '1' : '0',
            ...args,
          ),
        );
        const refused: Pending[] = [];
        ps.forEach((p, i) => {
          const answer = flat.slice(3 * i, 3 * i + 3) as [number, number, number];
          if (answer[0] === PutUser.Unclaimed) unclaimed.push(p);
          else if (this.answered(p, answer, dry, out)) written.push(p);
          else if (!dry && REFUSED.has(out[p.at]?.status)) refused.push(p);
        });
        // a concurrent write of the same username came between the read and this step
        await Promise.all(refused.map(async (p) => this.index.release(p, await this.get(p.user.username))));
      }),
    );
    return { written, unclaimed };
  }

  /** The stored hashes of accounts (empty: none); the accounts of one slot in one script call (readUsers-n.lua). */
  private async records(usernames: readonly string[]): Promise<Record<string, string>[]> {
    const out: Record<string, string>[] = new Array(usernames.length);
    await this.index.bySlot(
      usernames.map((u) => this.keys.user(u)),
      async (keys, at) => {
        const rows = await this.redis.readUsers(keys.length, ...keys);
        at.forEach((i, n) => {
          out[i] = pairsToObject(rows[n] ?? []);
        });
      },
    );
    return out;
  }

  /**
   * Claims (in a dry run: checks) the index entries the users' writes need: a new account's id
   * (the one given, else the one offered, else the next free of this process's block), then an
   * email that is not the account's already. The users whose claims are made; the others' refusals
   * are in `out`.
   */
  private async claim(ps: readonly Pending[], dry: boolean, out: PutResult[]): Promise<Pending[]> {
    const owner = async (holder: string, test: (u: UserRecord) => boolean) => {
      const u = decodeUser(await guarded(() => this.redis.hgetall(this.keys.user(holder))));
      return u !== null && test(u);
    };
    const idEntry = (p: Pending, id: number): Entry<Pending> => ({
      p,
      key: this.keys.userId(id),
      holds: (h) => owner(h, (u) => u.id === id),
    });
    const ids: { p: Pending; id: number }[] = [];
    for (const p of ps) {
      if (p.existing) p.id = p.existing.id;
      else if (p.user.id !== undefined) ids.push({ p, id: p.user.id });
      else if (dry) p.id = 0;
      else if (p.offered === -1) out[p.at] = { status: 'ids_exhausted' };
      else if (p.offered !== undefined) ids.push({ p, id: p.offered });
    }
    const taken = await this.index.claim(
      ids.map(({ p, id }) => idEntry(p, id)),
      dry,
    );
    const refused = new Set<Pending>();
    const idAt = new Map(ids.map((x, i) => [x.p, i]));
    const next: Pending[] = [];
    for (const p of ps) {
      const at = idAt.get(p) ?? -1;
      if (at !== -1 && !taken[at]) p.id = (ids[at] as { id: number }).id;
      else if (at !== -1 && p.user.id !== undefined) out[p.at] = { status: 'id_taken' };
      else if (at !== -1 || (p.id === undefined && !out[p.at])) next.push(p);
      if (out[p.at]) refused.add(p);
    }
    // the id offered was taken meanwhile (or none was offered): the next free one
    await Promise.all(
      next.map(async (p) => {
        for (;;) {
          const id = await this.ids.take();
          if (id === null) {
            out[p.at] = { status: 'ids_exhausted' };
            refused.add(p);
            return;
          }
          if (!(await this.index.claim([idEntry(p, id)], false))[0]) {
            p.id = id;
            return;
          }
        }
      }),
    );
    const mailed = ps.filter((p) => !refused.has(p) && p.email !== '');
    const emailTaken = await this.index.claim(
      mailed.map((p) => ({ p, key: this.keys.email(p.email), holds: (h) => owner(h, (u) => u.email === p.email) })),
      dry,
    );
    const lost = mailed.filter((_, i) => emailTaken[i]);
    for (const p of lost) {
      refused.add(p);
      out[p.at] = { status: 'email_taken' };
    }
    if (!dry) await Promise.all(lost.map(async (p) => this.index.release(p, await this.get(p.user.username))));
    return ps.filter((p) => !refused.has(p));
  }

  /**
   * The account's step answered: its result in `out`. True when written (created, updated or
   * unchanged; a dry run: never): its claims are then settled, its old email released (putTurn).
   * A refusal (REFUSED) releases the claims (putTurn).
   */
  private answered(p: Pending, [code, id, flags]: [number, number, number], dry: boolean, out: PutResult[]): boolean {
    const status = PUT_STATUS[code as keyof typeof PUT_STATUS];
    if (status === undefined) throw new InvalidStateError(`putUsers answered ${code}`);
    if (REFUSED.has(status)) {
      out[p.at] = { status: status as 'exists' | 'id_mismatch', id };
      return false;
    }
    if (status === 'email_taken' || status === 'id_taken' || status === 'ids_exhausted')
      throw new InvalidStateError(`putUsers answered ${code}`);
    if (status === 'updated' && flags !== 0)
      out[p.at] = { status, id, revoke: flags & PutUserFlag.Disabled ? 'user_disabled' : 'password_changed' };
    else out[p.at] = { status, id };
    return !dry;
  }
}
