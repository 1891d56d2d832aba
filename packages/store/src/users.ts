import {
  type Identifier,
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
import { ID_BLOCK, IdBlocks } from './ids.ts';
import { type Claimant, type Entry, IndexEntries } from './index-entries.ts';
import type { KeyLayout } from './keys.ts';
import { PatchUser, PutUserFlag, SetPassword } from './lua-codes.ts';
import type { TesseraRedis } from './redis.ts';
import {
  decodeUser,
  EmailTakenError,
  encodeUser,
  type NewUser,
  PUT_STATUS,
  type PutOptions,
  type PutResult,
  UnknownUserError,
  UserExistsError,
  UserIdTakenError,
} from './user-record.ts';

export { validUsername } from '@tessera/core';
export * from './user-record.ts';

/** A user of a `putMany` call on its way through the steps (its index entries: Claimant). */
interface Pending extends Claimant {
  readonly at: number;
  readonly user: NewUser;
  readonly email: string;
  readonly fields: string[];
  /** The stored record, when there is one. */
  existing?: UserRecord | null;
  /** The stored hash as offerIds read it (for the call's first turn). */
  read?: Record<string, string>;
  /** The id the sequence gave this new user in the call's order (one id at a time; -1: none left). */
  offered?: number;
  id?: number;
  readonly claimed: string[];
  readonly settle: string[];
}

/**
 * Users in Redis (keys.ts): each account's record in its username's shard; its email's and its
 * id's index entries (→ username) in their own shards.
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
 */
export class UserRepository {
  private readonly ids: IdBlocks;
  private readonly index: IndexEntries;
  /** Ids one at a time, in each call's order (idBlock 1). */
  private readonly dense: boolean;

  /**
   * `idBlock`: ids taken from the sequence at once (IdBlocks); 1 keeps the ids a process gives
   * dense, as an import of a file that mixes kept ids with new rows expects (the command line).
   */
  constructor(
    private readonly redis: TesseraRedis,
    private readonly keys: KeyLayout,
    idBlock: number = ID_BLOCK,
  ) {
    this.ids = new IdBlocks(redis, keys.userSeq, idBlock);
    this.index = new IndexEntries(redis, keys);
    this.dense = idBlock === 1;
  }

  /** Creates a user; throws `UserExistsError` or `EmailTakenError` (or `UserIdTakenError` for a given id). */
  async create(user: NewUser, event?: string): Promise<UserRecord> {
    const r = await this.put(user, { mode: 'create', ...(event === undefined ? {} : { event }) });
    if (r.status === 'exists') throw new UserExistsError(`user ${user.username} already exists`);
    if (r.status === 'email_taken') throw new EmailTakenError(`email ${normaliseEmail(user.email ?? '')} is already used by another user`);
    if (r.status === 'id_taken') throw new UserIdTakenError(`id ${user.id} is already another user's`);
    if (r.status === 'ids_exhausted') throw new InvalidStateError(`no user ids left under ${MAX_USER_ID + 1}`);
    const created = await this.get(user.username);
    if (created === null) throw new InvalidStateError(`user ${user.username} vanished after creation`);
    return created;
  }

  /** Users whose tokens an update left to revoke (password changed, disabled), oldest first in each shard. */
  async revocationsDue(): Promise<{ readonly id: number; readonly reason: 'password_changed' | 'user_disabled' }[]> {
    const shards = Array.from({ length: this.keys.shards }, (_, k) => this.keys.revocationsDue(k));
    const due = await guarded(() => Promise.all(shards.map((key) => this.redis.hgetall(key))));
    return due.flatMap((d) =>
      Object.entries(d).map(([id, reason]) => ({ id: Number(id), reason: reason as 'password_changed' | 'user_disabled' })),
    );
  }

  /** Done: the user's tokens were revoked. */
  async revocationDone(id: number): Promise<void> {
    const shards = Array.from({ length: this.keys.shards }, (_, k) => this.keys.revocationsDue(k));
    await guarded(() => Promise.all(shards.map((key) => this.redis.hdel(key, String(id)))));
  }

  /** Writes one user with its indexes and its event: `putMany` of one. */
  async put(user: NewUser, options: PutOptions): Promise<PutResult> {
    return (await this.putMany([user], options))[0] as PutResult;
  }

  /**
   * Writes users in order, each with its indexes, the events that record them written with the
   * accounts of each shard (putUsers-2.lua; the class comment says the steps): created, or with
   * mode 'update' replacing an existing record whole (its id stays). A later user of the call
   * sees an earlier one (users that share a username, email or id go in turns). Keep batches
   * small (50). Throws `TypeError` for an invalid username, email or id, writing nothing.
   */
  async putMany(users: readonly NewUser[], options: PutOptions): Promise<PutResult[]> {
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
    if (this.dense && options.dryRun !== true) await this.offerIds(pending);
    // turns: a user goes after every earlier one it shares a username, email or id with
    const turns: Pending[][] = [];
    const turnOf = new Map<string, number>();
    for (const p of pending) {
      const id = p.user.id ?? p.offered;
      const names = [`u:${p.user.username}`, ...(p.email ? [`e:${p.email}`] : []), ...(id === undefined ? [] : [`i:${id}`])];
      const turn = Math.max(-1, ...names.map((n) => turnOf.get(n) ?? -1)) + 1;
      for (const n of names) turnOf.set(n, turn);
      const group = turns[turn] ?? [];
      turns[turn] = group;
      group.push(p);
    }
    const out: PutResult[] = new Array(users.length);
    for (const [n, turn] of turns.entries()) await this.putTurn(turn, options, users.length === 1, out, n === 0);
    return out;
  }

  /**
   * Ids one at a time, as the call's order gives them: for each new user (no record yet, and not
   * an earlier user of the call), in order, the sequence moves past an id given or gives the next,
   * in one script call (raiseSeq-1.lua). So a row without an id takes the next id after the ids
   * the rows before it kept, as an import of a file expects. Keeps the records read (`read`).
   */
  private async offerIds(pending: readonly Pending[]): Promise<void> {
    const records = await guarded(() => Promise.all(pending.map((p) => this.redis.hgetall(this.keys.user(p.user.username)))));
    const seen = new Set<string>();
    const fresh: Pending[] = [];
    pending.forEach((p, i) => {
      p.read = records[i];
      if (records[i]?.id === undefined && !seen.has(p.user.username)) fresh.push(p);
      seen.add(p.user.username);
    });
    if (fresh.length === 0) return;
    const seq = await guarded(() =>
      this.redis.raiseSeq(this.keys.userSeq, ...fresh.map((p) => (p.user.id === undefined ? '' : String(p.user.id)))),
    );
    fresh.forEach((p, i) => {
      const n = seq[i] as number;
      if (p.user.id === undefined) p.offered = n > MAX_USER_ID ? -1 : n;
    });
  }

  /** One turn of users; `first`: the call's first turn, whose records offerIds read (if it ran). */
  private async putTurn(turn: readonly Pending[], options: PutOptions, single: boolean, out: PutResult[], first: boolean): Promise<void> {
    const dry = options.dryRun === true;
    const records = await guarded(() =>
      Promise.all(turn.map((p) => (first && p.read !== undefined ? p.read : this.redis.hgetall(this.keys.user(p.user.username))))),
    );
    const claiming: Pending[] = [];
    turn.forEach((p, i) => {
      const existing = decodeUser(records[i] as Record<string, string>);
      p.existing = existing;
      if (existing !== null && options.mode === 'create') out[p.at] = { status: 'exists', id: existing.id };
      else if (existing !== null && p.user.id !== undefined && p.user.id !== existing.id)
        out[p.at] = { status: 'id_mismatch', id: existing.id };
      else claiming.push(p);
    });
    if (!dry) await this.index.repair(turn.filter((p) => out[p.at]?.status === 'exists').map((p) => p.existing as UserRecord));
    const going = await this.claim(claiming, dry, out);
    const byShard = new Map<number, Pending[]>();
    for (const p of going) {
      const shard = this.keys.shardOf(p.user.username);
      byShard.set(shard, [...(byShard.get(shard) ?? []), p]);
    }
    const most = options.scriptUsers ?? 50;
    const scripts = [...byShard].flatMap(([shard, ps]) =>
      Array.from({ length: Math.ceil(ps.length / most) }, (_, i) => [shard, ps.slice(i * most, (i + 1) * most)] as const),
    );
    const written: Pending[] = [];
    await Promise.all(
      scripts.map(async ([shard, ps]) => {
        const args = ps.flatMap((p) => [p.user.username, String(p.id ?? 0), String(p.fields.length), ...p.fields]);
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
        await Promise.all(
          ps.map(async (p, i) => {
            if (await this.settle(p, flat.slice(3 * i, 3 * i + 3) as [number, number, number], dry, out)) written.push(p);
          }),
        );
      }),
    );
    if (dry) return;
    // the claims are settled: the accounts hold them now; then the emails they no longer have go
    await this.index.settle(written.flatMap((p) => p.settle));
    await guarded(() =>
      Promise.all(
        written.map(async (p) => {
          const old = p.existing?.email;
          if (old && old !== p.email) await this.redis.releaseIndex(this.keys.email(old), p.user.username);
          // (one id at a time, the sequence was moved past it already: offerIds)
          if (p.existing === null && p.user.id !== undefined && !this.dense) await this.ids.keep(p.user.id);
        }),
      ),
    );
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
    await Promise.all(
      ps.map(async (p) => {
        const at = idAt.get(p) ?? -1;
        if (at !== -1 && !taken[at]) p.id = (ids[at] as { id: number }).id;
        else if (at !== -1 && p.user.id !== undefined) {
          out[p.at] = { status: 'id_taken' };
          refused.add(p);
        } else if (at !== -1 || (p.id === undefined && !out[p.at])) {
          // the id offered was taken meanwhile (or none was offered): the next free one
          for (;;) {
            const id = await this.ids.take();
            if (id === null) {
              out[p.at] = { status: 'ids_exhausted' };
              break;
            }
            if (!(await this.index.claim([idEntry(p, id)], false))[0]) {
              p.id = id;
              break;
            }
          }
        }
        if (out[p.at]) refused.add(p);
      }),
    );
    const mailed = ps.filter((p) => !refused.has(p) && p.email !== '');
    const emailTaken = await this.index.claim(
      mailed.map((p) => ({ p, key: this.keys.email(p.email), holds: (h) => owner(h, (u) => u.email === p.email) })),
      dry,
    );
    await Promise.all(
      mailed.map(async (p, i) => {
        if (!emailTaken[i]) return;
        refused.add(p);
        if (!dry) await this.index.release(p, await this.get(p.user.username));
        out[p.at] = { status: 'email_taken' };
      }),
    );
    return ps.filter((p) => !refused.has(p));
  }

  /**
   * The account's step answered: the result; a refusal releases the claims. True when written
   * (created, updated or unchanged; a dry run: never): its claims are then settled, its old email
   * released (putTurn).
   */
  private async settle(p: Pending, [code, id, flags]: [number, number, number], dry: boolean, out: PutResult[]): Promise<boolean> {
    const status = PUT_STATUS[code as keyof typeof PUT_STATUS];
    if (status === undefined) throw new InvalidStateError(`putUsers answered ${code}`);
    if (status === 'exists' || status === 'id_mismatch') {
      // a concurrent write of the same username came between the read and this step
      if (!dry) await this.index.release(p, await this.get(p.user.username));
      out[p.at] = { status, id };
      return false;
    }
    if (status === 'email_taken' || status === 'id_taken' || status === 'ids_exhausted')
      throw new InvalidStateError(`putUsers answered ${code}`);
    if (status === 'updated' && flags !== 0)
      out[p.at] = { status, id, revoke: flags & PutUserFlag.Disabled ? 'user_disabled' : 'password_changed' };
    else out[p.at] = { status, id };
    return !dry;
  }

  async get(username: string): Promise<UserRecord | null> {
    return guarded(async () => decodeUser(await this.redis.hgetall(this.keys.user(username))));
  }

  /**
   * By username, one round trip; by email, two: the email's index entry, then the account it
   * names (believed only if the account holds the email).
   */
  async find(identifier: Identifier): Promise<UserRecord | null> {
    if (identifier.by === 'username') return this.get(identifier.value);
    const email = normaliseEmail(identifier.value);
    const user = await this.byIndex(this.keys.email(email));
    return user?.email === email ? user : null;
  }

  /**
   * By id: the id's index entry, then the account it names (two round trips). With the username
   * the caller has for it (a token record's), one: that account, when its id is `id`.
   */
  async findById(id: number, username?: string): Promise<UserRecord | null> {
    if (username !== undefined) {
      const user = await this.get(username);
      if (user?.id === id) return user;
    }
    const user = await this.byIndex(this.keys.userId(id));
    return user?.id === id ? user : null;
  }

  private async byIndex(key: string): Promise<UserRecord | null> {
    const username = await guarded(() => this.redis.get(key));
    return username === null ? null : this.get(username);
  }

  async setDisabled(username: string, disabled: boolean): Promise<void> {
    await this.patch(username, { disabled: disabled ? '1' : '0' });
  }

  /**
   * Sets a user's password hash (and clears a pending-upstream mark), with its event, in one step.
   * With `expected`, only if the stored hash is still that one: false when it changed meanwhile.
   */
  async setPasswordHash(username: string, hash: string, options: { expected?: string; event?: string } = {}): Promise<boolean> {
    const outbox = this.keys.outbox(this.keys.shardOf(username));
    const r = await guarded(() =>
      this.redis.setPassword(this.keys.user(username), outbox, options.expected ?? '', hash, options.event ?? ''),
    );
    if (r === SetPassword.NoSuchUser) throw new UnknownUserError(`no user ${username}`);
    return r === SetPassword.Replaced;
  }

  private async patch(username: string, fields: Record<string, string>): Promise<void> {
    const r = await guarded(() => this.redis.patchUser(this.keys.user(username), ...Object.entries(fields).flat()));
    if (r === PatchUser.NoSuchUser) throw new UnknownUserError(`no user ${username}`);
  }
}
