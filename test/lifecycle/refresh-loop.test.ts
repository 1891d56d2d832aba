import { setPriority } from 'node:os';
import { aroundAll, describe, expect, it } from 'vitest';
import { startRedisServer } from '../support/redis-source.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { jwtLogin } from './support.ts';

// Issue 11: SimpleJWT refresh tokens are reusable (rotation off), and every refresh adds an access
// token to its family. One client refreshing one token in a loop must cost Redis the same on the
// last refresh as on the first, and never hold Redis (one script at a time) for long.

/** How long the loop runs, and how many requests it keeps in flight (each on its keep-alive connection). */
const LOOP_MS = 10_000;
const IN_FLIGHT = 4;

describe('one SimpleJWT refresh token refreshed in a loop', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let stack: Stack;
  aroundAll(async (runSuite) => {
    // a Redis of its own: its SLOWLOG holds this test's commands only
    await using privateRedis = await startRedisServer();
    redis = privateRedis;
    // SLOWLOG measures wall time: on a machine shared with other work, a Redis the scheduler sets
    // aside mid-command logs a slow call its own work did not make. Its priority is raised where
    // the test may (root or CAP_SYS_NICE), so that what the log shows is the commands' own cost.
    try {
      setPriority(redis.child.pid as number, -10);
    } catch {
      // an unprivileged run keeps the default priority
    }
    await using started = await startStack({ REDIS_URL: redis.url });
    stack = started;
    await runSuite();
  });

  it("keeps its rate for 10 s, and Redis takes over 1 ms for no call but the machine's stalls", { timeout: 60_000 }, async () => {
    const { refresh } = await jwtLogin(stack);
    await stack.redis.config('SET', 'slowlog-log-slower-than', '1000');
    await stack.redis.config('SET', 'slowlog-max-len', '100000');
    await stack.redis.slowlog('RESET');
    await stack.redis.config('RESETSTAT');
    const body = JSON.stringify({ refresh });
    const start = Date.now();
    const perSecond = new Array<number>(Math.ceil(LOOP_MS / 1000)).fill(0);
    const failures: number[] = [];
    const loop = async () => {
      while (Date.now() - start < LOOP_MS) {
        const res = await fetch(`${stack.base}/api/token/refresh/`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
        });
        await res.arrayBuffer();
        const second = Math.floor((Date.now() - start) / 1000);
        if (res.status !== 200) failures.push(res.status);
        else if (second < perSecond.length) perSecond[second] = (perSecond[second] as number) + 1;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, loop));
    const slow = (await stack.redis.slowlog('GET', -1)) as [number, number, number, string[]][];
    const calls = [...((await stack.redis.info('commandstats')) as string).matchAll(/calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    const first = perSecond[0] as number;
    const last = perSecond[perSecond.length - 1] as number;
    const report = `refreshes per second: ${perSecond.join(' ')}; ${calls} Redis calls, ${slow.length} over 1 ms`;
    expect(failures.slice(0, 5), report).toStrictEqual([]);
    expect(first, report).toBeGreaterThan(50);
    // Both facts in one assertion, so that a failure shows both. A call over 1 ms is tolerated
    // only as the machine's stall, which strikes any command alike: on a shared 2-core machine even
    // redis-benchmark's plain SETs log one now and then. Before the index was bounded, every
    // trackFamily call after the first seconds took 1-3 ms: over half of the calls.
    expect(
      {
        lastToFirst: last / first >= 0.8 ? 'at least 0.8' : (last / first).toFixed(2),
        slowCalls:
          slow.length <= calls / 1000
            ? 'at most 1 in 1000'
            : slow.slice(0, 8).map(([, , micros, args]) => `${micros} µs: ${args.slice(0, 3).join(' ')}`),
      },
      report,
    ).toStrictEqual({ lastToFirst: 'at least 0.8', slowCalls: 'at most 1 in 1000' });
  });
});
