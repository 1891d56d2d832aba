/**
 * Login requests waiting for their turn on a lock (verifications of one identifier in flight,
 * `GateResult` busy). An attempt that closes in this process wakes the requests waiting on its
 * lock at once; one that closes in another process is not seen here, so every wait also ends
 * after its own time and the request asks Redis again. Runtime-free: the timer is passed in.
 */
export interface TurnQueueOptions {
  /**
   * Most requests waiting at once, all locks together; past it a request still waits its time,
   * but no closing attempt wakes it early (it is not remembered).
   */
  readonly maxWaiters: number;
  /** Starts a timer; returns what cancels it. */
  readonly setTimer: (fire: () => void, ms: number) => () => void;
}

/** Requests waiting at once (each a closure and a timer: about 200 bytes). */
export const MAX_TURN_WAITERS = 10_000;

const systemTimer = (fire: () => void, ms: number) => {
  const timer = setTimeout(fire, ms);
  return () => clearTimeout(timer);
};

export class TurnQueue {
  private readonly byLock = new Map<string, Set<() => void>>();
  private waiting = 0;
  private readonly options: TurnQueueOptions;

  constructor(options: Partial<TurnQueueOptions> = {}) {
    this.options = { maxWaiters: MAX_TURN_WAITERS, setTimer: systemTimer, ...options };
  }

  /** Requests waiting now (that a closing attempt can wake). */
  get size(): number {
    return this.waiting;
  }

  /** Locks with requests waiting on them now: a lock no one waits on any more is not kept. */
  get locks(): number {
    return this.byLock.size;
  }

  /** Resolves when an attempt on `lock` closes here (`wake`), or after `ms`, whichever comes first. */
  wait(lock: string, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.waiting >= this.options.maxWaiters) {
        this.options.setTimer(resolve, ms);
        return;
      }
      const set = this.byLock.get(lock) ?? new Set();
      this.byLock.set(lock, set);
      this.waiting++;
      const done = () => {
        cancel();
        if (set.delete(done)) this.waiting--;
        if (set.size === 0 && this.byLock.get(lock) === set) this.byLock.delete(lock);
        resolve();
      };
      const cancel = this.options.setTimer(done, ms);
      set.add(done);
    });
  }

  /** An attempt on `lock` closed here: every request waiting on it goes now. */
  wake(lock: string): void {
    const set = this.byLock.get(lock);
    if (set === undefined) return;
    this.byLock.delete(lock);
    for (const done of set) done();
  }
}
