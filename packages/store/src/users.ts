import {
  type Identifier,
  InvalidStateError,
  looksLikeEmail,
  MAX_PROFILE_JSON_BYTES,
  MAX_USER_ID,
  normaliseEmail,
  PROFILE_JSON_FIELDS,
  PROFILE_TEXT_FIELDS,
  profileJson,
  TesseraError,
  USERNAME_RULE,
  type UserProfile,
  type UserRecord,
  userIdOf,
  validUsername,
} from '@tessera/core';
import keySlot from 'cluster-key-slot';
import { guarded } from './errors.ts';
import { ID_BLOCK, IdBlocks } from './ids.ts';
import type { KeyLayout } from './keys.ts';
import { ClaimIndex, PatchUser, PutUser, PutUserFlag, SetPassword } from './lua-codes.ts';
import type { TesseraRedis } from './redis.ts';

/** Scopes a user gets when none are given (document 000's example). */
export const DEFAULT_SCOPES: readonly string[] = Object.freeze(['', 'read', 'write']);

export class UserExistsError extends TesseraError {
  override readonly code = 'ERR_USER_EXISTS';
}
export class EmailTakenError extends TesseraError {
  override readonly code = 'ERR_EMAIL_TAKEN';
}
export class UnknownUserError extends TesseraError {
  override readonly code = 'ERR_UNKNOWN_USER';
}
export class UserIdTakenError extends TesseraError {
  override readonly code = 'ERR_USER_ID_TAKEN';
}

export interface NewUser {
  /** Kept when given (an import, a migrated SimpleJWT user_id); else the next id of the sequence. */
  readonly id?: number;
  readonly username: string;
  readonly email?: string | null;
  readonly passwordHash: string;
  readonly scopes?: readonly string[];
  readonly disabled?: boolean;
  readonly profile?: Partial<UserProfile>;
  /** Imported without a password of its own: the dialect's upstream decides the first login. */
  readonly pendingUpstream?: boolean;
  /** Django's `last_login`, ms since the epoch; an update keeps a later one already stored. */
  readonly lastLogin?: number;
}

/** How `put` ended (a dry run: how it would end). `id` is 0 for an id a dry run would allocate. */
export type PutResult =
  | { readonly status: 'created' | 'unchanged' | 'exists' | 'id_mismatch'; readonly id: number }
  /** `revoke`: the update changed the password hash or disabled the user, so their tokens must go. */
  | { readonly status: 'updated'; readonly id: number; readonly revoke?: 'password_changed' | 'user_disabled' }
  | { readonly status: 'email_taken' | 'id_taken' | 'ids_exhausted' };

const PUT_STATUS = {
  [PutUser.Created]: 'created',
  [PutUser.Updated]: 'updated',
  [PutUser.Unchanged]: 'unchanged',
  [PutUser.UsernameTaken]: 'exists',
  [PutUser.EmailTaken]: 'email_taken',
  [PutUser.IdTaken]: 'id_taken',
  [PutUser.IdMismatch]: 'id_mismatch',
  [PutUser.IdsExhausted]: 'ids_exhausted',
} as const;

export interface PutOptions {
  /** 'create' refuses an existing username; 'update' replaces the existing user's record. */
  readonly mode: 'create' | 'update';
  /** Decide without writing. */
  readonly dryRun?: boolean;
  /**
   * The event recording the change (JSON): appended once for the users created and once for those
   * updated, with their count (and, for a single user, its userId and outcome).
   */
  readonly event?: string;
  /** Most users one script writes (putUsers-2.lua holds Redis for all of them); 50 unless said. */
  readonly scriptUsers?: number;
}

export { validUsername } from '@tessera/core';

/** The user hash's fields but `id` (the script sets it). */
function encode(u: NewUser): string[] {
  const out = [
    'username',
    u.username,
    'hash',
    u.passwordHash,
    'scopes',
    JSON.stringify(u.scopes ?? DEFAULT_SCOPES),
    'disabled',
    u.disabled === true ? '1' : '0',
  ];
  if (u.email) out.push('email', normaliseEmail(u.email));
  if (u.pendingUpstream === true) out.push('pending', '1');
  if (u.lastLogin !== undefined) out.push('lastLogin', String(u.lastLogin));
  for (const f of PROFILE_TEXT_FIELDS) {
    const v = u.profile?.[f];
    if (v !== undefined && v !== null) out.push(f, v);
  }
  for (const f of PROFILE_JSON_FIELDS) {
    const v = u.profile?.[f];
    if (v === undefined || v === null) continue;
    const text = profileJson(v);
    if (text === null) throw new TypeError(`profile field ${f} is not JSON of at most ${MAX_PROFILE_JSON_BYTES} bytes`);
    out.push(f, text);
  }
  return out;
}

function parseJson(raw: string | undefined, fallback: unknown): unknown {
  return raw === undefined ? fallback : JSON.parse(raw);
}

/** Turns a user hash into a record; an empty hash is "no such user". */
export function decodeUser(h: Record<string, string>): UserRecord | null {
  if (h.id === undefined || h.username === undefined) return null;
  if (h.hash === undefined) throw new InvalidStateError(`user ${h.username} has no password hash`);
  return {
    id: Number(h.id),
    username: h.username,
    email: h.email ?? null,
    passwordHash: h.hash,
    scopes: parseJson(h.scopes, DEFAULT_SCOPES) as string[],
    disabled: h.disabled === '1',
    ...(h.pending === '1' ? { pendingUpstream: true as const } : {}),
    ...(h.lastLogin === undefined ? {} : { lastLogin: Number(h.lastLogin) }),
    profile: {
      persCode: h.persCode ?? null,
      civilId: h.civilId ?? null,
      userMobile: h.userMobile ?? null,
      userIntitutes: parseJson(h.userIntitutes, []) as unknown[],
      firstLogin: parseJson(h.firstLogin, null),
      loggedInUser: parseJson(h.loggedInUser, null),
      userDetails: parseJson(h.userDetails, null),
    },
  };
}

