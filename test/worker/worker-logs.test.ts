import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '@tessera/config/log';
import { afterAll, aroundAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPipeline } from '../support/ops.ts';
import { freePort, startRedisServer } from '../support/redis-source.ts';
import { type Stack, startStack, TEST_SIGNING_KEY, testPrefix } from '../support/stack.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'];

interface Line {
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

interface WorkerRun {
  readonly child: ChildProcess;
  readonly ops: string;
  readonly lines: Line[];
}

/** The worker process as `tessera up` starts it (services/worker/dist/main.js), every output line kept. */
async function startWorker(redisUrl: string, dir: string, env: Record<string, string> = {}): Promise<WorkerRun> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'services/worker/dist/main.js')], {
    env: {
      PATH: process.env.PATH,
      REDIS_URL: redisUrl,
      TESSERA_REDIS_PREFIX: testPrefix(),
      TESSERA_JWT_SIGNING_KEY: TEST_SIGNING_KEY,
      TESSERA_HOST: '127.0.0.1',
      TESSERA_OPS_PORT: String(port),
      TESSERA_AUDIT_DIR: dir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Line[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    createInterface({ input: child[stream] as NodeJS.ReadableStream }).on('line', (text) => lines.push({ stream, text }));
  }
  const ops = `http://127.0.0.1:${port}`;
  await until(async () => (await fetch(`${ops}/healthz`).catch(() => null))?.status === 200, `worker healthy\n${show(lines)}`);
  return { child, ops, lines };
}

async function until(probe: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function show(lines: readonly Line[]): string {
  return lines.map((l) => `${l.stream}: ${l.text}`).join('\n');
}

type Entry = Record<string, unknown> & { level: string; msg: string };

/** Every line one JSON object with a level and the worker's name; returns them parsed. */
function expectJsonLines(lines: readonly Line[]): Entry[] {
  const bad = lines.filter((l) => {
    try {
      const v = JSON.parse(l.text) as Partial<Entry> | null;
      return (
        v === null || typeof v !== 'object' || !LEVELS.includes(v.level as string) || v.service !== 'worker' || typeof v.msg !== 'string'
      );
    } catch {
      return true;
    }
  });
  expect(show(bad)).toBe('');
  return lines.map((l) => JSON.parse(l.text) as Entry);
}

// A worker keeps running while Redis is away; what it says meanwhile must be JSON lines at the
// level each event deserves, through the same logger as the ingress (TESSERA_LOG_LEVEL included).
describe('worker logs while Redis stops and comes back', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let dir: string;
  let verbose: WorkerRun;
  let quiet: WorkerRun;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-worker-logs-'));
    // an eviction policy BullMQ warns about on its own (console.warn): it must arrive as a JSON line too
    const args = ['--maxmemory-policy', 'allkeys-lru'];
    redis = await startRedisServer(args);
    [verbose, quiet] = await Promise.all([startWorker(redis.url, dir), startWorker(redis.url, dir, { TESSERA_LOG_LEVEL: 'error' })]);
    await redis.stop();
    await sleep(4000);
    redis = await startRedisServer(args, redis.port);
    // back: its metrics read Redis again
    for (const w of [verbose, quiet]) {
      await until(async () => (await fetch(`${w.ops}/metrics`).catch(() => null))?.status === 200, 'metrics after Redis returned');
    }
    await sleep(500);
    for (const w of [verbose, quiet]) {
      w.child.kill('SIGTERM');
      if (w.child.exitCode === null) await once(w.child, 'exit');
    }
  }, 60_000);

  afterAll(async () => {
    for (const w of [verbose, quiet]) if (w?.child.exitCode === null) w.child.kill('SIGKILL');
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes only JSON lines, each with a level, on stdout and stderr alike', () => {
    expect(verbose.child.exitCode).toBe(0);
    const entries = expectJsonLines(verbose.lines);
    expect(entries.map((e) => e.msg)).toContain('worker running');
    expect(entries.map((e) => e.msg)).toContain('worker stopping');
    expect(verbose.lines.filter((l) => l.stream === 'stderr')).toStrictEqual([]);
  });

  it('reports the outage as warnings with the reason and no stack; no failure at level info', () => {
    const entries = expectJsonLines(verbose.lines);
    const outage = entries.filter((e) => e.level === 'warn' && /redis/i.test(e.msg));
    expect(outage.length).toBeGreaterThan(0);
    for (const e of outage) {
      expect(e.reason).toMatch(/ECONNREFUSED|Connection is closed/);
      expect(JSON.stringify(e)).not.toContain('    at ');
    }
    expect(entries.filter((e) => e.level === 'info' && /error|fail|refused/i.test(JSON.stringify(e)))).toStrictEqual([]);
  });

  it("routes BullMQ's own console warnings through the logger", () => {
    const entries = expectJsonLines(verbose.lines);
    expect(entries.some((e) => e.level === 'warn' && e.msg.includes('Eviction policy is allkeys-lru'))).toBe(true);
  });

  it('honours TESSERA_LOG_LEVEL=error: nothing below error', () => {
    expect(quiet.child.exitCode).toBe(0);
    const entries = expectJsonLines(quiet.lines);
    expect(entries.filter((e) => e.level !== 'error')).toStrictEqual([]);
  });
});

describe('worker logs a failed event at warn while attempts remain', () => {
  let stack: Stack;
  let dir: string;
  const lines: string[] = [];

  aroundAll(async (runSuite) => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-worker-logs-'));
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, '');
    // the audit files cannot be written: every processing attempt fails (ENOTDIR)
    await using started = await startStack({ TESSERA_AUDIT_DIR: join(file, 'audit'), TESSERA_LOGIN_RATE_LIMIT: '0' });
    stack = started;
    // the worker's pipeline, failing to write its files, while the suite runs
    await using _pipeline = await startTestPipeline(
      stack,
      'log-test',
      createLogger('worker', 'info', (l) => lines.push(l)),
    );
    try {
      await runSuite();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with the error serialised into the line', async () => {
    const res = await stack.post('/api/token/', JSON.stringify({ username: 'nobody', password: 'x' }), {
      'content-type': 'application/json',
    });
    expect(res.status).toBe(401);
    await until(async () => lines.some((l) => l.includes('event processing failed')), 'a failed attempt');
    const entries = expectJsonLines(lines.map((text) => ({ stream: 'stdout' as const, text: text.trimEnd() })));
    const failed = entries.filter((e) => e.msg.startsWith('event processing failed'));
    expect(failed[0]).toMatchObject({ level: 'warn', msg: 'event processing failed; will retry', attempt: 1, attempts: 10 });
    expect(failed[0]?.err).toMatchObject({ code: 'ENOTDIR' });
    expect(String((failed[0]?.err as { stack?: string } | undefined)?.stack)).toContain('    at ');
  });
});

// Ctrl-C in the terminal of `npm start` reaches every process of its group at once: the embedded
// Redis goes while the worker is stopping, and the worker must still stop (it did not: closing
// BullMQ waited for a Redis that was gone).
describe('worker stops while Redis is gone', () => {
  it('exits on SIGINT within a few seconds, Redis stopped just before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-worker-stop-'));
    const redis = await startRedisServer();
    const w = await startWorker(redis.url, dir);
    try {
      await redis.stop();
      await sleep(300);
      const started = Date.now();
      w.child.kill('SIGINT');
      const exited = once(w.child, 'exit');
      const code = await Promise.race([exited.then(([c]) => c as number | null), sleep(10_000).then(() => 'still running')]);
      expect([code, Date.now() - started < 10_000]).toStrictEqual([0, true]);
    } finally {
      if (w.child.exitCode === null) w.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
