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
