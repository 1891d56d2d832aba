import {
  looksLikeEmail,
  MAX_PROFILE_JSON_BYTES,
  MAX_USER_ID,
  normaliseEmail,
  PROFILE_JSON_FIELDS,
  PROFILE_TEXT_FIELDS,
  profileJson,
  USERNAME_RULE,
  type UserProfile,
  userIdOf,
  validUsername,
} from '@tessera/core';
import { parseHash } from '@tessera/passwords';
import type { NewUser } from '@tessera/store';
import type { ImportFormat, RowProblem } from './read.ts';

/** A row read as a user: the user to write, or its plain password still to hash. */
export interface ImportUser {
  readonly user: NewUser;
  /** A plain `password` column (for seeding): hashed with argon2id before the write. */
  readonly password?: string;
}

export type RowResult = { readonly ok: true; readonly row: ImportUser } | { readonly ok: false; readonly problem: RowProblem };

/** Columns of ndjson and csv rows, as the docs list them; any other is ignored (and named once). */
export const ROW_COLUMNS = [
  'username',
  'id',
  'email',
  'password_hash',
  'password',
  'disabled',
  'scopes',
  'pendingUpstream',
  'last_login',
  'persCode',
  'civilId',
  'userMobile',
  'userIntitutes',
  'firstLogin',
  'loggedInUser',
  'userDetails',
] as const;

class RowError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const refuse = (code: string, reason: string): never => {
  throw new RowError(code, reason);
};

