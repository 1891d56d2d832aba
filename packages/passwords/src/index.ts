import { type Algorithm, hash } from '@node-rs/argon2';
import { type ParsedHash, type PasswordScheme, parseHash } from './schemes.ts';

export { VerifyPool } from './pool.ts';
export { type Argon2Cost, COST_LIMITS, type HashParse, type ParsedHash, type PasswordScheme, parseHash } from './schemes.ts';

/** `Algorithm.Argon2id`: the package's enum is an ambient const enum, which isolated modules cannot read. */
const ARGON2ID = 2 as Algorithm;

/** argon2id cost parameters (OWASP's default: m=19456 KiB, t=2, p=1). */
export interface Argon2Params {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

export const OWASP_ARGON2ID: Argon2Params = Object.freeze({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });

/** The scheme of a stored hash as `users show` names it, or `unknown`. */
export function passwordScheme(stored: string): PasswordScheme | 'unknown' {
  const p = parseHash(stored);
  return p.ok ? p.hash.scheme : 'unknown';
}

/**
 * Password hashing with argon2id, and verification of argon2id and every legacy format of
 * `schemes.ts`. `@node-rs/argon2` runs hash and verify on libuv's thread pool, never on the event
 * loop; the pool's size is `UV_THREADPOOL_SIZE` (default 4).
 */
export class PasswordHasher {
  private dummy: Promise<{ readonly text: string; readonly parsed: ParsedHash }> | undefined;

  constructor(readonly params: Argon2Params = OWASP_ARGON2ID) {}

  hash(password: string): Promise<string> {
    return hash(password, { algorithm: ARGON2ID, ...this.params });
  }

  /**
   * Verifies `password` against `stored`, or against a fixed dummy hash of the current parameters
   * when `stored` is null (unknown user), unusable or unreadable, so those cost what a current
   * argon2id user costs; a hash that will be replaced costs its own work and the dummy's. Never
   * throws: a malformed hash verifies false.
   */
  async verify(stored: string | null, password: string): Promise<boolean> {
    const p = stored === null ? null : parseHash(stored);
    if (p === null || !p.ok || p.hash.scheme === 'unusable') {
      await (await this.dummyHashed()).parsed.verify(password);
      return false;
    }
    const ok = await p.hash.verify(password).catch(() => null);
    // A hash that will be replaced (legacy, or weaker argon2id) also does the dummy's work, so it
    // costs at least what a current argon2id user costs: a one-digest format or a low iteration
    // count would otherwise answer a wrong password in microseconds and stand out. So does one
    // whose verification failed outright.
    if (ok === null || this.stale(p.hash)) await (await this.dummyHashed()).parsed.verify(password);
    return ok === true;
  }

  /**
   * Whether a stored hash that just verified should be replaced by a fresh argon2id hash: any other
   * scheme, or argon2id made with less memory or fewer passes than the current settings (or the
   * old argon2 version 16). Lanes are not compared: they change how the work is split, not how much
   * an attacker must do per guess.
   */
  needsRehash(stored: string): boolean {
    const p = parseHash(stored);
    return p.ok && this.stale(p.hash);
  }

  /** needsRehash of a hash already parsed (verify has one in hand). */
  private stale(h: ParsedHash): boolean {
    if (h.scheme !== 'argon2id') return h.scheme !== 'unusable';
    const c = h.argon2;
    return c === undefined || c.version < 19 || c.memoryCost < this.params.memoryCost || c.timeCost < this.params.timeCost;
  }

  /** The dummy hash, made once per process with the configured parameters. */
  async dummyHash(): Promise<string> {
    return (await this.dummyHashed()).text;
  }

  protected dummyHashed(): Promise<{ readonly text: string; readonly parsed: ParsedHash }> {
    this.dummy ??= this.hash(`tessera-dummy-${crypto.randomUUID()}`).then((text) => {
      const p = parseHash(text);
      if (!p.ok) throw new Error(`the dummy hash does not parse: ${p.reason}`);
      return { text, parsed: p.hash };
    });
    return this.dummy;
  }
}
