import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { expect, it } from 'vitest';
import { DEMO } from '../support/demo.ts';
import { spawnIngress } from '../support/processes.ts';
import { serviceEnv, testPrefix } from '../support/stack.ts';

/** The threads of a process (Linux: one entry per thread in /proc/<pid>/task). */
const threads = (pid: number) => readdirSync(`/proc/${pid}/task`).length;

/**
 * libuv makes all its pool threads when the pool first starts, so the threads of two ingress
 * processes that differ only in UV_THREADPOOL_SIZE differ by the difference of their pools. Node
 * reads the variable when the pool starts, and its ES module loader starts it before any module
 * runs: only the entry's CommonJS can size it. Node only: Deno has no libuv pool.
 */
it('sizes the thread pool from the cores when UV_THREADPOOL_SIZE is unset: one thread per core and one beside them', async () => {
  const prefix = testPrefix();
  const counted: number[] = [];
  for (const size of [undefined, '1']) {
    const env = serviceEnv(prefix, size === undefined ? {} : { UV_THREADPOOL_SIZE: size });
    await using ingress = await spawnIngress(env);
    // a login's argon2 has surely started the pool
    const res = await fetch(`${ingress.base}/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'nobody@example.com', password: DEMO.peb.password }),
    });
    await res.arrayBuffer();
    counted.push(threads(ingress.child.pid as number));
  }
  const [unset, one] = counted as [number, number];
  expect(unset - one).toBe(availableParallelism() + 1 - 1);
});
