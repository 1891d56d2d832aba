import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { aroundAll, describe, expect, inject, it } from 'vitest';
import { outboxEntries, type Stack, startStack, testKeys } from '../support/stack.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

async function nehr(stack: Stack, username: string, password: string) {
  const res = await stack.post('/nehrapi/login/getToken', JSON.stringify({ username, password }), { 'content-type': 'application/json' });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown> };
}

/** Counts real argon2 verifications per hash (the hasher itself is untouched). */
function countVerifications(stack: Stack): Map<string | null, number> {
  const counts = new Map<string | null, number>();
  const original = stack.hasher.verify.bind(stack.hasher);
  stack.hasher.verify = (hash, password) => {
    counts.set(hash, (counts.get(hash) ?? 0) + 1);
    return original(hash, password);
  };
  return counts;
}

async function outboxTypes(stack: Stack): Promise<string[]> {
  const entries = await outboxEntries(stack.redis, testKeys(stack.settings.redisPrefix));
  return entries.map(([, f]) => (JSON.parse(f[1] as string) as { type: string }).type);
}

/** 5 attempts answered bad credentials, every other one the NEHR lock answer with a Retry-After within the lock. */
function expectLockedAfterFive(answers: Awaited<ReturnType<typeof nehr>>[]): void {
  expect(answers.filter((r) => r.status === 401)).toHaveLength(5);
  const locked = answers.filter((r) => r.status === 429);
  expect(locked).toHaveLength(answers.length - 5);
  for (const r of locked) {
    expect(r.body).toStrictEqual({
      code: 429,
      message: 'Too Many Requests: The account is temporarily locked after repeated failed logins.',
    });
    expect(Number(r.retryAfter)).toBeGreaterThan(0);
    expect(Number(r.retryAfter)).toBeLessThanOrEqual(900);
  }
}

