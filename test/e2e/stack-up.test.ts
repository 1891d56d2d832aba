import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectRedis, UserRepository } from '@tessera/store';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEMO } from '../support/demo.ts';
import { childPid, startUp, waitForLine } from '../support/processes.ts';
import { freePort } from '../support/redis-source.ts';
import { dropPrefix, testKeys, testPrefix } from '../support/stack.ts';

// Node only: `tessera up` (npm start) supervises the Node ingress and worker processes, and the
// start-up checks are those of services/ingress/src/main.ts.
const ROOT = new URL('../../', import.meta.url).pathname;

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

// What `npm start` runs, with REDIS_URL unset: embedded Redis, demo users, ingress and worker.
describe('tessera up (npm start) with the embedded Redis', () => {
  let up: ChildProcess;
  let state: string;
  let base: string;
  let redisPort: number;
  let opsPort: number;
  let output: string[];

  beforeAll(async () => {
    state = mkdtempSync(join(tmpdir(), 'tessera-up-'));
    [redisPort, opsPort] = [await freePort(), await freePort()];
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    ({ child: up, output } = await startUp({
      TESSERA_STATE_DIR: state,
      TESSERA_EMBEDDED_REDIS_PORT: String(redisPort),
      TESSERA_PORT: String(port),
      TESSERA_OPS_PORT: String(opsPort),
      TESSERA_HOST: '127.0.0.1',
    }));
  }, 60_000);

  afterAll(async () => {
    if (up.exitCode === null) {
      up.kill('SIGKILL');
      await once(up, 'exit');
    }
    rmSync(state, { recursive: true, force: true });
  });

  it('serves all four demo logins of the documents right after start', async () => {
    const moh = await fetch(`${base}/getUserToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(DEMO.ministry),
    });
    expect((await moh.json()).result.persCode).toBe('-90008');
    const jwt = await fetch(`${base}/api/token/`, {
      method: 'POST',
      body: new URLSearchParams(DEMO.simplejwt),
    });
    expect(jwt.status).toBe(200);
    const byEmail = await fetch(`${base}/v1/login`, {
      method: 'POST',
      body: new URLSearchParams(DEMO.peb),
    });
    expect((await byEmail.json()).status).toBe(200);
    const byName = await fetch(`${base}/v1/login`, {
      method: 'POST',
      body: new URLSearchParams(DEMO.pebByName),
    });
    expect((await byName.json()).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${opsPort}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    expect(metrics).toMatch(/^tessera_queue_jobs\{state="waiting"\} \d+$/m);
    expect(metrics).toMatch(/^tessera_outbox_length \d+$/m);
    expect(metrics).toMatch(/^tessera_outbox_lag_seconds [\d.e+-]+$/m);
    expect(metrics).toMatch(/^tessera_lockouts_active 0$/m);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });

  it('keeps its Redis data with AOF under the state folder and a generated JWT key', () => {
    expect(readFileSync(join(state, 'jwt-signing-key'), 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    // Redis 7 keeps its append-only files in appendonlydir when AOF is on
    expect(existsSync(join(state, 'redis', 'appendonlydir'))).toBe(true);
    const conf = output.join('\n');
    expect(conf).toContain(`embedded redis-server`);
    expect(conf).toContain('demo users created: MOH-90008, sampleUser, someone, someone.example');
  });

  it('starts a crashed worker or ingress again, the other serving meanwhile; no audit event lost or doubled', async () => {
    const login = async () =>
      (
        (await (
          await fetch(`${base}/getUserToken`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(DEMO.ministry),
          })
        ).json()) as { code: number }
      ).code;
    const childPidOf = (entry: string) => childPid(up.pid as number, entry);
    const seen = () => output.join('\n');
    const waitFor = (text: string, after: number) => waitForLine(output, text, after);
    const redis = new Redis(`redis://127.0.0.1:${redisPort}`);
    try {
      const ours = async () =>
        (await redis.xrange('tessera:{audit}:stream', '-', '+'))
          .map(([, f]) => JSON.parse(f[f.indexOf('e') + 1] as string) as { id: string; type: string; identifier?: string })
          .filter((e) => e.type === 'login.succeeded' && e.identifier === 'u:MOH-90008');
      const before = (await ours()).length;
      let logins = 0;
      for (let i = 0; i < 10; i++) logins += (await login()) === 0 ? 1 : 0;

      // the worker dies: logins go on, their events wait in the outbox
      const mark = output.length;
      process.kill(childPidOf('worker/dist/main.js'), 'SIGKILL');
      for (let i = 0; i < 10; i++) logins += (await login()) === 0 ? 1 : 0;
      await waitFor('worker exited (SIGKILL); starting it again in 1 s', mark);
      await waitFor('"worker running"', mark);

      // the ingress dies: started again, serving again
      const mark2 = output.length;
      process.kill(childPidOf('ingress/bin/ingress.cjs'), 'SIGKILL');
      await waitFor('ingress exited (SIGKILL); starting it again in 1 s', mark2);
      await waitFor('"ingress listening"', mark2);
      for (let i = 0; i < 5; i++) logins += (await login()) === 0 ? 1 : 0;
      expect(logins).toBe(25);

      // every login recorded once in the audit stream
      // an event the killed worker held is taken up again once its lock (5 s) lapses and the next
      // stalled-job check (every 5 s) finds it: up to ~11 s after the worker is back
      for (let i = 0; i < 300 && (await ours()).length < before + 25; i++) await sleep(100);
      const events = await ours();
      expect(events.length - before).toBe(25);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      expect(seen()).not.toContain('stopping the stack');
    } finally {
      redis.disconnect();
    }
  }, 60_000);

  it('stops ingress, worker and Redis on SIGINT', async () => {
    up.kill('SIGINT');
    const [code] = await once(up, 'exit');
    expect(code).toBe(0);
    expect(await portOpen(redisPort)).toBe(false);
    expect(await portOpen(Number(new URL(base).port))).toBe(false);
    expect(await portOpen(opsPort)).toBe(false);
  });
});

describe('tessera up on a running Redis', () => {
  it('reads TESSERA_DEMO, TESSERA_OPS_PORT and TESSERA_OPS_USER as the settings loader does (demo "yes" seeds)', async () => {
    const state = mkdtempSync(join(tmpdir(), 'tessera-up-'));
    const prefix = testPrefix();
    const opsPort = await freePort();
    const redis = await connectRedis({ url: inject('redisUrl') });
    const { child, output } = await startUp({
      REDIS_URL: inject('redisUrl'),
      TESSERA_REDIS_PREFIX: prefix,
      TESSERA_STATE_DIR: state,
      TESSERA_PORT: String(await freePort()),
      TESSERA_OPS_PORT: String(opsPort),
      TESSERA_OPS_USER: 'watcher',
      TESSERA_HOST: '127.0.0.1',
      TESSERA_DEMO: 'yes',
    });
    try {
      expect(output).toContain(
        `tessera: ops dashboard: http://127.0.0.1:${opsPort}/dashboard (user watcher, password in ${join(state, 'ops-password')} unless TESSERA_OPS_PASSWORD is set)`,
      );
      expect(output).toContain('tessera: demo users created: MOH-90008, sampleUser, someone, someone.example');
      expect(await new UserRepository(redis, testKeys(prefix)).get('sampleUser')).not.toBeNull();
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      await exited;
      await dropPrefix(redis, prefix);
      redis.disconnect();
      rmSync(state, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('ingress start-up checks', () => {
  it('stops with one line per bad setting', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'services/ingress/bin/ingress.cjs')], {
      env: { PATH: process.env.PATH, REDIS_URL: 'nope', TESSERA_PORT: 'x' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (d) => {
      err += String(d);
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(err).toContain(
      'REDIS_URL="nope": expected redis://[user:password@]host:port[/db] or redis-cluster://[user:password@]host:port,...',
    );
    expect(err).toContain('TESSERA_PORT="x": expected a whole number from 0 to 65535');
    expect(err).toContain('TESSERA_JWT_SIGNING_KEY is not set');
  });
});
