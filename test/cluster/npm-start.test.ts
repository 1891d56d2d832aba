import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcome, startTessera, tessera } from '../support/cli.ts';
import { type LocalCluster, startCluster } from '../support/cluster.ts';
import { DEMO } from '../support/demo.ts';
import { startUp, type UpProcess, waitForLine } from '../support/processes.ts';
import { freePort } from '../support/redis-source.ts';
import { TEST_ARGON2, testPrefix } from '../support/stack.ts';

/** A SimpleJWT login (`/api/token/`): its status and answer. */
async function login(base: string, username: string, password: string): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${base}/api/token/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

const kidOf = (jwt: string) => (JSON.parse(Buffer.from(jwt.split('.')[0] as string, 'base64url').toString('utf8')) as { kid?: string }).kid;

// The issue's own command line: `REDIS_URL=redis-cluster://... npm start` on a 3-master cluster of
// infra/cluster/bootstrap.sh, then every `tessera` command against that cluster while the stack
// `npm start` runs serves what they change.
describe('npm start and every tessera command on Redis Cluster', () => {
  let cluster: LocalCluster;
  let up: UpProcess;
  let state: string;
  let base: string;
  let opsPort: number;
  const prefix = testPrefix();
  /** What each `tessera` command runs with: the cluster, the stack's state folder (its KEK), quick argon2. */
  let env: Record<string, string>;
  const run = (args: readonly string[], input = '') => tessera(args, prefix, input, env);

  beforeAll(async () => {
    cluster = await startCluster();
    state = mkdtempSync(join(tmpdir(), 'tessera-cluster-up-'));
    // an activated key signs at once (no JWKS cache to wait out): a setting of the CLI as of the services
    env = { REDIS_URL: cluster.url, TESSERA_STATE_DIR: state, TESSERA_JWKS_MAX_AGE_S: '0', ...TEST_ARGON2 };
    const port = await freePort();
    opsPort = await freePort();
    base = `http://127.0.0.1:${port}`;
    up = await startUp(
      {
        ...env,
        TESSERA_REDIS_PREFIX: prefix,
        TESSERA_PORT: String(port),
        TESSERA_OPS_PORT: String(opsPort),
        TESSERA_HOST: '127.0.0.1',
        TESSERA_DEMO: '1',
        TESSERA_LOGIN_RATE_LIMIT: '0',
      },
      { npm: true },
    );
  }, 120_000);

  afterAll(async () => {
    await up?.stop();
    await cluster?.stop();
    if (state !== undefined) rmSync(state, { recursive: true, force: true });
  }, 60_000);

  it('npm start serves the demo logins, its health checks and the ops dashboard', async () => {
    expect((await login(base, DEMO.simplejwt.username, DEMO.simplejwt.password)).status).toBe(200);
    const peb = await fetch(`${base}/v1/login`, { method: 'POST', body: new URLSearchParams(DEMO.peb) });
    expect(((await peb.json()) as { status: number }).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${opsPort}/healthz`)).status).toBe(200);
    const auth = `Basic ${Buffer.from(`ops:${readFileSync(join(state, 'ops-password'), 'utf8').trim()}`).toString('base64')}`;
    const summary = await fetch(`http://127.0.0.1:${opsPort}/api/summary`, { headers: { authorization: auth } });
    expect(summary.status).toBe(200);
    // the dashboard's live feed: the latest audit events first (its own blocking connection to the cluster)
    const events = await fetch(`http://127.0.0.1:${opsPort}/api/events`, {
      headers: { authorization: auth },
      signal: AbortSignal.timeout(15_000),
    });
    const reader = (events.body as ReadableStream<Uint8Array>).getReader();
    const text = new TextDecoder();
    let seen = '';
    while (!seen.includes('\ndata: {')) seen += text.decode((await reader.read()).value, { stream: true });
    await reader.cancel();
    expect(seen).toMatch(/^data: \{.*"type":"login\.succeeded"/m);
  });

  it('users add, show, passwd, disable and import', async () => {
    const add = await run(['users', 'add', 'cl.alice', '--password-stdin', '--email', 'Alice@Cluster.example'], 'first-Passw0rd\n');
    expect([add.code, add.stderr]).toStrictEqual([0, '']);
    expect((await login(base, 'cl.alice', 'first-Passw0rd')).status).toBe(200);
    const show = await run(['users', 'show', 'cl.alice', '--json']);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ username: 'cl.alice', email: 'alice@cluster.example' });
    const passwd = await run(['users', 'passwd', 'cl.alice', '--password-stdin'], 'second-Passw0rd\n');
    expect(passwd.code).toBe(0);
    expect((await login(base, 'cl.alice', 'first-Passw0rd')).status).toBe(401);
    expect((await login(base, 'cl.alice', 'second-Passw0rd')).status).toBe(200);
    expect((await run(['users', 'disable', 'cl.alice'])).code).toBe(0);
    expect((await login(base, 'cl.alice', 'second-Passw0rd')).status).toBe(401);
    expect((await run(['users', 'disable', 'cl.alice', '--enable'])).code).toBe(0);
    expect((await login(base, 'cl.alice', 'second-Passw0rd')).status).toBe(200);

    const file = join(state, 'users.ndjson');
    writeFileSync(
      file,
      `${JSON.stringify({ username: 'cl.bob', email: 'bob@cluster.example', password: 'bobs-Passw0rd' })}\n${JSON.stringify({ username: 'cl.carol', password: 'carols-Passw0rd', id: 9001 })}\n`,
    );
    const imported = await run(['users', 'import', file]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/imported 2 rows: 2 created/);
    expect((await login(base, 'cl.bob', 'bobs-Passw0rd')).status).toBe(200);
    const carol = await login(base, 'cl.carol', 'carols-Passw0rd');
    expect(carol.status).toBe(200);
  });

  it('clients add, list and remove; tokens revoke', async () => {
    const add = await run(['clients', 'add', 'cl-svc', '--secret-stdin'], 'a-client-secret-of-32-characters!\n');
    expect(add.code, add.stderr).toBe(0);
    expect((await run(['clients', 'list'])).stdout).toMatch(/^cl-svc\t/m);
    const auth = `Basic ${Buffer.from('cl-svc:a-client-secret-of-32-characters!').toString('base64')}`;
    const introspect = async (token: string) => {
      const res = await fetch(`${base}/oauth/introspect`, {
        method: 'POST',
        body: new URLSearchParams({ token }),
        headers: { authorization: auth },
      });
      return { status: res.status, active: res.ok ? ((await res.json()) as { active: boolean }).active : undefined };
    };
    const { access } = (await login(base, DEMO.simplejwt.username, DEMO.simplejwt.password)).body as { access: string };
    expect(await introspect(access)).toStrictEqual({ status: 200, active: true });
    const revoke = await run(['tokens', 'revoke', '--user', DEMO.simplejwt.username]);
    expect(revoke.code).toBe(0);
    expect(revoke.stdout).toMatch(/^revoked [1-9]\d* live tokens of sampleUser$/m);
    expect(await introspect(access)).toStrictEqual({ status: 200, active: false });
    expect((await run(['clients', 'remove', 'cl-svc'])).code).toBe(0);
    expect((await run(['clients', 'list'])).stdout).not.toMatch(/cl-svc/);
    // an ingress remembers a client it checked for CLIENT_CHECK_LIMITS.ttlMs (5 s)
    const deadline = Date.now() + 8000;
    let status = 200;
    while (status !== 401 && Date.now() < deadline) {
      status = (await introspect(access)).status;
      if (status !== 401) await sleep(250);
    }
    expect(status).toBe(401);
  });

  it('keys add, list, activate and retire: the running ingress signs with the key activated', async () => {
    const add = await run(['keys', 'add', '--algorithm', 'ES256']);
    expect(add.code, add.stderr).toBe(0);
    const kid = add.stdout.trim().split('\n').at(-1) as string;
    expect((await run(['keys', 'activate', kid])).code).toBe(0);
    const list = JSON.parse((await run(['keys', 'list', '--json'])).stdout) as { kid: string; state: string }[];
    expect(list).toStrictEqual([expect.objectContaining({ kid, state: 'signing' })]);
    // every ingress hears of the change on the cluster's pub/sub and reloads the keys
    const deadline = Date.now() + 5000;
    let signedBy: string | undefined;
    while (signedBy !== kid && Date.now() < deadline)
      signedBy = kidOf((await login(base, DEMO.simplejwt.username, DEMO.simplejwt.password)).body.access as string);
    expect(signedBy).toBe(kid);
    const next = (await run(['keys', 'add'])).stdout.trim().split('\n').at(-1) as string;
    expect((await run(['keys', 'activate', next])).code).toBe(0);
    const retire = await run(['keys', 'retire', kid]);
    expect([retire.code, retire.stderr]).toStrictEqual([0, '']);
    const after = JSON.parse((await run(['keys', 'list', '--json'])).stdout) as { kid: string; state: string }[];
    expect(after.find((k) => k.kid === kid)?.state).toMatch(/^retir/);
  });

  it('lockouts list and clear', async () => {
    for (let i = 0; i < 5; i++) expect((await login(base, 'cl.bob', 'wrong')).status).toBe(401);
    expect((await login(base, 'cl.bob', 'bobs-Passw0rd')).status).not.toBe(200);
    const list = await run(['lockouts', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^\S+\t\S+\tcl\.bob$/m);
    const clear = await run(['lockouts', 'clear', 'cl.bob']);
    expect([clear.code, clear.stderr]).toStrictEqual([0, '']);
    expect((await run(['lockouts', 'list'])).stdout).not.toMatch(/cl\.bob/);
    expect((await login(base, 'cl.bob', 'bobs-Passw0rd')).status).toBe(200);
  });

  it('audit tail, and audit tail --follow, read the events the worker of npm start drained', async () => {
    const deadline = Date.now() + 15_000;
    let tail = await run(['audit', 'tail', '-n', '500', '--type', 'login.succeeded']);
    while (!tail.stdout.includes('"u:cl.carol"') && Date.now() < deadline) {
      await sleep(200);
      tail = await run(['audit', 'tail', '-n', '500', '--type', 'login.succeeded']);
    }
    expect(tail.code).toBe(0);
    expect(tail.stdout).toContain('"u:cl.carol"');

    const follow = startTessera(['audit', 'tail', '--follow', '-n', '1', '--type', 'login.failed'], prefix, env);
    follow.stdin.end();
    const done = outcome(follow, 30_000);
    const lines: string[] = [];
    createInterface({ input: follow.stdout }).on('line', (l) => lines.push(l));
    await waitForLine(lines, 'login.failed', 0); // the last one before it started
    const before = lines.length;
    expect((await login(base, 'cl.carol', 'not-her-password')).status).toBe(401);
    await waitForLine(lines, '"u:cl.carol"', before, 15_000);
    follow.kill('SIGINT');
    const r = await done;
    expect([r.code, r.stderr]).toStrictEqual([0, '']);
  });

  it('stops on Ctrl-C, as npm start does in a terminal', async () => {
    // npm ends itself with the signal it was given; tessera up stops ingress and worker first
    expect(await up.stop()).toStrictEqual({ code: null, signal: 'SIGINT' });
    expect(up.output.join('\n')).toContain('"ingress stopping"');
    await expect(fetch(`${base}/readyz`)).rejects.toThrow();
  });
});