describe('lockout, exact under concurrency', () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack({ TESSERA_LOGIN_RATE_LIMIT: '0', TESSERA_LOGIN_BUSY_WAIT_MS: '20000' });
    stack = started;
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) =>
        stack.users.create({ username: `other${i}`, passwordHash: await stack.hasher.hash(`Other-pass-${i}`) }),
      ),
    );
    await runSuite();
  });

  it('200 concurrent wrong passwords: exactly 5 verifications, 5 refusals, 195 locked; 20 other users log in meanwhile', async () => {
    const counts = countVerifications(stack);
    const target = await stack.users.get('MOH-90008');
    const attack = Array.from({ length: 200 }, () => nehr(stack, 'MOH-90008', 'wrong-password'));
    const others = Array.from({ length: 20 }, (_, i) => nehr(stack, `other${i}`, `Other-pass-${i}`));
    const [attacked, logins] = await Promise.all([Promise.all(attack), Promise.all(others)]);
    expect(counts.get(target?.passwordHash ?? '')).toBe(5);
    expectLockedAfterFive(attacked);
    expect(logins.map((r) => r.status)).toStrictEqual(Array(20).fill(200));
    // the right password is refused too while locked
    expect((await nehr(stack, 'MOH-90008', 'Moh@-90008')).status).toBe(429);
    // one event per answered attempt (+ the lockout, + tokens of the 20 logins)
    const types = await outboxTypes(stack);
    expect(types.filter((t) => t === 'login.failed')).toHaveLength(201);
    expect(types.filter((t) => t === 'lockout.engaged')).toHaveLength(1);
    expect(types.filter((t) => t === 'login.succeeded')).toHaveLength(20);
    expect(types.filter((t) => t === 'token.issued')).toHaveLength(20);
  });

  it('200 parallel wrong passwords naming one account by username and by email, on every route: exactly 5 verifications', async () => {
    const counts = countVerifications(stack);
    const target = await stack.users.get('someone');
    const form = { 'content-type': 'application/json' };
    const wrong = 'not-the-password';
    const forms = [
      () => stack.post('/nehrapi/login/getToken', JSON.stringify({ username: 'someone', password: wrong }), form),
      () => stack.post('/api/token/', JSON.stringify({ username: 'someone', password: wrong }), form),
      () => stack.post('/getUserToken', JSON.stringify({ username: 'someone', password: wrong }), form),
      () => stack.post('/v1/login', new URLSearchParams({ email: 'SomeOne@Example.com', password: wrong })),
      () => stack.post('/v1/login', new URLSearchParams({ username: 'someone', password: wrong })),
    ];
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => (forms[i % forms.length] as () => Promise<Response>)()));
    await Promise.all(answers.map((a) => a.arrayBuffer()));
    expect(counts.get(target?.passwordHash ?? '')).toBe(5);
    // the right password, by either form, on any route, is refused now
    expect((await nehr(stack, 'someone', 'Some3xtraLong4nd5afe9assword')).status).toBe(429);
    const byEmail = await stack.post(
      '/v1/login',
      new URLSearchParams({ email: 'someone@example.com', password: 'Some3xtraLong4nd5afe9assword' }),
    );
    expect(((await byEmail.json()) as { error_id: number }).error_id).toBe(18);
    // one lock, the account's, named in its event
    const entries = await outboxEntries(stack.redis, testKeys(stack.settings.redisPrefix));
    const locks = entries.map(([, f]) => JSON.parse(f[1] as string) as { type: string; identifier: string; userId?: number });
    expect(locks.filter((e) => e.type === 'lockout.engaged' && e.userId === target?.id).map((e) => e.identifier)).toStrictEqual([
      `a:${target?.id}`,
    ]);
  });

  it('an unknown identifier keeps a counter of its own and locks as an account does', async () => {
    const counts = countVerifications(stack);
    const attack = await Promise.all(Array.from({ length: 100 }, () => nehr(stack, 'nobody.here', 'wrong-password')));
    expect(counts.get(null)).toBe(5);
    expectLockedAfterFive(attack);
    // its lock is its own: another unknown identifier, and an account, are untouched
    expect((await nehr(stack, 'nobody.else', 'wrong-password')).status).toBe(401);
    expect((await nehr(stack, 'sampleUser', 'userpassword123')).status).toBe(200);
  });

  it("an operator's unlock of an account clears its email's and username's own locks too; a typed e: name is case-folded", async () => {
    const peb = async (email: string, password: string) => {
      const r = await stack.post('/v1/login', new URLSearchParams({ email, password }));
      return ((await r.json()) as { error_id?: number; status?: number }).error_id ?? 0;
    };
    // locked while it named no account...
    for (let i = 0; i < 5; i++) expect(await peb('late@example.com', 'nope')).toBe(11);
    // ...then the account arrives with that email: the email's lock holds for it
    await stack.users.create({ username: 'late.comer', email: 'Late@Example.com', passwordHash: await stack.hasher.hash('Late-pass-1') });
    expect(await peb('late@example.com', 'Late-pass-1')).toBe(18);
    expect(await stack.gate.clear('late.comer', () => '{}')).toBe(`a:${(await stack.users.get('late.comer'))?.id}`);
    expect(await peb('late@example.com', 'Late-pass-1')).toBe(0);
    for (let i = 0; i < 5; i++) expect(await peb('ghost@example.com', 'nope')).toBe(11);
    expect(await stack.gate.clear('e:Ghost@Example.COM', () => '{}')).toBe('e:ghost@example.com');
  });

  it('parallel correct logins of one user are never refused, below or above the threshold in number', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => nehr(stack, 'sampleUser', 'userpassword123')));
    expect(answers.map((a) => a.status)).toStrictEqual(Array(20).fill(200));
  });
});

