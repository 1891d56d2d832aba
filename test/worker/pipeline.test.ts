import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '@tessera/config/log';
import { AUDIT_EVENT_SCHEMA, type AuditEvent, auditStreamKey, consumeAudit, EVENT_TYPES } from '@tessera/events';
import { newRedisClient } from '@tessera/store';
import { createProcessor, type Pipeline, startPipeline } from '@tessera/worker';
import type { Redis } from 'ioredis';
import { aroundAll, describe, expect, inject, it } from 'vitest';
import { type Stack, startStack, testKeys } from '../support/stack.ts';

async function nehr(stack: Stack, username: string, password: string): Promise<number> {
  const res = await stack.post('/nehrapi/login/getToken', JSON.stringify({ username, password }), { 'content-type': 'application/json' });
  await res.arrayBuffer();
  return res.status;
}

async function streamEvents(stack: Stack): Promise<AuditEvent[]> {
  const entries = await stack.redis.xrange(auditStreamKey(stack.settings.redisPrefix), '-', '+');
  return entries.map(([, f]) => JSON.parse(f[f.indexOf('e') + 1] as string) as AuditEvent);
}

async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > deadline) return v;
    await sleep(25);
  }
}

/** A structural check of an event against the published JSON Schema. */
function expectSchemaValid(e: AuditEvent): void {
  const props = AUDIT_EVENT_SCHEMA.properties as Record<string, { type?: string; const?: number; enum?: readonly string[] }>;
  for (const k of AUDIT_EVENT_SCHEMA.required) expect(e).toHaveProperty(k);
  for (const [k, v] of Object.entries(e)) {
    const p = props[k];
    expect(p, `unexpected field ${k}`).toBeDefined();
    if (p?.type === 'string') expect(typeof v).toBe('string');
    if (p?.type === 'integer') expect(Number.isInteger(v)).toBe(true);
    if (p?.enum !== undefined) expect(p.enum).toContain(v);
  }
  expect(e.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  expect(EVENT_TYPES).toContain(e.type);
}

/** The worker's log lines are not under test here. */
const SILENT = createLogger('worker', 'error', () => {});

describe('worker: outbox → BullMQ → audit stream and NDJSON files', () => {
  let stack: Stack;
  let pipeline: Pipeline;
  let dir: string;
  const connections: Redis[] = [];
  const connect = () => {
    const c = newRedisClient(inject('redisUrl'), { maxRetriesPerRequest: null });
    connections.push(c);
    return c;
  };

  aroundAll(async (runSuite) => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-audit-'));
    await using started = await startStack({
      TESSERA_AUDIT_DIR: dir,
      TESSERA_LOCKOUT_DURATION_S: '1',
      TESSERA_LOCKOUT_GROWTH: '3',
      TESSERA_LOCKOUT_PERMANENT_AFTER: '2',
      TESSERA_LOGIN_RATE_LIMIT: '0',
    });
    stack = started;
    pipeline = await startPipeline(stack.settings, connect, stack.redis, 'test-worker', SILENT);
    try {
      await runSuite();
    } finally {
      await pipeline.close();
      for (const c of connections) c.disconnect();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('delivers exactly one schema-valid event per answered attempt, to the stream and the day file', async () => {
    const before = (await streamEvents(stack)).length;
    const statuses = [
      await nehr(stack, 'MOH-90008', 'Moh@-90008'),
      await nehr(stack, 'MOH-90008', 'wrong'),
      await nehr(stack, 'nobody', 'x'),
      await nehr(stack, 'sampleUser', 'userpassword123'),
    ];
    expect(statuses).toStrictEqual([200, 401, 401, 200]);
    // 4 attempts + 2 token.issued
    const events = await until(
      () => streamEvents(stack),
      (e) => e.length >= before + 6,
    );
    const fresh = events.slice(before);
    expect(fresh.map((e) => e.type).sort()).toStrictEqual([
      'login.failed',
      'login.failed',
      'login.succeeded',
      'login.succeeded',
      'token.issued',
      'token.issued',
    ]);
    expect(new Set(fresh.map((e) => e.id)).size).toBe(6);
    for (const e of fresh) expectSchemaValid(e);
    const failed = fresh.find((e) => e.type === 'login.failed' && e.identifier === 'u:nobody');
    expect(failed).toMatchObject({ dialect: 'nehr', outcome: 'bad_credentials', ip: '127.0.0.1' });
    expect(failed?.userId).toBeUndefined();
    // never a password in an event
    expect(JSON.stringify(fresh)).not.toContain('Moh@-90008');
    const fileIds = async () =>
      readdirSync(dir).flatMap((f) =>
        readFileSync(join(dir, f), 'utf8')
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as AuditEvent).id),
      );
    const ids = await until(fileIds, (all) => fresh.every((e) => all.includes(e.id)));
    for (const e of fresh) expect(ids.filter((id) => id === e.id)).toHaveLength(1);
    expect(readdirSync(dir).every((f) => /^audit-\d{4}-\d\d-\d\d\.ndjson$/.test(f))).toBe(true);
  });

  it('two independent consumer groups each receive every event', async () => {
    const stream = auditStreamKey(stack.settings.redisPrefix);
    const got: Record<string, string[]> = { dashboard: [], siem: [] };
    const stop = new AbortController();
    const readers = ['dashboard', 'siem'].map((group) => {
      const r = connect();
      return consumeAudit(
        r,
        { stream, group, consumer: `${group}-1`, from: '0', blockMs: 100 },
        (e) => got[group]?.push(e.id),
        stop.signal,
      );
    });
    await nehr(stack, 'sampleUser', 'userpassword123');
    const total = await until(
      async () => (await streamEvents(stack)).length,
      () => false,
      300,
    );
    await until(
      async () => Math.min(got.dashboard?.length ?? 0, got.siem?.length ?? 0),
      (n) => n >= total,
    );
    stop.abort();
    await Promise.all(readers);
    const all = (await streamEvents(stack)).map((e) => e.id);
    expect(got.dashboard).toStrictEqual(all);
    expect(got.siem).toStrictEqual(all);
  });

  it('duplicate deliveries are harmless: one stream entry and one file line per event id', async () => {
    const process = createProcessor(stack.settings, stack.redis, SILENT);
    const [event] = (await streamEvents(stack)).slice(-1) as [AuditEvent];
    const count = async () => (await streamEvents(stack)).filter((e) => e.id === event.id).length;
    const lines = () =>
      readdirSync(dir)
        .flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n'))
        .filter((l) => l.includes(event.id)).length;
    await process(event);
    await process(event);
    expect(await count()).toBe(1);
    expect(lines()).toBe(1);
  });

  it('escalates repeated lockouts: the second lock is permanent here, for an account and (bounded) for an unknown identifier', async () => {
    const id = (await stack.users.get('someone.example'))?.id;
    for (const [name, password] of [
      ['someone.example', 'Some3xtraLong4nd5afe9assword4gain'],
      ['ghost.example', 'whatever'],
    ] as const) {
      for (let i = 0; i < 5; i++) expect(await nehr(stack, name, 'nope')).toBe(401);
      expect(await nehr(stack, name, password)).toBe(429);
    }
    await sleep(1100); // first lock: 1 s
    expect(await nehr(stack, 'someone.example', 'Some3xtraLong4nd5afe9assword4gain')).toBe(200);
    for (const name of ['someone.example', 'ghost.example']) for (let i = 0; i < 5; i++) expect(await nehr(stack, name, 'nope')).toBe(401);
    const permanent = (l: { identifier: string; until: number }[], lock: string) =>
      l.some((x) => x.identifier === lock && x.until === Number.POSITIVE_INFINITY);
    const locked = await until(
      () => stack.gate.locked(),
      (l) => permanent(l, `a:${id}`) && l.some((x) => x.identifier === 'u:ghost.example' && x.until > Date.now() + 86_400_000),
    );
    expect(locked.find((x) => x.identifier === `a:${id}`)).toStrictEqual({
      identifier: `a:${id}`,
      until: Number.POSITIVE_INFINITY,
      username: 'someone.example',
    });
    await sleep(1100);
    for (const name of ['someone.example', 'ghost.example']) {
      const res = await stack.post(
        '/nehrapi/login/getToken',
        JSON.stringify({ username: name, password: 'Some3xtraLong4nd5afe9assword4gain' }),
        {
          'content-type': 'application/json',
        },
      );
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('3600'); // both answer as permanent
    }
    // the account's lock stays until an operator clears it; the unknown identifier's key goes within 30 days
    const keys = testKeys(stack.settings.redisPrefix);
    expect(await stack.redis.pttl(keys.lockout(`a:${id}`, keys.shardOf('someone.example')))).toBe(-1);
    const ttl = await stack.redis.pttl(keys.lockout('u:ghost.example', keys.shardOf('ghost.example')));
    expect(ttl).toBeGreaterThan(29 * 86_400_000);
    expect(ttl).toBeLessThanOrEqual(30 * 86_400_000);
  });
});
