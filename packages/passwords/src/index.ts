import { type Algorithm, hash, verify } from '@node-rs/argon2';

/** `Algorithm.Argon2id`: the package's enum is an ambient const enum, which isolated modules cannot read. */
const ARGON2ID = 2 as Algorithm;

/** argon2id cost parameters (OWASP's default: m=19456 KiB, t=2, p=1). */
export interface Argon2Params {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

export const OWASP_ARGON2ID: Argon2Params = Object.freeze({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });

/**
 * Password hashing with argon2id. `@node-rs/argon2` runs hash and verify on libuv's thread pool,
 * never on the event loop; the pool's size is `UV_THREADPOOL_SIZE` (default 4).
 */
export class PasswordHasher {
  private dummy: Promise<string> | undefined;

  constructor(readonly params: Argon2Params = OWASP_ARGON2ID) {}

  hash(password: string): Promise<string> {
    return hash(password, { algorithm: ARGON2ID, ...this.params });
  }

  /**
   * Verifies `password` against `phc`, or against a fixed dummy hash of the same parameters when
   * `phc` is null (unknown user), so both take the same time. Malformed hashes verify false.
   */
  async verify(phc: string | null, password: string): Promise<boolean> {
    const target = phc ?? (await this.dummyHash());
    try {
      const ok = await verify(target, password);
      return phc !== null && ok;
    } catch {
      return false;
    }
  }

  /** The dummy hash, made once per process with the configured parameters. */
  dummyHash(): Promise<string> {
    this.dummy ??= this.hash(`tessera-dummy-${crypto.randomUUID()}`);
    return this.dummy;
  }
}

/**
 * Admission to argon2 work: at most `size` verifications run at once (the libuv pool's threads);
 * a request waits for a slot at most `maxWaitMs`, then is refused, so overload is shed at once
 * instead of queuing without limit, and accepted logins keep a bounded latency.
 */
export class VerifyPool {
  private running = 0;
  private readonly waiting: { resolve: (release: (() => void) | null) => void; timer: ReturnType<typeof setTimeout> }[] = [];

  constructor(
    readonly size: number,
    readonly maxWaitMs: number,
  ) {}

  /** Told how long each acquisition waited (s) and whether it got a slot (metrics). */
  onWait: ((seconds: number, admitted: boolean) => void) | undefined;

  /** Resolves with a release function, or null when no slot came free within maxWaitMs. */
  async acquire(): Promise<(() => void) | null> {
    const started = performance.now();
    const release = await this.take();
    this.onWait?.((performance.now() - started) / 1000, release !== null);
    return release;
  }

  private take(): Promise<(() => void) | null> {
    if (this.running < this.size) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    if (this.maxWaitMs <= 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      const entry = {
        resolve,
        timer: setTimeout(() => {
          const i = this.waiting.indexOf(entry);
          if (i !== -1) this.waiting.splice(i, 1);
          resolve(null);
        }, this.maxWaitMs),
      };
      this.waiting.push(entry);
    });
  }

  /** Verifications running and waiting now. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.shift();
      if (next === undefined) {
        this.running--;
        return;
      }
      clearTimeout(next.timer);
      next.resolve(this.releaser());
    };
  }
}
