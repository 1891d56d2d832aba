import { type Identifier, InvalidStateError, MAX_USER_ID, normaliseEmail, type UserRecord } from '@tessera/core';
import { guarded } from './errors.ts';
import { ID_BLOCK } from './ids.ts';
import type { KeyLayout } from './keys.ts';
import { PatchUser, SetPassword } from './lua-codes.ts';
import type { TesseraRedis } from './redis.ts';
import { UserBatches } from './user-batch.ts';
import {
  decodeUser,
  EmailTakenError,
  type NewUser,
  type PutOptions,
  type PutResult,
  UnknownUserError,
  UserExistsError,
  UserIdTakenError,
} from './user-record.ts';
import type { PreparedBatch } from './user-turns.ts';

export { validUsername } from '@tessera/core';
export * from './user-record.ts';

/** A user whose tokens an update left to revoke, and the account shard that recorded it. */
export interface RevocationDue {
  readonly id: number;
  readonly reason: 'password_changed' | 'user_disabled';
  readonly shard: number;
}

/**
 * Users in Redis (keys.ts): each account's record in its username's shard; its email's and its
 * id's index entries (→ username) in their own shards. Writes go in batches (user-batch.ts says
 * the steps across slots).
 */
export class UserRepository {
  private readonly batches: UserBatches;

  /**
   * `idBlock`: ids taken from the sequence at once (IdBlocks); 1 keeps the ids a process gives
   * dense, as an import of a file that mixes kept ids with new rows expects (the command line).
   */
  constructor(
    private readonly redis: TesseraRedis,
    private readonly keys: KeyLayout,
    idBlock: number = ID_BLOCK,
  ) {
    this.batches = new UserBatches(redis, keys, idBlock, (username) => this.get(username));
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
  async revocationsDue(): Promise<RevocationDue[]> {
    const shards = Array.from({ length: this.keys.shards }, (_, k) => this.keys.revocationsDue(k));
    const due = await guarded(() => Promise.all(shards.map((key) => this.redis.hgetall(key))));
    return due.flatMap((d, shard) =>
      Object.entries(d).map(([id, reason]) => ({ id: Number(id), reason: reason as RevocationDue['reason'], shard })),
    );
  }

  /** Done: the user's tokens were revoked (one HDEL, in the shard the due entry was read from). */
  async revocationDone(due: Pick<RevocationDue, 'id' | 'shard'>): Promise<void> {
    await guarded(() => this.redis.hdel(this.keys.revocationsDue(due.shard), String(due.id)));
  }

  /** Writes one user with its indexes and its event: `putMany` of one. */
  async put(user: NewUser, options: PutOptions): Promise<PutResult> {
    return (await this.putMany([user], options))[0] as PutResult;
  }

  /**
   * Writes users in order, each with its indexes, the events that record them written with the
   * accounts of each shard: created, or with mode 'update' replacing an existing record whole (its
   * id stays). A later user of the call sees an earlier one. UserBatches.putMany says how.
   */
  putMany(users: readonly NewUser[], options: PutOptions): Promise<PutResult[]> {
    return this.batches.putMany(users, options);
  }

  /**
   * putMany in its two steps, for a caller that writes batches one after another and starts the
   * next one's first step while one is written (the importer): `prepare` reads the accounts and
   * offers the ids (in the order of the calls), `commit` writes. A batch may be committed while
   * the one before is only when they share no username, email or id (PreparedBatch.taken).
   */
  prepare(users: readonly NewUser[], options: PutOptions): Promise<PreparedBatch> {
    return this.batches.prepare(users, options);
  }

  commit(batch: PreparedBatch): Promise<PutResult[]> {
    return this.batches.commit(batch);
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
