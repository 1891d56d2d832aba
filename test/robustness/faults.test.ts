import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditEvent } from '@tessera/events';
import { PasswordHasher } from '@tessera/passwords';
import { connectRedis, outboxBacklog, type TesseraRedis, UserRepository } from '@tessera/store';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Speaker, UNAVAILABLE } from '../support/answers.ts';
import { ROUTES } from '../support/demo.ts';
import { send } from '../support/http.ts';
import { childPid, startUp, waitForLine } from '../support/processes.ts';
import { freePort, startRedisServer } from '../support/redis-source.ts';
import { dropPrefix, type Stack, serviceEnv, startStack, testKeys, testPrefix } from '../support/stack.ts';
import { badLogLines, REQUEST_TIMEOUT_MS } from './support.ts';

/**
 * Faults under load, bounded in time, loopback only: Redis restarted under logins of all four
 * dialects, and the worker and the ingress of `tessera up` killed with SIGKILL under logins.
 */

type PrivateRedis = Awaited<ReturnType<typeof startRedisServer>>;

/** A good login of each dialect and how its success reads. */
const LOGINS: readonly { speaker: Speaker; path: string; creds: Record<string, string>; ok: (body: string) => boolean }[] = [
  { speaker: 'moh', path: ROUTES.moh.path, creds: ROUTES.moh.creds, ok: (b) => b.startsWith('{"version":"v2","code":0,') },
  { speaker: 'nehr', path: ROUTES.nehr.path, creds: ROUTES.nehr.creds, ok: (b) => b.startsWith('{"version":"v2","code":0,') },
  { speaker: 'simplejwt', path: ROUTES.simplejwt.path, creds: ROUTES.simplejwt.creds, ok: (b) => b.startsWith('{"refresh":') },
  { speaker: 'peb', path: ROUTES.peb.path, creds: ROUTES.peb.creds, ok: (b) => b.startsWith('{"status":200,') },
];

describe('Redis restarted under login load on all four dialects', () => {
  // Redis keeps its data across the restart (AOF, fsync on every write), as a production one does.
  const dir = mkdtempSync(join(tmpdir(), 'tessera-fault-redis-'));
  const persist = ['--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always'];
  let redis: PrivateRedis;
  let stack: Stack;

  beforeAll(async () => {
    redis = await startRedisServer(persist);
    stack = await startStack({ REDIS_URL: redis.url, TESSERA_LOGIN_RATE_LIMIT: '0' });
  });
  afterAll(async () => {
    await stack.close().catch(() => {});
    stack.redis.disconnect();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every login in dialect (success or its documented "unavailable"), never a 5xx or a hang; recovers within 5 s', async () => {
    interface Seen {
      readonly speaker: Speaker;
      readonly at: number;
      readonly kind: 'ok' | 'unavailable' | 'other';
      readonly detail: string;
    }
    const seen: Seen[] = [];
    let stop = false;
    const loops = LOGINS.map(async (l) => {
      while (!stop) {
        const at = performance.now();
        try {
          // send() also checks the answer against the OpenAPI document and the request timeout
          const r = await send(stack.base, l.path, {
            body: JSON.stringify(l.creds),
            contentType: 'application/json',
            timeoutMs: REQUEST_TIMEOUT_MS,
          });
          const u = UNAVAILABLE[l.speaker];
          const kind = r.status === 200 && l.ok(r.text) ? 'ok' : r.status === u.status && r.text === u.body ? 'unavailable' : 'other';
          seen.push({ speaker: l.speaker, at, kind, detail: `${r.status} ${r.text.slice(0, 200)}` });
          if (kind !== 'ok') await sleep(20);
        } catch (err) {
          seen.push({ speaker: l.speaker, at, kind: 'other', detail: (err as Error).message.slice(0, 400) });
          await sleep(20);
        }
      }
    });
    await sleep(800);
    const killedAt = performance.now();
    const gone = once(redis.child, 'exit');
    redis.child.kill('SIGKILL');
    await gone;
    await sleep(2000);
    const port = redis.port;
    const first = redis;
    redis = await startRedisServer(persist, port);
    await first.stop();
    const backAt = performance.now();
    // until every dialect has logged in again (or 15 s), then a little more load
    const deadline = backAt + 15_000;
    const recovered = () => LOGINS.every((l) => seen.some((s) => s.speaker === l.speaker && s.kind === 'ok' && s.at >= backAt));
    while (!recovered() && performance.now() < deadline) await sleep(50);
    await sleep(300);
    stop = true;
    await Promise.all(loops);

    const recovery = LOGINS.map((l) => {
      const firstOk = seen.find((s) => s.speaker === l.speaker && s.kind === 'ok' && s.at >= backAt);
      return { speaker: l.speaker, ms: firstOk === undefined ? Number.POSITIVE_INFINITY : Math.round(firstOk.at - backAt) };
    });
    const during = seen.filter((s) => s.at >= killedAt && s.at < backAt);
    process.stdout.write(
      `Redis restart: ${seen.length} logins, ${seen.filter((s) => s.kind === 'unavailable').length} answered "unavailable"; ` +
        `down ${Math.round(backAt - killedAt)} ms; first success after it was back: ${recovery.map((r) => `${r.speaker} ${r.ms} ms`).join(', ')}\n`,
    );
    expect(seen.filter((s) => s.kind === 'other').slice(0, 5)).toStrictEqual([]);
    // the outage was seen by every dialect, and said in its words
    for (const l of LOGINS)
      expect(
        during.some((s) => s.speaker === l.speaker && s.kind === 'unavailable'),
        l.speaker,
      ).toBe(true);
    // each logs in again soon after Redis is back (ioredis retries at least every second; slack for a loaded machine)
    for (const r of recovery) expect(r.ms, r.speaker).toBeLessThan(5000);
    expect(badLogLines(stack.logs).slice(0, 5)).toStrictEqual([]);
  }, 60_000);
});

