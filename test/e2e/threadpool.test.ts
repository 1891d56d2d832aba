import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { expect, it } from 'vitest';
import { DEMO } from '../support/demo.ts';
import { spawnIngress } from '../support/processes.ts';
import { freePort } from '../support/redis-source.ts';
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

/**
 * With several processes each verifies on its share of the cores (TESSERA_ARGON2_CONCURRENCY's
 * default: cores ÷ processes, rounded up), and its pool holds a thread for each and one beside them:
 * the processes together never run more verifications than the cores.
 */
it("sizes each process's pool to its share of the cores when several processes share the port", async () => {
  const prefix = testPrefix();
  const port = String(await freePort());
  const counted: number[][] = [];
  for (const size of [undefined, '1']) {
    const env = serviceEnv(prefix, {
      TESSERA_PORT: port,
      TESSERA_INGRESS_PROCESSES: '2',
      ...(size === undefined ? {} : { UV_THREADPOOL_SIZE: size }),
    });
    await using ingress = await spawnIngress(env);
    // the first process, then its sibling; each started its pool when its modules loaded
    const pids = ingress.lines.filter((l) => l.includes('"ingress listening"')).map((l) => (JSON.parse(l) as { pid: number }).pid);
    pids.sort((a, b) => (a === ingress.child.pid ? -1 : b === ingress.child.pid ? 1 : 0));
    counted.push(pids.map(threads));
  }
  const [unset, one] = counted as [number[], number[]];
  const share = Math.ceil(availableParallelism() / 2);
  expect(unset.map((n, i) => n - (one[i] as number))).toStrictEqual([share + 1 - 1, share + 1 - 1]);
});