describe('lockout in every dialect, expiry, admin unlock, rate limit', () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack({ TESSERA_LOCKOUT_DURATION_S: '1', TESSERA_LOGIN_RATE_LIMIT: '0' });
    stack = started;
    await runSuite();
  });

  it('locks after 5 failures, answers each dialect in its form, and lets go on time', async () => {
    for (let i = 0; i < 5; i++) expect((await nehr(stack, 'MOH-90008', 'nope')).status).toBe(401);
    const moh = await stack.post('/getUserToken', JSON.stringify({ username: 'MOH-90008', password: 'Moh@-90008' }), {
      'content-type': 'application/json',
    });
    expect(moh.status).toBe(200);
    expect(await moh.json()).toStrictEqual({ version: 'v2', code: 4, message: 'Account Locked', result: null });
    const started = Date.now();
    await sleep(1100);
    expect((await nehr(stack, 'MOH-90008', 'Moh@-90008')).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('counts emails case-folded, and PEB answers error 18', async () => {
    for (const email of [
      'Someone@Example.com',
      'SOMEONE@example.com',
      'someone@EXAMPLE.COM',
      'someone@example.com',
      'Someone@example.com',
    ]) {
      const r = await stack.post('/v1/login', new URLSearchParams({ email, password: 'nope' }));
      expect(((await r.json()) as { error_id: number }).error_id).toBe(11);
    }
    const locked = await stack.post(
      '/v1/login',
      new URLSearchParams({ email: 'someone@example.com', password: 'Some3xtraLong4nd5afe9assword' }),
    );
    expect(locked.status).toBe(200);
    expect(await locked.json()).toStrictEqual({ status: 403, message: 'User is locked out after repeated failed logins.', error_id: 18 });
    // the lock is the account's: its username is refused too, on every route, with the right password
    const byName = await stack.post('/v1/login', new URLSearchParams({ username: 'someone', password: 'Some3xtraLong4nd5afe9assword' }));
    expect(((await byName.json()) as { error_id: number }).error_id).toBe(18);
    expect((await nehr(stack, 'someone', 'Some3xtraLong4nd5afe9assword')).status).toBe(429);
    const jwt = await stack.post('/api/token/', JSON.stringify({ username: 'someone', password: 'Some3xtraLong4nd5afe9assword' }), {
      'content-type': 'application/json',
    });
    expect(jwt.status).toBe(429);
    expect(((await jwt.json()) as { detail: string }).detail).toMatch(/^Request was throttled\. Expected available in \d+ seconds?\.$/);
    const moh = await stack.post('/getUserToken', JSON.stringify({ username: 'someone', password: 'Some3xtraLong4nd5afe9assword' }), {
      'content-type': 'application/json',
    });
    expect(((await moh.json()) as { code: number }).code).toBe(4);
  });

  it('a success resets the count', async () => {
    for (let i = 0; i < 4; i++) expect((await nehr(stack, 'sampleUser', 'nope')).status).toBe(401);
    expect((await nehr(stack, 'sampleUser', 'userpassword123')).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await nehr(stack, 'sampleUser', 'nope')).status).toBe(401);
    expect((await nehr(stack, 'sampleUser', 'userpassword123')).status).toBe(200);
  });

  it('tessera lockouts list and clear: an admin unlock, itself an event', async () => {
    const env = { ...process.env, REDIS_URL: inject('redisUrl'), TESSERA_REDIS_PREFIX: stack.settings.redisPrefix };
    const cli = (args: string[]) => spawnSync(process.execPath, [`${ROOT}packages/cli/bin/tessera.js`, ...args], { env, encoding: 'utf8' });
    for (let i = 0; i < 5; i++) await nehr(stack, 'someone.example', 'nope');
    expect((await nehr(stack, 'someone.example', 'Some3xtraLong4nd5afe9assword4gain')).status).toBe(429);
    const id = (await stack.users.get('someone.example'))?.id;
    expect(cli(['lockouts', 'list']).stdout).toMatch(new RegExp(`^a:${id}\t\\d{4}-\\d\\d-\\d\\dT[^\t]+\tsomeone\\.example$`, 'm'));
    expect(cli(['lockouts', 'clear', 'someone.example'])).toMatchObject({ status: 0, stdout: `cleared a:${id}\n` });
    expect((await nehr(stack, 'someone.example', 'Some3xtraLong4nd5afe9assword4gain')).status).toBe(200);
    expect(cli(['lockouts', 'clear', 'someone.example'])).toMatchObject({
      status: 1,
      stderr: 'tessera: someone.example has no failures or lock to clear\n',
    });
    expect((await outboxTypes(stack)).filter((t) => t === 'lockout.released')).toHaveLength(1);
  });
});

describe('per-address rate limit', () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack({ TESSERA_LOGIN_RATE_LIMIT: '3', TESSERA_LOGIN_RATE_WINDOW_S: '60' });
    stack = started;
    await runSuite();
  });

  it('answers the attempt over the rate in dialect with Retry-After', async () => {
    for (let i = 0; i < 3; i++) expect((await nehr(stack, `user${i}`, 'x')).status).toBe(401);
    const throttled = await nehr(stack, 'user9', 'x');
    expect(throttled.status).toBe(429);
    expect(throttled.body).toStrictEqual({ code: 429, message: 'Too Many Requests: Too many login attempts from this client.' });
    expect(Number(throttled.retryAfter)).toBeGreaterThan(55);
    const jwt = await stack.post('/api/token/', JSON.stringify({ username: 'sampleUser', password: 'userpassword123' }), {
      'content-type': 'application/json',
    });
    expect(jwt.status).toBe(429);
    expect(((await jwt.json()) as { detail: string }).detail).toMatch(/^Request was throttled\. Expected available in \d+ seconds\.$/);
  });
});
