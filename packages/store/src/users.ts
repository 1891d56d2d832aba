import {
  type Identifier,
  InvalidStateError,
  looksLikeEmail,
  normaliseEmail,
  TesseraError,
  type UserProfile,
  type UserRecord,
} from '@tessera/core';
import { guarded } from './errors.ts';
import type { KeyLayout } from './keys.ts';
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

export interface NewUser {
  readonly username: string;
  readonly email?: string | null;
  readonly passwordHash: string;
  readonly scopes?: readonly string[];
  readonly disabled?: boolean;
  readonly profile?: Partial<UserProfile>;
}

const JSON_FIELDS = ['userIntitutes', 'firstLogin', 'loggedInUser', 'userDetails'] as const;
const TEXT_FIELDS = ['persCode', 'civilId', 'userMobile'] as const;

/** Usernames as Django allows them: 1–150 of letters, digits and @.+-_ */
export function validUsername(username: string): boolean {
  return /^[\p{L}\p{N}@.+\-_]{1,150}$/u.test(username);
}

function encode(id: number, u: NewUser): string[] {
  const out = [
    'id',
    String(id),
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
  for (const f of TEXT_FIELDS) {
    const v = u.profile?.[f];
    if (v !== undefined && v !== null) out.push(f, v);
  }
  for (const f of JSON_FIELDS) {
    const v = u.profile?.[f];
    if (v !== undefined && v !== null) out.push(f, JSON.stringify(v));
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

function pairsToObject(flat: readonly string[]): Record<string, string> {
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

  /** Creates a user; throws `UserExistsError` or `EmailTakenError`. */
  async create(user: NewUser): Promise<UserRecord> {
    if (!validUsername(user.username))
      throw new TypeError(`invalid username ${JSON.stringify(user.username)}: 1-150 letters, digits or @.+-_`);
    const email = user.email ? normaliseEmail(user.email) : null;
    if (email !== null && !looksLikeEmail(email)) throw new TypeError(`invalid email ${JSON.stringify(user.email)}`);
    return guarded(async () => {
      const id = await this.redis.incr(this.keys.userSeq);
      const r = await this.redis.createUser(
        this.keys.user(user.username),
        this.keys.email(email ?? ''),
        this.keys.userId(id),
        email === null ? '0' : '1',
        user.username,
        ...encode(id, user),
      );
      if (r === -1) throw new UserExistsError(`user ${user.username} already exists`);
      if (r === -2) throw new EmailTakenError(`email ${email} is already used by another user`);
      const created = await this.get(user.username);
      if (created === null) throw new InvalidStateError(`user ${user.username} vanished after creation`);
      return created;
    });
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

  async setPasswordHash(username: string, hash: string): Promise<void> {
    await this.patch(username, { hash });
  }

  private async patch(username: string, fields: Record<string, string>): Promise<void> {
    const r = await guarded(() => this.redis.patchUser(this.keys.user(username), ...Object.entries(fields).flat()));
    if (r === -1) throw new UnknownUserError(`no user ${username}`);
  }
}
