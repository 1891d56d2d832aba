import { newEvent } from '@tessera/events';
import { connectRedis, type NewUser, type PreparedBatch, type PutResult, type TesseraRedis, UserRepository } from '@tessera/store';
import { type CliContext, revokeUserTokens } from '../context.ts';
import type { ImportUser } from './row.ts';

/** Users whose tokens revokeDue revokes at once. */
const REVOKE_AT_ONCE = 32;

/** Users per putUsers call: one call holds Redis for all of them (50: about half a millisecond). */
export const SCRIPT_USERS = 50;

/**
 * What the earlier rows of this file did, for a dry run only: a real run learns of a username,
 * email or id met earlier in the file from the store, where the earlier row already is. A dry run
 * writes nothing, so it keeps the rows it would have written (about 150 bytes a row) and the id
 * sequence, and judges each row against them the way putUsers (users.ts) would. What it cannot follow:
 * an email an update in the same file frees for a later row (the dry run says email_taken).
 */
export class DryRunLedger {
  private readonly records = new Map<string, { readonly id: number; readonly email: string; readonly data: string }>();
  private readonly emails = new Map<string, string>();
  private readonly ids = new Map<number, string>();

  /** `seq`: the store's id sequence now. */
  constructor(private seq: number) {}

  /** What this row would come to, given what the store said of it alone. */
  decide(user: NewUser, mode: 'create' | 'update', store: PutResult): PutResult {
    const email = user.email ? user.email.trim().toLowerCase() : '';
    const data = JSON.stringify([
      email,
      user.passwordHash,
      user.scopes,
      user.disabled === true,
      user.profile,
      user.pendingUpstream === true,
    ]);
    const earlier = this.records.get(user.username);
    const emailOwner = email === '' ? undefined : this.emails.get(email);
    let result: PutResult;
    if (earlier !== undefined) {
      if (mode === 'create') result = { status: 'exists', id: earlier.id };
      else if (user.id !== undefined && user.id !== earlier.id) result = { status: 'id_mismatch', id: earlier.id };
      else if (emailOwner !== undefined && emailOwner !== user.username) result = { status: 'email_taken' };
      else if (email !== earlier.email && store.status === 'email_taken') result = store;
      else result = earlier.data === data ? { status: 'unchanged', id: earlier.id } : { status: 'updated', id: earlier.id };
    } else if (store.status === 'created' || store.status === 'updated' || store.status === 'unchanged') {
      const idOwner = user.id === undefined ? undefined : this.ids.get(user.id);
      if (emailOwner !== undefined && emailOwner !== user.username) result = { status: 'email_taken' };
      else if (idOwner !== undefined && idOwner !== user.username) result = { status: 'id_taken' };
      else if (store.status === 'created') result = { status: 'created', id: this.allocate(user.id) };
      else result = store;
    } else result = store;
    if (result.status === 'created' || result.status === 'updated' || result.status === 'unchanged') {
      const previous = this.records.get(user.username);
      if (previous !== undefined && previous.email !== email) this.emails.delete(previous.email);
      this.records.set(user.username, { id: result.id, email, data });
      if (email !== '') this.emails.set(email, user.username);
      this.ids.set(result.id, user.username);
    }
    return result;
  }

  /** The id a created user gets: its own (moving the sequence past it), or the next free one. */
  private allocate(kept: number | undefined): number {
    if (kept !== undefined) {
      this.seq = Math.max(this.seq, kept);
      return kept;
    }
    do this.seq++;
    while (this.ids.has(this.seq));
    return this.seq;
  }
}

/** A batch's plain passwords so far, by username, with the user each became (passwordHash). */
type EarlierHashes = Map<string, { readonly password: string; readonly user: Promise<NewUser> }>;

/**
 * The hash a row's plain password gets: the user's own when it already verifies (so a re-run
 * changes nothing; with 'create' the row will be skipped anyway), else a fresh argon2id hash (a
 * dry run only marks it new). `earlier`: the hashes of the batch's rows before it, by username,
 * so a user named twice with the same password gets the first row's hash, as one by one.
 */
function passwordHash(
  c: CliContext,
  row: ImportUser,
  mode: 'create' | 'update',
  dryRun: boolean,
  earlier: EarlierHashes,
): Promise<NewUser> {
  const { password, user } = row;
  if (password === undefined) return Promise.resolve(user);
  const before = earlier.get(user.username);
  const hashed =
    before !== undefined && before.password === password
      ? before.user.then((b) => ({ ...user, passwordHash: b.passwordHash }))
      : (async () => {
          const existing = await c.users.get(user.username);
          if (existing !== null && (mode === 'create' || (await c.hasher.verify(existing.passwordHash, password))))
            return { ...user, passwordHash: existing.passwordHash };
          return { ...user, passwordHash: dryRun ? '!new' : await c.hasher.hash(password) };
        })();
  earlier.set(user.username, { password, user: hashed });
  return hashed;
}