export function pairsToObject(flat: readonly string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i] as string] = flat[i + 1] as string;
  return o;
}

/** A user of a `putMany` call on its way through the steps. */
interface Pending {
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
  /** Index entries this call claimed (released if the account's step refuses). */
  claimed: string[];
  /** Index entries pending for this call, claimed or its own already (settled once the account is written). */
  settle: string[];
}

/** An index entry a user's write claims; `holds`: whether the account named holds it still (read anew). */
interface Entry {
  readonly p: Pending;
  readonly key: string;
  readonly holds: (holder: string) => Promise<boolean>;
}

/** Most index entries one script call claims or settles (claimIndex-n.lua, settleIndex-n.lua). */
const SLOT_BATCH = 100;
/** Most tries at taking over a stale index entry that keeps changing under us. */
const CLAIM_TRIES = 3;
/** How long a claimed index entry waits for its account's step (a crash's claim goes after it), ms. */
const CLAIM_PENDING_MS = 60_000;

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
 * expires (CLAIM_PENDING_MS) and meanwhile reads as absent; a settled entry its account no longer
 * holds (an old email not yet released) reads as absent and the next claim of it takes it over; a
 * crash after an account's step but before its settle step leaves its claims pending, to expire,
 * and the next write that finds the account (an import run again) settles them (`repair`).
 */
export class UserRepository {
  private readonly ids: IdBlocks;
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
      return { at, user, email, fields: encode(user), claimed: [], settle: [] };
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
    if (!dry) await this.repair(turn.filter((p) => out[p.at]?.status === 'exists').map((p) => p.existing as UserRecord));
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
    await this.bySlot(
      written.flatMap((p) => p.settle),
      (keys) => this.redis.settleIndex(keys.length, ...keys),
    );
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
   * Settles the index entries of accounts a write found and skipped: a crash between an account's
   * step and its settle step leaves them pending, to expire (repairIndex-n.lua); the write that
   * finds the account again (an import run again) makes them whole.
   */
  private async repair(accounts: readonly UserRecord[]): Promise<void> {
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
    const idEntry = (p: Pending, id: number): Entry => ({ p, key: this.keys.userId(id), holds: (h) => owner(h, (u) => u.id === id) });
    const ids: { p: Pending; id: number }[] = [];
    for (const p of ps) {
      if (p.existing) p.id = p.existing.id;
      else if (p.user.id !== undefined) ids.push({ p, id: p.user.id });
      else if (dry) p.id = 0;
      else if (p.offered === -1) out[p.at] = { status: 'ids_exhausted' };
      else if (p.offered !== undefined) ids.push({ p, id: p.offered });
    }
    const taken = await this.entries(
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
            if (!(await this.entries([idEntry(p, id)], false))[0]) {
              p.id = id;
              break;
            }
          }
        }
        if (out[p.at]) refused.add(p);
      }),
    );
    const mailed = ps.filter((p) => !refused.has(p) && p.email !== '');
    const emailTaken = await this.entries(
      mailed.map((p) => ({ p, key: this.keys.email(p.email), holds: (h) => owner(h, (u) => u.email === p.email) })),
      dry,
    );
    await Promise.all(
      mailed.map(async (p, i) => {
        if (!emailTaken[i]) return;
        refused.add(p);
        if (!dry) await this.release(p);
        out[p.at] = { status: 'email_taken' };
      }),
    );
    return ps.filter((p) => !refused.has(p));
  }

  /**
   * Claims index entries, one per user at most (a dry run only reads them): per entry, true when
   * another account holds it (`holds` says whether the account named holds it still). The entries
   * of one slot are claimed in one script call (claimIndex-n.lua, in turn as if one by one); a
   * settled entry whose holder no longer holds it is tried again, taken over as stale.
   */
  private async entries(entries: readonly Entry[], dry: boolean): Promise<boolean[]> {
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
      await Promise.all(
        round.map(async (e, j) => {
          const [code, holder, settled] = answers[j] as [number, string, number];
          if (code === ClaimIndex.Claimed) e.p.claimed.push(e.key);
          if (code !== ClaimIndex.Held) {
            e.p.settle.push(e.key);
            taken[e.i] = false;
          } else if (settled === 1 && !(await e.holds(holder))) next.push({ ...e, stale: holder });
          // else: a pending claim is another account's in the making; a settled one, its record's
        }),
      );
      round = next;
    }
    return taken;
  }

  /**
   * Runs `step` on the keys grouped by slot (keys of one account shard share its hash tag), at
   * most SLOT_BATCH keys a call, all calls at once (one round trip); `at`: the keys' positions.
   */
  private async bySlot(keys: readonly string[], step: (keys: string[], at: number[]) => Promise<unknown>): Promise<void> {
    const slots = new Map<number, number[]>();
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

  /**
   * Undoes a user's claims, unless its record (a concurrent write of the same user) has them;
   * entries that were its own already are settled again.
   */
  private async release(p: Pending): Promise<void> {
    if (p.settle.length === 0) return;
    const now = await this.get(p.user.username);
    const kept = new Set(now === null ? [] : [this.keys.userId(now.id), ...(now.email ? [this.keys.email(now.email)] : [])]);
    const drop = p.claimed.filter((k) => !kept.has(k));
    await guarded(() =>
      Promise.all([
        ...drop.map((k) => this.redis.releaseIndex(k, p.user.username)),
        ...p.settle.filter((k) => !drop.includes(k)).map((k) => this.redis.persist(k)),
      ]),
    );
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
      if (!dry) await this.release(p);
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