/** CSV cells are text: '' is "not given"; ndjson values keep their JSON type. */
function given(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

function text(name: string, v: unknown): string | undefined {
  if (!given(v)) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return refuse('bad_field', `${name} must be text`);
}

function bool(name: string, v: unknown): boolean | undefined {
  if (!given(v)) return undefined;
  if (typeof v === 'boolean') return v;
  const t = String(v).trim().toLowerCase();
  if (['1', 'true', 'yes', 't', 'y'].includes(t)) return true;
  if (['0', 'false', 'no', 'f', 'n'].includes(t)) return false;
  return refuse('bad_field', `${name} must be true or false`);
}

function id(v: unknown): number | undefined {
  if (!given(v)) return undefined;
  return userIdOf(v) ?? refuse('bad_id', `id ${JSON.stringify(v)} is not a whole number from 1 to ${MAX_USER_ID}`);
}

/** A JSON-valued profile field: any JSON in ndjson; JSON text in a CSV cell; at most 8 KiB of it. */
function json(name: string, v: unknown, format: ImportFormat): unknown {
  if (v === undefined || v === '') return undefined;
  let value = v;
  if (format === 'csv') {
    try {
      value = JSON.parse(v as string);
    } catch {
      return refuse('bad_field', `${name} is not JSON`);
    }
  }
  if (profileJson(value) === null) return refuse('bad_field', `${name} is over ${MAX_PROFILE_JSON_BYTES} bytes of JSON`);
  return value;
}

function scopes(v: unknown): string[] | undefined {
  if (!given(v)) return undefined;
  if (typeof v === 'string') return v.split(/\s+/).filter((s) => s !== '');
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v;
  return refuse('bad_field', 'scopes must be a list of strings, or one string of space-separated scopes');
}

/** ISO 8601 date and time, `T` or a space between them, seconds and their fraction optional, an offset or none (UTC). */
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?$/i;

/** Django's `last_login` (its JSON: ISO 8601 to the millisecond, `Z` for UTC) as ms since the epoch; without an offset, UTC. */
function lastLogin(v: unknown): number | undefined {
  if (!given(v)) return undefined;
  const m = typeof v === 'string' ? DATE_TIME.exec(v.trim()) : null;
  // Date.parse takes at most milliseconds, and a time without an offset as local time
  const fraction = m?.[2]?.replace(/(\.\d{3})\d+$/, '$1');
  const offset = m?.[3]?.toUpperCase() ?? 'Z';
  const ms =
    m === null ? Number.NaN : Date.parse(`${m[1]}T${fraction}${offset.length === 5 ? `${offset.slice(0, 3)}:${offset.slice(3)}` : offset}`);
  if (Number.isNaN(ms) || ms < 0) return refuse('bad_field', `last_login ${JSON.stringify(v)} is not an ISO 8601 date and time`);
  return ms;
}

function passwordHash(stored: string): string {
  const p = parseHash(stored);
  if (!p.ok) return refuse('bad_hash', p.reason);
  return stored;
}

/** An ndjson or csv row: the columns of ROW_COLUMNS. */
function userRow(f: Record<string, unknown>, format: ImportFormat): ImportUser {
  const username = text('username', f.username);
  if (username === undefined) return refuse('missing_username', 'no username');
  if (!validUsername(username)) return refuse('bad_username', `username ${JSON.stringify(username)}: ${USERNAME_RULE}`);
  const email = text('email', f.email)?.trim();
  if (email !== undefined && !looksLikeEmail(normaliseEmail(email)))
    return refuse('bad_email', `email ${JSON.stringify(email)} is not an email`);
  const hash = text('password_hash', f.password_hash);
  const password = text('password', f.password);
  const pendingUpstream = bool('pendingUpstream', f.pendingUpstream);
  if (hash !== undefined && password !== undefined) return refuse('bad_field', 'give password_hash or password, not both');
  if (hash === undefined && password === undefined && pendingUpstream !== true)
    return refuse('missing_password', 'no password_hash, password or pendingUpstream');
  const profile: Record<string, unknown> = {};
  for (const name of PROFILE_TEXT_FIELDS) {
    const v = text(name, f[name]);
    if (v !== undefined && v.length > 254) return refuse('bad_field', `${name} is over 254 characters`);
    if (v !== undefined) profile[name] = v;
  }
  for (const name of PROFILE_JSON_FIELDS) {
    const v = json(name, f[name], format);
    if (v !== undefined) profile[name] = v;
  }
  if (profile.userIntitutes !== undefined && !Array.isArray(profile.userIntitutes))
    return refuse('bad_field', 'userIntitutes must be a JSON array');
  const s = scopes(f.scopes);
  const last = lastLogin(f.last_login);
  const user: NewUser = {
    username,
    email: email ?? null,
    // A pending user without a hash has an unusable one until the upstream proves a password.
    passwordHash: hash === undefined ? '!' : passwordHash(hash),
    disabled: bool('disabled', f.disabled) === true,
    ...(id(f.id) === undefined ? {} : { id: id(f.id) as number }),
    ...(s === undefined ? {} : { scopes: s }),
    ...(pendingUpstream === true ? { pendingUpstream } : {}),
    ...(last === undefined ? {} : { lastLogin: last }),
    ...(Object.keys(profile).length === 0 ? {} : { profile: profile as Partial<UserProfile> }),
  };
  return password === undefined ? { user } : { user, password };
}

/**
 * A `manage.py dumpdata auth.user` element: `pk` is the id, `fields.password` the hash (an unusable
 * `!…` one imports a user who cannot log in until `users passwd`), `is_active: false` disables,
 * `last_login` is kept.
 */
function djangoRow(f: Record<string, unknown>): ImportUser {
  const fields = f.fields;
  if (typeof fields !== 'object' || fields === null || !('username' in fields) || !('password' in fields))
    return refuse('not_a_user', `not a user record (model ${JSON.stringify(f.model ?? null)} without fields.username and fields.password)`);
  const d = fields as Record<string, unknown>;
  // Django takes an empty password field as no password: no one logs in with it
  const hash = text('password', d.password) ?? '!';
  return userRow(
    {
      username: d.username,
      id: f.pk,
      email: d.email,
      password_hash: hash,
      disabled: d.is_active === false,
      last_login: d.last_login,
    },
    'django',
  );
}

/** Reads one row's fields as a user to import, or says why it cannot be one. */
export function toImportUser(fields: Record<string, unknown>, format: ImportFormat): RowResult {
  try {
    return { ok: true, row: format === 'django' ? djangoRow(fields) : userRow(fields, format) };
  } catch (err) {
    if (err instanceof RowError) return { ok: false, problem: { code: err.code, reason: err.message } };
    throw err;
  }
}
