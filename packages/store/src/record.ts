import { Buffer } from 'node:buffer';
import type { DialectName, TokenFormat, TokenKind, TokenRecord, TokenState } from '@tessera/core';
import { TokenScript } from './lua-codes.ts';
import { DEFAULT_SCOPES } from './user-record.ts';

/*
 * A token record as Redis keeps it: one short string, not JSON. A Redis string of at most 44 bytes
 * is a single allocation; every byte of a record is paid for by every live token.
 *
 *   <kind><format><dialect><userId>[.<shard>]|<iat>|<exp - iat>|<family>|<username>|<jti>|<scopes>
 *
 * kind      `a` access, `r` refresh, `s` SimpleJWT sliding: the first character, which the Lua
 *           scripts check; a refresh token once used is stored as `U` .. record
 * format    `u` uuid, `h` hex128, `j` jwt
 * dialect   `m` moh, `n` nehr, `s` simplejwt, `p` peb
 * userId, iat, exp - iat   integers in base 36 (times in seconds)
 * shard     only in the records useRefresh-1.lua trades in (tokens.ts says which): the hash tag of
 *           the owner's account shard, `s<k>.<n>` (keys.ts shardTags), without its `s`
 *           (`rum7ps.47.15`: user 7ps, shard s47.15), 4-7 bytes; the script reads its owner's
 *           account by it as is (in base 26 it would be 2 bytes shorter, but decoding it cost
 *           the script 0.5 µs). Records written before it was added have none (the script then
 *           leaves their owner to the caller)
 * family    a (lowercase) UUID as its 16 bytes in base64url (22 characters); any other family
 *           as `~` .. family
 * username  as is (usernames hold no `|`); useRefresh-1.lua reads it as the fifth field
 * jti       as is, empty without one
 * scopes    empty for the default scopes, else their JSON (the last field: it may hold anything)
 */

const KINDS: Record<TokenKind, string> = { access: 'a', refresh: 'r', sliding: 's' };
const FORMATS: Record<TokenFormat, string> = { uuid: 'u', hex128: 'h', jwt: 'j' };
const DIALECTS: Record<DialectName, string> = { moh: 'm', nehr: 'n', simplejwt: 's', peb: 'p' };
const invert = <K extends string>(m: Record<K, string>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [v, k])) as Record<string, K>;
const KIND_OF = invert(KINDS);
const FORMAT_OF = invert(FORMATS);
const DIALECT_OF = invert(DIALECTS);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A login family as the store writes it (in records and as the field of its user's index). */
export function encodeFamily(family: string): string {
  return UUID.test(family) ? Buffer.from(family.replaceAll('-', ''), 'hex').toString('base64url') : `~${family}`;
}

export function decodeFamily(stored: string): string {
  if (stored.startsWith('~')) return stored.slice(1);
  const h = Buffer.from(stored, 'base64url').toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function sameScopes(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

const SHARD_TAG = /^s\d+\.\d+$/;

/**
 * `shardTag`: the hash tag of the owner's account shard (keys.ts shardTags), which the record
 * carries when given.
 */
export function encodeRecord(r: TokenRecord, shardTag?: string): string {
  if (r.username.includes('|')) throw new TypeError(`a username holds no '|': ${JSON.stringify(r.username)}`);
  if (r.jti?.includes('|')) throw new TypeError(`a jti holds no '|': ${JSON.stringify(r.jti)}`);
  if (shardTag !== undefined && !SHARD_TAG.test(shardTag)) throw new TypeError(`not an account shard's tag: ${JSON.stringify(shardTag)}`);
  const scopes = sameScopes(r.scopes, DEFAULT_SCOPES) ? '' : JSON.stringify(r.scopes);
  return [
    `${KINDS[r.kind]}${FORMATS[r.format]}${DIALECTS[r.dialect]}${r.userId.toString(36)}${shardTag === undefined ? '' : `.${shardTag.slice(1)}`}`,
    r.iat.toString(36),
    (r.exp - r.iat).toString(36),
    encodeFamily(r.family),
    r.username,
    r.jti ?? '',
    scopes,
  ].join('|');
}

/** Where a record's user id ends: at its shard, if it has one. */
function headEnd(head: string): number {
  const dot = head.indexOf('.');
  return dot < 0 ? head.length : dot;
}

/** The record of a stored value (without the used mark). */
export function decodeRecord(stored: string): TokenRecord {
  const f: string[] = [];
  let from = 0;
  for (let i = 0; i < 6; i++) {
    const to = stored.indexOf('|', from);
    if (to < 0) throw new TypeError('not a token record');
    f.push(stored.slice(from, to));
    from = to + 1;
  }
  const [head, iat36, life36, family, username, jti] = f as [string, string, string, string, string, string];
  const scopes = stored.slice(from);
  const kind = KIND_OF[head[0] as string];
  const format = FORMAT_OF[head[1] as string];
  const dialect = DIALECT_OF[head[2] as string];
  if (kind === undefined || format === undefined || dialect === undefined) throw new TypeError('not a token record');
  const iat = Number.parseInt(iat36, 36);
  const base = {
    kind,
    format,
    dialect,
    userId: Number.parseInt(head.slice(3, headEnd(head)), 36),
    username,
    scopes: scopes === '' ? [...DEFAULT_SCOPES] : (JSON.parse(scopes) as string[]),
    iat,
    exp: iat + Number.parseInt(life36, 36),
    family: decodeFamily(family),
  };
  return jti === '' ? base : { ...base, jti };
}

/**
 * The hash tag of its owner's account shard that a stored value (with or without the used mark)
 * carries, or undefined.
 */
export function recordShardTag(stored: string): string | undefined {
  const head = stored.slice(0, stored.indexOf('|'));
  const end = headEnd(head);
  return end === head.length ? undefined : `s${head.slice(end + 1)}`;
}

/** A token key's value as a state: 'U' .. record once a refresh token was used (useRefresh-1.lua). */
export function recordState(raw: string): TokenState {
  return raw.startsWith('U') ? { state: 'used', record: decodeRecord(raw.slice(1)) } : { state: 'live', record: decodeRecord(raw) };
}

/** A token script's answer (TokenScript in lua-codes.ts) as a state. */
export function scriptState([code, raw]: [number, string?]): TokenState {
  if (code === TokenScript.Unknown || raw === undefined) return { state: 'unknown' };
  // consumeAccess answers a used refresh token as 'wrong kind', mark included
  const record = decodeRecord(raw.startsWith('U') ? raw.slice(1) : raw);
  if (code === TokenScript.Used) return { state: 'used', record };
  if (code === TokenScript.WrongKind) return { state: 'wrong_kind', record };
  return { state: 'live', record };
}