describe('tessera up: worker and ingress killed (SIGKILL) under login load', () => {
  const prefix = testPrefix();
  let redis: TesseraRedis;
  let up: ChildProcess;
  let output: string[];
  let state: string;
  let port: number;

  beforeAll(async () => {
    redis = await connectRedis({ url: inject('redisUrl') });
    const users = new UserRepository(redis, testKeys(prefix));
    const hasher = new PasswordHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });
    for (let i = 0; i < 8; i++) await users.create({ username: `load${i}`, passwordHash: await hasher.hash(`Load-pass-${i}`) });
    state = mkdtempSync(join(tmpdir(), 'tessera-fault-up-'));
    port = await freePort();
    ({ child: up, output } = await startUp(
      serviceEnv(prefix, {
        TESSERA_STATE_DIR: state,
        TESSERA_PORT: String(port),
        TESSERA_OPS_PORT: String(await freePort()),
        TESSERA_AUDIT_DIR: join(state, 'audit'),
        TESSERA_LOGIN_RATE_LIMIT: '0',
        TESSERA_LOCKOUT_FAILURES: '1000',
      }),
    ));
  }, 60_000);
  afterAll(async () => {
    if (up.exitCode === null && up.signalCode === null) {
      const exited = once(up, 'exit');
      up.kill('SIGINT');
      await exited;
    }
    await dropPrefix(redis, prefix);
    redis.disconnect();
    rmSync(state, { recursive: true, force: true });
  });

  it('one audit record per answered attempt, none doubled, none invented', async () => {
    // Load: 8 loops, each attempt marked by its user agent; logins continuously in flight.
    const answered = new Set<string>();
    const sent = new Set<string>();
    let stop = false;
    let n = 0;
    const loops = Array.from({ length: 8 }, async (_, loop) => {
      while (!stop && n < 5000) {
        const id = `attempt-${n++}`;
        sent.add(id);
        const good = n % 3 !== 0;
        try {
          const res = await fetch(`http://127.0.0.1:${port}/nehrapi/login/getToken`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'user-agent': id },
            body: JSON.stringify({ username: `load${loop}`, password: good ? `Load-pass-${loop}` : 'wrong' }),
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          });
          await res.arrayBuffer();
          if (res.status === 200 || res.status === 401) answered.add(id);
        } catch {
          await sleep(20); // the ingress is down: no answer, not counted
        }
      }
    });
    const kill = async (entry: string, name: string) => {
      const mark = output.length;
      process.kill(childPid(up.pid as number, entry), 'SIGKILL');
      await waitForLine(output, `${name} exited (SIGKILL); starting it again in 1 s`, mark);
      await waitForLine(output, name === 'worker' ? '"worker running"' : '"ingress listening"', mark, 20_000);
    };
    await sleep(700);
    await kill('worker/dist/main.js', 'worker');
    await sleep(500);
    await kill('ingress/bin/ingress.cjs', 'ingress');
    await sleep(700);
    stop = true;
    await Promise.all(loops);

    // Wait for the worker to drain everything into the audit stream (a job cut by the SIGKILL is
    // taken up again once its lock lapses and the next stalled-job check finds it: about 11 s).
    const stream = `${prefix}{audit}:stream`;
    const keys = testKeys(prefix);
    const recorded = async () => {
      const counts = new Map<string, number>();
      for (const [, fields] of await redis.xrange(stream, '-', '+')) {
        const e = JSON.parse(fields[fields.indexOf('e') + 1] as string) as AuditEvent;
        if (e.type === 'login.succeeded' || e.type === 'login.failed')
          counts.set(e.userAgent ?? '', (counts.get(e.userAgent ?? '') ?? 0) + 1);
      }
      return counts;
    };
    const deadline = Date.now() + 30_000;
    let attempts = await recorded();
    while (Date.now() < deadline && ((await outboxBacklog(redis, keys)).length > 0 || [...answered].some((id) => !attempts.has(id)))) {
      await sleep(200);
      attempts = await recorded();
    }
    process.stdout.write(`kill under load: ${sent.size} sent, ${answered.size} answered, ${attempts.size} login records\n`);
    expect(answered.size).toBeGreaterThan(50);
    expect((await outboxBacklog(redis, keys)).length).toBe(0);
    // none lost: every answered attempt has its record
    expect([...answered].filter((id) => attempts.get(id) !== 1)).toStrictEqual([]);
    // none doubled, none invented: at most one per attempt, only for attempts that were sent
    expect([...attempts.entries()].filter(([, c]) => c !== 1)).toStrictEqual([]);
    expect([...attempts.keys()].filter((id) => !sent.has(id))).toStrictEqual([]);
    // unanswered attempts with a record are those cut by the crash after their commit: a handful at most
    expect(attempts.size - answered.size).toBeLessThanOrEqual(16);
    expect(output.join('\n')).not.toContain('stopping the stack');
    // every line the stack wrote is one JSON object without a stack trace, but tessera up's own
    // plain lines (its supervisor speaks to a person)
    const jsonLines = output.filter((l) => l.startsWith('{'));
    expect(jsonLines.length).toBeGreaterThan(0);
    expect(badLogLines(jsonLines).slice(0, 5)).toStrictEqual([]);
  }, 90_000);
});
