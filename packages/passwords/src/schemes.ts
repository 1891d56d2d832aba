import { Buffer } from 'node:buffer';
import { createHash, pbkdf2, timingSafeEqual } from 'node:crypto';
import { verify as argon2Verify } from '@node-rs/argon2';
import { verify as bcryptVerify } from '@node-rs/bcrypt';

/**
 * The stored password hash formats Tessera verifies: its own argon2id, and those of the systems it
 * takes users over from (Django's hasher strings, crypt/PHC strings of PHP and passlib). Each is
 * verified natively: argon2 by `@node-rs/argon2`, bcrypt by `@node-rs/bcrypt` (both native code on
 * libuv's thread pool), PBKDF2 by the runtime's own `crypto.pbkdf2` (thread pool too), the old
 * salted digests by `crypto.createHash` (microseconds). Every comparison is constant time.
 */
export type PasswordScheme =
  | 'argon2id'
  | 'argon2i'
  | 'bcrypt'
  | 'pbkdf2-sha256'
  | 'pbkdf2-sha512'
  | 'django-pbkdf2_sha256'
  | 'django-pbkdf2_sha1'
  | 'django-argon2'
  | 'django-bcrypt_sha256'
  | 'django-bcrypt'
  | 'django-sha1'
  | 'django-md5'
  | 'django-unsalted_sha1'
  | 'django-unsalted_md5'
  /** Django's unusable password (`!…`): never verifies; the user logs in after `users passwd`. */
  | 'unusable';

/**
 * Upper bounds on the cost a stored hash may ask for, so that no stored hash (an import, a
 * compromised dump) can make one verification take minutes or gigabytes. Every format in use sits
 * well below them: Django 5.2 PBKDF2 1,000,000 iterations, Django's argon2 100 MiB, bcrypt cost 12.
 */
export const COST_LIMITS = Object.freeze({
  pbkdf2Iterations: 10_000_000,
  bcryptCost: 16,
  argon2MemoryKiB: 262_144,
  argon2TimeCost: 32,
  argon2Parallelism: 16,
});

