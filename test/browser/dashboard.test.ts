import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { aroundAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH } from '../../infra/dev/system-deps.mjs';
import { lockOut, type Ops, startOps } from '../support/ops.ts';
import { freePort } from '../support/redis-source.ts';
import { type Stack, startStack } from '../support/stack.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const OPS = { username: 'ops', password: 'dashboard-test-password' };

// The ops dashboard in Debian's Chromium, headless, driven by playwright-core (never a downloaded browser).
describe('ops dashboard in a real browser', () => {
  let stack: Stack;
  let ops: Ops;
  let base: string;
  let browser: Browser;

  aroundAll(async (runSuite) => {
    await using started = await startStack({ TESSERA_OPS_PASSWORD: OPS.password, TESSERA_LOGIN_RATE_LIMIT: '0' });
    stack = started;
    await using opsServer = await startOps(stack, 'dashboard-test');
    ops = opsServer;
    base = ops.base;
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      await runSuite();
    } finally {
      await browser.close();
    }
  }, 60_000);

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

    await lockOut(stack, 'someone.example');
    const lock = `a:${(await stack.users.get('someone.example'))?.id}`;
    const unlock = page.locator(`button.unlock[data-id="${lock}"]`);
    await unlock.waitFor({ timeout: 5000 });
    expect(await page.locator('#lockcount').textContent()).toBe('1');
    expect(await page.locator('#lockouts').textContent()).toContain(`someone.example (${lock})`);
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-results', 'dashboard.png'), fullPage: true });
    await unlock.click();
    await page.locator(`button.unlock[data-id="${lock}"]`).waitFor({ state: 'detached', timeout: 5000 });
    expect((await stack.gate.locked()).map((l) => l.identifier)).not.toContain(lock);
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

  it("a page on another site cannot unlock through a logged-in operator's browser (form post, no-cors fetch)", async () => {
    await lockOut(stack, 'someone.example');
    const lock = `a:${(await stack.users.get('someone.example'))?.id}`;
    const locked = async () => (await stack.gate.locked()).some((l) => l.identifier === lock);
    expect(await locked()).toBe(true);
    // The attack: a text/plain form whose body is JSON, and a no-cors fetch (neither needs a CORS preflight).
    const attack = `<!doctype html><form method="POST" action="${base}/api/unlock" enctype="text/plain">
<input name='{"identifier":"${lock}","x":"' value='"}'></form>
<script>
fetch('${base}/api/unlock', { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' },
  body: JSON.stringify({ identifier: '${lock}' }) }).finally(() => document.forms[0].submit());
</script>`;
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(attack);
    });
    const evilPort = await freePort();
    await new Promise<void>((r) => evil.listen(evilPort, '127.0.0.1', r));
    const seen: number[] = [];
    const context = await browser.newContext({ httpCredentials: OPS });
    try {
      // the operator is logged in to the dashboard...
      const dashboard = await context.newPage();
      await dashboard.goto(`${base}/dashboard`);
      // ...and opens the other site (localhost, not 127.0.0.1: another site) in a second tab
      const page = await context.newPage();
      page.on('response', (r) => {
        if (r.url() === `${base}/api/unlock`) seen.push(r.status());
      });
      const submitted = page.waitForURL(`${base}/api/unlock`, { timeout: 10_000 });
      await page.goto(`http://localhost:${evilPort}/`);
      await submitted;
      expect(seen).toContain(403);
      expect(seen).not.toContain(200);
      expect(await locked()).toBe(true);
    } finally {
      await context.close();
      evil.close();
    }
  }, 60_000);
});
