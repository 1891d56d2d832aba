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
import { guarded } from './errors.ts';
import type { KeyLayout } from './keys.ts';
import { PatchUser, PutUser, PutUserFlag, SetPassword } from './lua-codes.ts';
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

/** Users in Redis: one hash each, with email and id indexes, all under the `{users}` tag. */
export class UserRepository {
  constructor(
    private readonly redis: TesseraRedis,
    private readonly keys: KeyLayout,
  ) {}

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

  /** Users whose tokens an update left to revoke (password changed, disabled), oldest first. */
  async revocationsDue(): Promise<{ readonly id: number; readonly reason: 'password_changed' | 'user_disabled' }[]> {
    const due = await guarded(() => this.redis.hgetall(this.keys.revocationsDue));
    return Object.entries(due).map(([id, reason]) => ({ id: Number(id), reason: reason as 'password_changed' | 'user_disabled' }));
  }

  /** Done: the user's tokens were revoked. */
  async revocationDone(id: number): Promise<void> {
    await guarded(() => this.redis.hdel(this.keys.revocationsDue, String(id)));
  }

  /** Writes one user with its indexes and its event in one step: `putMany` of one. */
  async put(user: NewUser, options: PutOptions): Promise<PutResult> {
    return (await this.putMany([user], options))[0] as PutResult;
  }

  /**
   * Writes users in order, each with its indexes, in one step with the events that record them
   * (putUsers-3.lua): created, or with mode 'update' replacing an existing record whole (its id
   * stays). Keep batches small (50): one call holds Redis for all of them. Throws `TypeError` for
   * an invalid username, email or id, writing nothing.
   */
  async putMany(users: readonly NewUser[], options: PutOptions): Promise<PutResult[]> {
    const args: string[] = [];
    for (const user of users) {
      if (!validUsername(user.username)) throw new TypeError(`invalid username ${JSON.stringify(user.username)}: ${USERNAME_RULE}`);
      const email = user.email ? normaliseEmail(user.email) : '';
      if (email !== '' && !looksLikeEmail(email)) throw new TypeError(`invalid email ${JSON.stringify(user.email)}`);
      if (user.id !== undefined && userIdOf(user.id) === undefined)
        throw new TypeError(`invalid id ${user.id}: a positive integer up to ${MAX_USER_ID}`);
      if (user.lastLogin !== undefined && !(Number.isSafeInteger(user.lastLogin) && user.lastLogin >= 0))
        throw new TypeError(`invalid lastLogin ${user.lastLogin}: ms since the epoch`);
      const fields = encode(user);
      args.push(user.username, email, user.id === undefined ? '' : String(user.id), String(fields.length), ...fields);
    }
    const flat = await guarded(() =>
      this.redis.putUsers(
        this.keys.userSeq,
        this.keys.outbox,
        this.keys.revocationsDue,
        options.mode,
        options.dryRun === true ? '1' : '0',
        this.keys.indexPrefix,
        options.event ?? '',
        ...args,
      ),
    );
    const out: PutResult[] = [];
    for (let i = 0; i < flat.length; i += 3) {
      const [code, id, flags] = flat.slice(i, i + 3) as [number, number, number];
      const status = PUT_STATUS[code as keyof typeof PUT_STATUS];
      if (status === undefined) throw new InvalidStateError(`putUsers answered ${code}`);
      if (status === 'email_taken' || status === 'id_taken' || status === 'ids_exhausted') out.push({ status });
      else if (status === 'updated' && flags !== 0)
        out.push({ status, id, revoke: flags & PutUserFlag.Disabled ? 'user_disabled' : 'password_changed' });
      else out.push({ status, id });
    }
    return out;
  }

  async get(username: string): Promise<UserRecord | null> {
    return guarded(async () => decodeUser(await this.redis.hgetall(this.keys.user(username))));
  }

  /** One round trip either way: HGETALL by username, or the email script. */
  async find(identifier: Identifier): Promise<UserRecord | null> {
    if (identifier.by === 'username') return this.get(identifier.value);
    return guarded(async () => {
      const flat = await this.redis.getUserByIndex(this.keys.email(normaliseEmail(identifier.value)), this.keys.userPrefix);
      return decodeUser(pairsToObject(flat));
    });
  }

  async findById(id: number): Promise<UserRecord | null> {
    return guarded(async () => decodeUser(pairsToObject(await this.redis.getUserByIndex(this.keys.userId(id), this.keys.userPrefix))));
  }

  async setDisabled(username: string, disabled: boolean): Promise<void> {
    await this.patch(username, { disabled: disabled ? '1' : '0' });
  }

  /**
   * Sets a user's password hash (and clears a pending-upstream mark), with its event, in one step.
   * With `expected`, only if the stored hash is still that one: false when it changed meanwhile.
   */
  async setPasswordHash(username: string, hash: string, options: { expected?: string; event?: string } = {}): Promise<boolean> {
    const r = await guarded(() =>
      this.redis.setPassword(this.keys.user(username), this.keys.outbox, options.expected ?? '', hash, options.event ?? ''),
    );
    if (r === SetPassword.NoSuchUser) throw new UnknownUserError(`no user ${username}`);
    return r === SetPassword.Replaced;
  }

  private async patch(username: string, fields: Record<string, string>): Promise<void> {
    const r = await guarded(() => this.redis.patchUser(this.keys.user(username), ...Object.entries(fields).flat()));
    if (r === PatchUser.NoSuchUser) throw new UnknownUserError(`no user ${username}`);
  }
}
