import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { newRedisClient } from '@tessera/store';
import { createOpsServer, createWorkerMetrics, type Pipeline, startPipeline } from '@tessera/worker';
import type { Redis } from 'ioredis';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../support/redis-source.ts';
import { type Stack, startStack } from '../support/stack.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const OPS = { username: 'ops', password: 'dashboard-test-password' };

// The ops dashboard in Debian's Chromium, headless, driven by playwright-core (never a downloaded browser).
describe('ops dashboard in a real browser', () => {
  let stack: Stack;
  let pipeline: Pipeline;
  let ops: Server;
  let base: string;
  let browser: Browser;
  const connections: Redis[] = [];

  beforeAll(async () => {
    stack = await startStack({ TESSERA_OPS_PASSWORD: OPS.password, TESSERA_LOGIN_RATE_LIMIT: '0' });
    pipeline = await startPipeline(
      stack.settings,
      () => {
        const c = newRedisClient(inject('redisUrl'), { maxRetriesPerRequest: null });
        connections.push(c);
        return c;
      },
      stack.redis,
      'dashboard-test',
      () => {},
    );
    const metrics = createWorkerMetrics(stack.settings, stack.redis, pipeline.queue);
    ops = createOpsServer({
      settings: stack.settings,
      redis: stack.redis,
      queue: pipeline.queue,
      registry: metrics.registry,
      isRunning: () => true,
    });
    const port = await freePort();
    await new Promise<void>((r) => ops.listen(port, '127.0.0.1', r));
    base = `http://127.0.0.1:${port}`;
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    ops?.close();
    await pipeline?.close();
    for (const c of connections) c.disconnect();
    await stack?.close();
  });

  it('refuses the dashboard without the ops credential', async () => {
    const res = await fetch(`${base}/dashboard`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Basic');
    const wrong = await fetch(`${base}/api/summary`, { headers: { authorization: `Basic ${Buffer.from('ops:nope').toString('base64')}` } });
    expect(wrong.status).toBe(401);
  });

  it('shows a login within 2 s, shows a lockout, and its Unlock button unlocks', async () => {
    const context = await browser.newContext({ httpCredentials: OPS, viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    await page.goto(`${base}/dashboard`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === '● live', undefined, { timeout: 10_000 });

    const probe = `probe-${Date.now()}`;
    const sent = Date.now();
    await stack.post('/nehrapi/login/getToken', JSON.stringify({ username: probe, password: 'x' }), { 'content-type': 'application/json' });
    await page.locator(`#events div[data-identifier="u:${probe}"]`).waitFor({ timeout: 2000 });
    expect(Date.now() - sent).toBeLessThan(2000);

    for (let i = 0; i < 5; i++) {
      await stack.post('/nehrapi/login/getToken', JSON.stringify({ username: 'someone.example', password: 'wrong' }), {
        'content-type': 'application/json',
      });
    }
    const unlock = page.locator('button.unlock[data-id="u:someone.example"]');
    await unlock.waitFor({ timeout: 5000 });
    expect(await page.locator('#lockcount').textContent()).toBe('1');
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-results', 'dashboard.png'), fullPage: true });
    await unlock.click();
    await page.locator('button.unlock[data-id="u:someone.example"]').waitFor({ state: 'detached', timeout: 5000 });
    expect((await stack.gate.locked()).map((l) => l.identifier)).not.toContain('u:someone.example');
    const ok = await stack.post(
      '/nehrapi/login/getToken',
      JSON.stringify({ username: 'someone.example', password: 'Some3xtraLong4nd5afe9assword4gain' }),
      {
        'content-type': 'application/json',
      },
    );
    expect(ok.status).toBe(200);
    await context.close();
  }, 60_000);
});
