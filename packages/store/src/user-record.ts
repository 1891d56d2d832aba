import {
  InvalidStateError,
  MAX_PROFILE_JSON_BYTES,
  normaliseEmail,
  PROFILE_JSON_FIELDS,
  PROFILE_TEXT_FIELDS,
  profileJson,
  TesseraError,
  type UserProfile,
  type UserRecord,
} from '@tessera/core';
import { PutUser } from './lua-codes.ts';

/** A user as the store writes and reads it: the hash's fields, the errors and results of writing one. */

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

export const PUT_STATUS = {
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

/** The user hash's fields but `id` (the script sets it). */
export function encodeUser(u: NewUser): string[] {
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
