import { setTimeout as sleep } from 'node:timers/promises';
import { verify } from '@node-rs/argon2';
import { aroundAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../support/stack.ts';

const POOL = 2;
const MAX_WAIT_MS = 250;

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
}

describe('overload: login demand at 3x the argon2 capacity', () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    // the real OWASP cost here: capacity is what the test is about
    await using started = await startStack({
      TESSERA_ARGON2_MEMORY_KIB: '19456',
      TESSERA_ARGON2_TIME_COST: '2',
      UV_THREADPOOL_SIZE: String(POOL),
      TESSERA_ARGON2_MAX_WAIT_MS: String(MAX_WAIT_MS),
      TESSERA_LOGIN_RATE_LIMIT: '0',
    });
    stack = started;
    const hash = await stack.hasher.hash('Load-pass-1');
    await Promise.all(Array.from({ length: 60 }, (_, i) => stack.users.create({ username: `load${i}`, passwordHash: hash })));
    await runSuite();
  }, 60_000);

  it('keeps accepted logins within a bounded p99 and answers the rest "try later" at once', async () => {
    // capacity: raw verifications per second with POOL in flight, measured now, on this machine
    const hash = await stack.hasher.hash('x');
    let done = 0;
    const until = performance.now() + 1000;
    await Promise.all(
      Array.from({ length: POOL }, async () => {
        while (performance.now() < until) {
          await verify(hash, 'x');
          done++;
        }
      }),
    );
    const capacity = done; // per second
    const rate = capacity * 3;
    const seconds = 3;
    const accepted: number[] = [];
    const refused: number[] = [];
    const other: number[] = [];
    const inflight: Promise<void>[] = [];
    const started = performance.now();
    for (let i = 0; i < rate * seconds; i++) {
      // open loop: send on schedule, whatever the answers do
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      inflight.push(
        (async () => {
          const t0 = performance.now();
          const res = await stack.post('/nehrapi/login/getToken', JSON.stringify({ username: `load${i % 60}`, password: 'Load-pass-1' }), {
            'content-type': 'application/json',
          });
          const body = (await res.json()) as { message?: string };
          const ms = performance.now() - t0;
          if (res.status === 200) accepted.push(ms);
          else if (res.status === 503 && body.message?.startsWith('Service Unavailable')) refused.push(ms);
          else other.push(res.status);
        })(),
      );
    }
    await Promise.all(inflight);
    // The service's own time per request (from its request log: request read to answer written).
    // The client's figures include its connection set-up: this test's client shares the event loop
    // with the server and opens hundreds of connections at 3x overload, so they measure the
    // harness as much as the service, and are printed for information only.
    const served = { accepted: [] as number[], refused: [] as number[] };
    for (const line of stack.logs) {
      const l = JSON.parse(line) as { msg?: string; path?: string; status?: number; ms?: number };
      if (l.msg !== 'request' || l.path !== '/nehrapi/login/getToken' || l.ms === undefined) continue;
      if (l.status === 200) served.accepted.push(l.ms);
      else if (l.status === 503) served.refused.push(l.ms);
    }
    const verifyMs = 1000 / (capacity / POOL);
    process.stdout.write(
      `overload: capacity ${capacity} verifies/s (${POOL} threads, ${verifyMs.toFixed(1)} ms each); demand ${rate}/s for ${seconds} s; ` +
        `accepted ${accepted.length} (p99 ${p99(served.accepted).toFixed(0)} ms served, ${p99(accepted).toFixed(0)} ms at the client), ` +
        `refused ${refused.length} (p99 ${p99(served.refused).toFixed(0)} ms served, ${p99(refused).toFixed(0)} ms at the client)\n`,
    );
    expect([served.accepted.length, served.refused.length]).toStrictEqual([accepted.length, refused.length]);
    expect(other).toStrictEqual([]);
    expect(refused.length).toBeGreaterThan(0);
    // some get through (how many is a throughput figure: benchmarks measure it, this test prints it)
    expect(accepted.length).toBeGreaterThan(0);
    // Bounded, not queued without limit: 3 s of 3x overload queued would wait seconds. The slack
    // is for a shared machine running other suites at the same time (speed is the benchmarks' job).
    expect(p99(served.accepted)).toBeLessThanOrEqual(MAX_WAIT_MS + 30 * verifyMs + 1500);
    expect(p99(served.refused)).toBeLessThanOrEqual(MAX_WAIT_MS + 1500);
  }, 60_000);
});