/**
 * Writes an import's batches in the file's order. Each batch: plain passwords hashed first (all at
 * once, on the thread pool), then the batch in one `putMany` in its two steps (UserRepository
 * prepare, commit), which keeps the file's order where rows depend on each other and writes each
 * account shard's users in scripts of at most SCRIPT_USERS. Each script records what it created
 * and updated as one event each, with their count. An update that changed a user's password or
 * disabled them revokes their tokens, as `users passwd` and `users disable` do.
 *
 * A batch's first step (its accounts read, its ids offered) goes after the one before's, so ids
 * follow the file; its writes may go while the batch before is still being written (Redis and
 * the importer then work at once) when the two share no username, email (a row's, or its
 * account's now) or id, else it waits for them: a batch that names a username of the one before
 * is prepared only once that one is written. Never more than two batches are being written, a
 * batch of no rows (bad rows only) counting too, so reading waits when writing does. Once a batch
 * has failed, no batch starts writing. A dry run writes one batch at a time.
 */
export class BatchWriter {
  /** The batch being written last (null: one of no rows), and the one before it. */
  private last: { readonly batch: PreparedBatch | null; readonly done: Promise<unknown> } | null = null;
  private older: Promise<unknown> = Promise.resolve();
  private failure: { readonly error: unknown } | null = null;
  /** The revocations after batches, one after another (two at once would revoke a user's tokens twice). */
  private revoking: Promise<void> = Promise.resolve();
  /**
   * The first steps' own connection: Redis serves a connection's commands in order, so on the
   * writes' connection a batch's first step would wait behind all of the writes of the one before.
   */
  private reader: Promise<{ readonly redis: TesseraRedis; readonly users: UserRepository }> | null = null;

  constructor(
    private readonly c: CliContext,
    private readonly mode: 'create' | 'update',
    private readonly ledger: DryRunLedger | null,
  ) {}

  /**
   * Starts a batch; resolves once its first step is done, with its results to come (in order).
   * Throws the error of a batch that failed before this one started writing.
   */
  async start(rows: readonly ImportUser[]): Promise<{ readonly results: Promise<PutResult[]> }> {
    const { c, mode, ledger } = this;
    const dryRun = ledger !== null;
    const last = this.last;
    await this.older.catch(() => {});
    this.throwIfFailed();
    let waited = last === null;
    const wait = async () => {
      if (!waited) await last?.done.catch(() => {});
      waited = true;
      this.throwIfFailed();
    };
    if (dryRun || (last?.batch != null && rows.some((r) => last.batch?.taken.hasUsername(r.user.username)))) await wait();
    let batch: PreparedBatch | null = null;
    let results: Promise<PutResult[]> = Promise.resolve([]);
    if (rows.length > 0) {
      const earlier: EarlierHashes = new Map();
      // (each row's hash is looked up, or started, in order before the first is awaited)
      const users = await Promise.all(rows.map((row) => passwordHash(c, row, mode, dryRun, earlier)));
      const event = JSON.stringify(newEvent('user.changed', { dialect: 'cli', reason: 'import' }));
      this.reader ??= connectRedis({ url: c.settings.redisUrl, commandTimeoutMs: 5000, connectionName: 'tessera-cli-reads' }).then(
        (redis) => ({ redis, users: new UserRepository(redis, c.keys, 1) }),
      );
      batch = await (await this.reader).users.prepare(users, { mode, dryRun, event, scriptUsers: SCRIPT_USERS });
      if (last?.batch != null && batch.taken.meets(last.batch.taken)) await wait();
      this.throwIfFailed();
      results = c.users.commit(batch).then(async (answers) => {
        if (ledger !== null) return answers.map((a, i) => ledger.decide(users[i] as NewUser, mode, a));
        if (answers.some((a) => a.status === 'updated' && a.revoke !== undefined)) await this.revokeDue();
        return answers;
      });
      results.catch((error: unknown) => {
        this.failure ??= { error };
      });
    }
    this.older = last?.done ?? Promise.resolve();
    this.last = { batch, done: results };
    return { results };
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure.error;
  }

  /** revokeDue after the revocations before it. */
  private revokeDue(): Promise<void> {
    const next = this.revoking.catch(() => {}).then(() => revokeDue(this.c));
    this.revoking = next;
    return next;
  }

  /** Closes the first steps' connection. */
  async close(): Promise<void> {
    const reader = await this.reader?.catch(() => null);
    await reader?.redis.quit().catch(() => reader.redis.disconnect());
  }
}

/**
 * Revokes the tokens of every user an update left due (putUsers-2.lua records them in the same
 * step as the update): after a batch that left some, and at the start of a run, so a run that was
 * killed in between is finished by the next one.
 */
export async function revokeDue(c: CliContext): Promise<void> {
  const due = await c.users.revocationsDue();
  let next = 0;
  // REVOKE_AT_ONCE users at a time: each is a few round trips (its families, its event)
  await Promise.all(
    Array.from({ length: Math.min(REVOKE_AT_ONCE, due.length) }, async () => {
      for (let d = due[next++]; d !== undefined; d = due[next++]) {
        await revokeUserTokens(c, d.id, d.reason);
        await c.users.revocationDone(d);
      }
    }),
  );
}