/** argon2 parameters of a stored hash (PHC or Django's wrapper). */
export interface Argon2Cost {
  readonly variant: 'argon2id' | 'argon2i';
  readonly version: number;
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

/** A stored hash understood: its scheme, and how to check a password against it. */
export interface ParsedHash {
  readonly scheme: PasswordScheme;
  /** Set for argon2 hashes: what the rehash-on-login policy compares with the current settings. */
  readonly argon2?: Argon2Cost;
  verify(password: string): Promise<boolean>;
}

export type HashParse = { readonly ok: true; readonly hash: ParsedHash } | { readonly ok: false; readonly reason: string };

const fail = (reason: string): HashParse => ({ ok: false, reason });
const parsed = (hash: ParsedHash): HashParse => ({ ok: true, hash });

/** Constant-time equality of a computed digest and the stored one (lengths are public: the format's). */
function same(computed: Uint8Array, stored: Uint8Array): boolean {
  return computed.length === stored.length && timingSafeEqual(computed, stored);
}

function pbkdf2Bytes(password: string, salt: Uint8Array, iterations: number, length: number, digest: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    pbkdf2(Buffer.from(password, 'utf8'), salt, iterations, length, digest, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const digest = (algorithm: 'sha1' | 'md5' | 'sha256', text: string): Buffer => createHash(algorithm).update(text, 'utf8').digest();

const STD_B64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** passlib's "adapted base64": `.` for `+`, no padding. */
const AB64 = /^[A-Za-z0-9./]+$/;
const HEX = /^[0-9a-fA-F]+$/;

function iterationsOf(text: string): number | string {
  if (!/^[1-9]\d{0,9}$/.test(text)) return `iteration count ${JSON.stringify(text)} is not a positive whole number`;
  const n = Number(text);
  if (n > COST_LIMITS.pbkdf2Iterations) return `iteration count ${n} is over the limit of ${COST_LIMITS.pbkdf2Iterations}`;
  return n;
}

/** `pbkdf2_sha256$<iterations>$<salt>$<base64>` and `pbkdf2_sha1$…` (Django's PBKDF2 hashers). */
function djangoPbkdf2(stored: string, scheme: 'django-pbkdf2_sha256' | 'django-pbkdf2_sha1'): HashParse {
  const parts = stored.split('$');
  if (parts.length !== 4) return fail('expected <algorithm>$<iterations>$<salt>$<hash>');
  const [, iter, salt, b64] = parts as [string, string, string, string];
  const iterations = iterationsOf(iter);
  if (typeof iterations === 'string') return fail(iterations);
  if (salt === '') return fail('empty salt');
  const length = scheme === 'django-pbkdf2_sha256' ? 32 : 20;
  const expected = STD_B64.test(b64) ? Buffer.from(b64, 'base64') : null;
  if (expected === null || expected.length !== length) return fail(`hash is not ${length} bytes of base64`);
  const algorithm = scheme === 'django-pbkdf2_sha256' ? 'sha256' : 'sha1';
  const saltBytes = Buffer.from(salt, 'utf8');
  return parsed({
    scheme,
    verify: async (password) => same(await pbkdf2Bytes(password, saltBytes, iterations, length, algorithm), expected),
  });
}

/** `$pbkdf2-sha256$<rounds>$<ab64 salt>$<ab64 hash>` and `$pbkdf2-sha512$…` (passlib). */
function passlibPbkdf2(stored: string, scheme: 'pbkdf2-sha256' | 'pbkdf2-sha512'): HashParse {
  const parts = stored.split('$');
  if (parts.length !== 5) return fail('expected $<scheme>$<rounds>$<salt>$<hash>');
  const [, , rounds, salt, checksum] = parts as [string, string, string, string, string];
  const iterations = iterationsOf(rounds);
  if (typeof iterations === 'string') return fail(iterations);
  const ab64 = (s: string) => (AB64.test(s) ? Buffer.from(s.replaceAll('.', '+'), 'base64') : null);
  const saltBytes = ab64(salt);
  const expected = ab64(checksum);
  const length = scheme === 'pbkdf2-sha256' ? 32 : 64;
  if (saltBytes === null || saltBytes.length === 0) return fail('salt is not adapted base64');
  if (expected === null || expected.length !== length) return fail(`hash is not ${length} bytes of adapted base64`);
  const algorithm = scheme === 'pbkdf2-sha256' ? 'sha256' : 'sha512';
  return parsed({
    scheme,
    verify: async (password) => same(await pbkdf2Bytes(password, saltBytes, iterations, length, algorithm), expected),
  });
}

const ARGON2_PHC = /^\$(argon2id|argon2i)\$(?:v=(\d+)\$)?m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** `$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>` and `$argon2i$…` (PHC). */
function argon2Phc(phc: string, scheme: PasswordScheme): HashParse {
  const m = ARGON2_PHC.exec(phc);
  if (m === null) return fail('not an argon2 PHC string ($argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>)');
  const [, variant, v, mem, t, p] = m as unknown as [string, 'argon2id' | 'argon2i', string | undefined, string, string, string];
  const cost: Argon2Cost = {
    variant,
    version: v === undefined ? 16 : Number(v),
    memoryCost: Number(mem),
    timeCost: Number(t),
    parallelism: Number(p),
  };
  if (cost.version !== 16 && cost.version !== 19) return fail(`argon2 version ${cost.version} is neither 16 nor 19`);
  if (cost.memoryCost > COST_LIMITS.argon2MemoryKiB)
    return fail(`argon2 memory ${cost.memoryCost} KiB is over ${COST_LIMITS.argon2MemoryKiB}`);
  if (cost.timeCost < 1 || cost.timeCost > COST_LIMITS.argon2TimeCost) return fail(`argon2 time cost ${cost.timeCost} is not 1-32`);
  if (cost.parallelism < 1 || cost.parallelism > COST_LIMITS.argon2Parallelism)
    return fail(`argon2 parallelism ${cost.parallelism} is not 1-16`);
  if (cost.memoryCost < 8 * cost.parallelism) return fail('argon2 memory is under 8 KiB per lane');
  // what argon2 itself requires: a salt of 8 bytes or more, a hash of 4 or more
  const [salt, hash] = [m[6] as string, m[7] as string].map((b64) => Buffer.from(b64, 'base64').length) as [number, number];
  if (salt < 8) return fail(`argon2 salt of ${salt} bytes is under 8`);
  if (hash < 4) return fail(`argon2 hash of ${hash} bytes is under 4`);
  return parsed({
    scheme,
    argon2: cost,
    verify: async (password) => {
      try {
        return await argon2Verify(phc, password);
      } catch {
        return false;
      }
    },
  });
}

const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/** `$2a$`, `$2b$`, `$2y$` (crypt; PHP's password_hash), given the password bytes bcrypt sees. */
function bcrypt(crypt: string, scheme: PasswordScheme, prepare: (password: string) => string = (p) => p): HashParse {
  const m = BCRYPT.exec(crypt);
  if (m === null) return fail('not a bcrypt string ($2b$<cost>$<53 characters>)');
  const cost = Number(m[1]);
  if (cost < 4 || cost > COST_LIMITS.bcryptCost) return fail(`bcrypt cost ${cost} is not 4-${COST_LIMITS.bcryptCost}`);
  return parsed({ scheme, verify: (password) => bcryptVerify(prepare(password), crypt) });
}

/** Django's old salted digests: `sha1$<salt>$<hex>`, `md5$<salt>$<hex>`; unsalted with an empty salt. */
function djangoDigest(stored: string, algorithm: 'sha1' | 'md5'): HashParse {
  const parts = stored.split('$');
  if (parts.length !== 3) return fail(`expected ${algorithm}$<salt>$<hex>`);
  const [, salt, hex] = parts as [string, string, string];
  const length = algorithm === 'sha1' ? 20 : 16;
  if (!HEX.test(hex) || hex.length !== 2 * length) return fail(`hash is not ${2 * length} hex digits`);
  const expected = Buffer.from(hex, 'hex');
  const scheme: PasswordScheme = salt === '' ? `django-unsalted_${algorithm}` : `django-${algorithm}`;
  return parsed({ scheme, verify: async (password) => same(digest(algorithm, salt + password), expected) });
}

const DJANGO_PREFIXES: readonly [string, (stored: string) => HashParse][] = [
  ['pbkdf2_sha256$', (s) => djangoPbkdf2(s, 'django-pbkdf2_sha256')],
  ['pbkdf2_sha1$', (s) => djangoPbkdf2(s, 'django-pbkdf2_sha1')],
  ['argon2$', (s) => argon2Phc(s.slice('argon2'.length), 'django-argon2')],
  // Django hashes the password with SHA-256 and gives bcrypt the 64 hex characters (no 72-byte cut).
  ['bcrypt_sha256$', (s) => bcrypt(s.slice('bcrypt_sha256$'.length), 'django-bcrypt_sha256', (p) => digest('sha256', p).toString('hex'))],
  ['bcrypt$', (s) => bcrypt(s.slice('bcrypt$'.length), 'django-bcrypt')],
  ['sha1$', (s) => djangoDigest(s, 'sha1')],
  ['md5$', (s) => djangoDigest(s, 'md5')],
];

/** Reads a stored hash: its scheme and verifier, or why it is not one Tessera knows. */
export function parseHash(stored: string): HashParse {
  if (stored.startsWith('$argon2id$')) return argon2Phc(stored, 'argon2id');
  if (stored.startsWith('$argon2i$')) return argon2Phc(stored, 'argon2i');
  if (stored.startsWith('$2')) return bcrypt(stored, 'bcrypt');
  if (stored.startsWith('$pbkdf2-sha256$')) return passlibPbkdf2(stored, 'pbkdf2-sha256');
  if (stored.startsWith('$pbkdf2-sha512$')) return passlibPbkdf2(stored, 'pbkdf2-sha512');
  if (stored.startsWith('!')) return parsed({ scheme: 'unusable', verify: async () => false });
  for (const [prefix, parse] of DJANGO_PREFIXES) if (stored.startsWith(prefix)) return parse(stored);
  if (stored.length === 32 && HEX.test(stored)) return djangoDigest(`md5$$${stored}`, 'md5');
  const head = /^\$?[A-Za-z0-9_-]{1,32}\$/.exec(stored)?.[0];
  return fail(head === undefined ? 'unknown password hash format' : `unknown password hash format ${JSON.stringify(head)}`);
}
