import { describe, expect, it } from 'vitest';
import { MAX_TURN_WAITERS, TurnQueue } from './turn-queue.ts';

/** Timers that fire only when the test moves the clock. */
function manualTimers() {
  let now = 0;
  const timers = new Set<{ at: number; fire: () => void }>();
  return {
    setTimer: (fire: () => void, ms: number) => {
      const t = { at: now + ms, fire };
      timers.add(t);
      return () => void timers.delete(t);
    },
    advance(ms: number) {
      now += ms;
      for (const t of [...timers].filter((x) => x.at <= now)) {
        timers.delete(t);
        t.fire();
      }
    },
    get pending() {
      return timers.size;
    },
  };
}

/** A wait and whether it has ended (checked after the microtasks ran). */
function track(p: Promise<void>): { ended: boolean } {
  const state = { ended: false };
  void p.then(() => {
    state.ended = true;
  });
  return state;
}
const microtasks = async () => {
  for (let i = 0; i < 3; i++) await Promise.resolve();
};

describe('TurnQueue', () => {
  it('an attempt closing wakes every request waiting on its lock at once, and only those', async () => {
    const timers = manualTimers();
    const q = new TurnQueue({ setTimer: timers.setTimer });
    const a = [track(q.wait('u:alice', 10)), track(q.wait('u:alice', 12))];
    const b = track(q.wait('u:bob', 10));
    expect([q.size, q.locks, timers.pending]).toStrictEqual([3, 2, 3]);
    q.wake('u:alice');
    await microtasks();
    expect(a.map((w) => w.ended)).toStrictEqual([true, true]);
    expect(b.ended).toBe(false);
    // their timers are cancelled; the lock is no longer kept
    expect([q.size, q.locks, timers.pending]).toStrictEqual([1, 1, 1]);
    q.wake('u:nobody');
    expect(q.size).toBe(1);
  });

  it('a wait no attempt ends here (another process closed it) ends after its own time, and nothing of it is kept', async () => {
    const timers = manualTimers();
    const q = new TurnQueue({ setTimer: timers.setTimer });
    const w = track(q.wait('u:alice', 10));
    timers.advance(9);
    await microtasks();
    expect(w.ended).toBe(false);
    timers.advance(1);
    await microtasks();
    expect(w.ended).toBe(true);
    expect([q.size, q.locks, timers.pending]).toStrictEqual([0, 0, 0]);
  });

  it('past maxWaiters a request still waits its time, but is not kept to be woken early', async () => {
    const timers = manualTimers();
    const q = new TurnQueue({ maxWaiters: 2, setTimer: timers.setTimer });
    const kept = [track(q.wait('u:alice', 10)), track(q.wait('u:alice', 10))];
    const over = track(q.wait('u:alice', 10));
    expect([q.size, timers.pending]).toStrictEqual([2, 3]);
    q.wake('u:alice');
    await microtasks();
    expect(kept.map((w) => w.ended)).toStrictEqual([true, true]);
    expect(over.ended).toBe(false);
    timers.advance(10);
    await microtasks();
    expect(over.ended).toBe(true);
    expect(timers.pending).toBe(0);
  });

  it('is bounded by default', () => {
    expect(MAX_TURN_WAITERS).toBe(10_000);
    const timers = manualTimers();
    const q = new TurnQueue({ setTimer: timers.setTimer });
    for (let i = 0; i < MAX_TURN_WAITERS + 5; i++) void q.wait(`u:${i % 7}`, 10);
    expect(q.size).toBe(MAX_TURN_WAITERS);
    timers.advance(10);
    expect([q.size, q.locks]).toStrictEqual([0, 0]);
  });
});
