import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { AuditEvent } from '@tessera/events';
import { passwordScheme } from '@tessera/passwords';
import { aroundAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/redis-source.ts';
import { outboxEntries, type Stack, startStack, testKeys } from '../support/stack.ts';

/** The lockout hash of a username as an identifier (`u:<username>`), in its shard. */
function lockOf(s: Stack, username: string): string {
  const keys = testKeys(s.settings.redisPrefix);
  return keys.lockout(`u:${username}`, keys.shardOf(username));
}

/*
 * Lazy migration against a real old system: a second Tessera on loopback plays it, since it speaks
 * each of the four dialects exactly as the documents do. `old` holds the users; `fresh` knows
 * none of them and sends each first login to `old`.
 */

const json = { 'content-type': 'application/json' };

/** How each route says yes, and the answer to compare, per dialect. */
const LOGIN = {
  moh: async (s: Stack, username: string, password: string) => {
    const body = (await (await s.post('/getUserToken', JSON.stringify({ username, password }), json)).json()) as Record<string, unknown>;
    return { ok: body.code === 0, body };
  },
  nehr: async (s: Stack, username: string, password: string) => {
    const res = await s.post('/nehrapi/login/getToken', JSON.stringify({ username, password }), json);
    return { ok: res.status === 200, status: res.status, body: (await res.json()) as Record<string, unknown> };
  },
  simplejwt: async (s: Stack, username: string, password: string) => {
    const res = await s.post('/api/token/', JSON.stringify({ username, password }), json);
    return { ok: res.status === 200, status: res.status, body: (await res.json()) as Record<string, unknown> };
  },
  peb: async (s: Stack, field: 'username' | 'email', value: string, password: string) => {
    const body = (await (await s.post('/v1/login', new URLSearchParams({ [field]: value, password }))).json()) as Record<string, unknown>;
    return { ok: body.status === 200, body };
  },
};

async function outbox(s: Stack): Promise<AuditEvent[]> {
  const entries = await outboxEntries(s.redis, testKeys(s.settings.redisPrefix));
  return entries.map(([, f]) => JSON.parse(f[1] as string) as AuditEvent);
}

/** Login attempts the old system saw for an identifier (its own audit events). */
async function seenByOld(old: Stack, identifier: string): Promise<number> {
  return (await outbox(old)).filter((e) => e.type.startsWith('login.') && e.identifier === identifier).length;
}

function upstreamEnv(old: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TESSERA_UPSTREAM_MOH_URL: `${old}/getUserToken`,
    TESSERA_UPSTREAM_NEHR_URL: `${old}/nehrapi/login/getToken`,
    TESSERA_UPSTREAM_SIMPLEJWT_URL: `${old}/api/token/`,
    TESSERA_UPSTREAM_PEB_URL: `${old}/v1/login`,
    TESSERA_UPSTREAM_TIMEOUT_MS: '2000',
    // the second Tessera plays all four old systems, on one user store
    TESSERA_UPSTREAM_SHARED_USERS: '1',
    TESSERA_LOGIN_RATE_LIMIT: '0',
    ...extra,
  };
}

/** An old system whose answers a test scripts: status, body and delay; counts the requests. */
async function scriptedServer(answer: { status: number; body: string; delayMs?: number }) {
  let requests = 0;
  const server = createHttpServer((req, res) => {
    requests++;
    req.resume();
    setTimeout(() => res.writeHead(answer.status, { 'content-type': 'text/html' }).end(answer.body), answer.delayMs ?? 0);
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
  return { url: `http://127.0.0.1:${port}`, answer, requests: () => requests, close: () => server.close() };
}

/** An old system that accepts connections and never answers; counts the requests it reads. */
async function silentServer(): Promise<{ url: string; requests(): number; close(): void }> {
  const sockets: Socket[] = [];
  let requests = 0;
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    // fetch may open more connections than it sends requests: count what is sent
    socket.on('data', (d: Buffer) => {
      if (d.toString('latin1').startsWith('POST ')) requests++;
    });
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

let old: Stack;
let fresh: Stack;
aroundAll(async (runSuite) => {
  await using oldSystem = await startStack({ TESSERA_LOGIN_RATE_LIMIT: '0' });
  old = oldSystem;
  await using freshSystem = await startStack(upstreamEnv(old.base, { TESSERA_LOGIN_BUSY_WAIT_MS: '10000' }), { seed: false });
  fresh = freshSystem;
  await runSuite();
});

async function oldUser(username: string, password: string, extra: Record<string, unknown> = {}) {
  return old.users.create({ username, passwordHash: await old.hasher.hash(password), ...extra });
}

describe('first logins go to the old system, then stay here', () => {
  it('moh: the old envelope vouches; the user is created with its profile and scopes, argon2id, and user.migrated', async () => {
    await oldUser('MOH-11111', 'Moh@-11111', { scopes: ['read'], profile: { persCode: '-11111', userIntitutes: [{ id: 3 }] } });
    const first = await LOGIN.moh(fresh, 'MOH-11111', 'Moh@-11111');
    expect(first.ok).toBe(true);
    expect(first.body.result).toMatchObject({ scope: ['read'], persCode: '-11111', userIntitutes: [{ id: 3 }] });
    const user = await fresh.users.get('MOH-11111');
    expect(user).toMatchObject({ scopes: ['read'], profile: { persCode: '-11111', userIntitutes: [{ id: 3 }] } });
    expect(passwordScheme(user?.passwordHash ?? '')).toBe('argon2id');
    expect(await fresh.hasher.verify(user?.passwordHash ?? null, 'Moh@-11111')).toBe(true);
    expect((await outbox(fresh)).filter((e) => e.type === 'user.migrated')).toMatchObject([
      { dialect: 'moh', identifier: 'u:MOH-11111', userId: user?.id, reason: 'upstream', outcome: 'created' },
    ]);
    // Tessera's own tokens: the access token is Tessera's, not the old system's.
    expect(await fresh.tokens.lookup((first.body.result as { access_token: string }).access_token)).toMatchObject({ state: 'live' });
    // From now on the login is Tessera's alone.
    const seen = await seenByOld(old, 'u:MOH-11111');
    expect(seen).toBe(1);
    expect((await LOGIN.moh(fresh, 'MOH-11111', 'Moh@-11111')).ok).toBe(true);
    expect((await LOGIN.moh(fresh, 'MOH-11111', 'wrong')).body.code).toBe(3);
    expect(await seenByOld(old, 'u:MOH-11111')).toBe(seen);
  });

  it('nehr: the same, and the old system\'s "bad credentials" is bad credentials here (401 in its words)', async () => {
    await oldUser('nehr.user', 'Nehr-pass-1', { profile: { civilId: '285', userMobile: '+965' } });
    const bad = await LOGIN.nehr(fresh, 'nehr.user', 'wrong');
    expect(bad).toMatchObject({
      ok: false,
      status: 401,
      body: { code: 401, message: 'Unauthorized: Access is denied due to invalid credentials.' },
    });
    expect(await fresh.users.get('nehr.user')).toBeNull();
    expect((await LOGIN.nehr(fresh, 'nehr.user', 'Nehr-pass-1')).ok).toBe(true);
    expect(await fresh.users.get('nehr.user')).toMatchObject({ profile: { civilId: '285', userMobile: '+965' } });
  });

  it("simplejwt: the old access token's user_id is kept, so services reading it keep working", async () => {
    const created = await oldUser('django.user', 'Django-pass-1');
    const first = await LOGIN.simplejwt(fresh, 'django.user', 'Django-pass-1');
    expect(first.ok).toBe(true);
    expect((await fresh.users.get('django.user'))?.id).toBe(created.id);
    const claims = JSON.parse(Buffer.from((first.body.access as string).split('.')[1] as string, 'base64url').toString()) as {
      user_id: number;
    };
    expect(claims.user_id).toBe(created.id);
    expect((await LOGIN.simplejwt(fresh, 'django.user', 'nope')).status).toBe(401);
  });

  it("peb by email: the old system's check names the user; id, username and email are kept", async () => {
    const created = await oldUser('peb.person', 'Peb-pass-1', { email: 'peb.person@example.com' });
    const first = await LOGIN.peb(fresh, 'email', 'PEB.Person@example.com', 'Peb-pass-1');
    expect(first.ok).toBe(true);
    expect(await fresh.users.get('peb.person')).toMatchObject({ id: created.id, email: 'peb.person@example.com' });
    // its token is Tessera's and checks here
    const check = (await (
      await fresh.post('/v1/login/check', new URLSearchParams({ token: first.body.token as string }))
    ).json()) as Record<string, unknown>;
    expect(check).toMatchObject({ status: 200, valid: true, user_id: created.id, username: 'peb.person', email: 'peb.person@example.com' });
    expect((await LOGIN.peb(fresh, 'username', 'peb.person', 'Peb-pass-1')).ok).toBe(true);
    expect((await LOGIN.peb(fresh, 'email', 'peb.person@example.com', 'wrong')).body).toMatchObject({ status: 401, error_id: 11 });
  });

  it('a user imported as pending: the old system sets the password, the imported id and profile stay', async () => {
    await oldUser('pending.one', 'Pending-pass-1');
    await fresh.users.create({ id: 4711, username: 'pending.one', passwordHash: '!', pendingUpstream: true, profile: { persCode: 'P-1' } });
    expect((await LOGIN.nehr(fresh, 'pending.one', 'Pending-pass-1')).ok).toBe(true);
    const user = await fresh.users.get('pending.one');
    expect(user).toMatchObject({ id: 4711, profile: { persCode: 'P-1' } });
    expect(user?.pendingUpstream).toBeUndefined();
    expect(passwordScheme(user?.passwordHash ?? '')).toBe('argon2id');
    expect((await outbox(fresh)).filter((e) => e.type === 'user.migrated' && e.userId === 4711)).toMatchObject([
      { dialect: 'nehr', reason: 'upstream', outcome: 'updated' },
    ]);
  });

  it('a disabled user there is bad credentials here, and is not created', async () => {
    await oldUser('gone.there', 'Gone-pass-1', { disabled: true });
    expect((await LOGIN.simplejwt(fresh, 'gone.there', 'Gone-pass-1')).status).toBe(401);
    expect(await fresh.users.get('gone.there')).toBeNull();
  });
});

describe('who may become whom', () => {
  it('a username Tessera could not hold is never sent to the old system: it is an unknown user', async () => {
    expect((await LOGIN.moh(fresh, 'john smith', 'whatever')).body.code).toBe(3);
    expect(await seenByOld(old, 'u:john smith')).toBe(0);
  });

  it("an old user_id held here by the same person under another spelling is that person's account", async () => {
    const there = await oldUser('case.user', 'Case-pass-1');
    await fresh.users.create({ id: there.id, username: 'Case.User', passwordHash: await fresh.hasher.hash('Case-pass-1') });
    const r = await LOGIN.simplejwt(fresh, 'case.user', 'Case-pass-1');
    expect(r.status).toBe(200);
    expect(await fresh.users.get('case.user')).toBeNull();
    const claims = JSON.parse(Buffer.from((r.body.access as string).split('.')[1] as string, 'base64url').toString()) as {
      user_id: number;
    };
    expect(claims.user_id).toBe(there.id);
  });

  it("an old user_id held here by someone else is refused, never renumbered: 'unavailable', nothing created, not counted", async () => {
    const there = await oldUser('id.victim', 'Victim-pass-1');
    await fresh.users.create({ id: there.id, username: 'id.squatter', passwordHash: await fresh.hasher.hash('Squatter-pass-1') });
    const r = await LOGIN.simplejwt(fresh, 'id.victim', 'Victim-pass-1');
    expect(r).toMatchObject({ status: 503, body: { detail: 'Service temporarily unavailable, try again later.' } });
    expect(await fresh.users.get('id.victim')).toBeNull();
    expect(await fresh.redis.hget(lockOf(fresh, 'id.victim'), 'fails')).toBeNull();
    expect(fresh.logs.some((l) => l.includes("upstream user's id is another user here: not migrated"))).toBe(true);
  });
});

describe('an old system that names an account here that is not the login', () => {
  it("is a conflict: that account's password is never tried, its lockout untouched", async () => {
    const token = 'ab'.repeat(64);
    const server = createHttpServer((req, res) => {
      req.resume();
      const body = req.url?.endsWith('/check')
        ? { status: 200, valid: true, user_id: 1, username: 'victim.here', email: 'victim@example.com' }
        : { status: 200, token };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
    );
    const s = await startStack(upstreamEnv(`http://127.0.0.1:${port}`, { TESSERA_UPSTREAM_PEB_URL: `http://127.0.0.1:${port}/v1/login` }), {
      seed: false,
    });
    try {
      await s.users.create({ username: 'victim.here', email: 'victim@example.com', passwordHash: await s.hasher.hash('Victim-pass-1') });
      const tried: string[] = [];
      const verify = s.hasher.verify.bind(s.hasher);
      s.hasher.verify = (hash, password) => {
        tried.push(password);
        return verify(hash, password);
      };
      for (const guess of ['guess-1', 'Victim-pass-1'])
        expect((await LOGIN.peb(s, 'username', 'attacker', guess)).body).toMatchObject({ status: 503 });
      expect(tried).toStrictEqual([]);
      expect(await s.users.get('attacker')).toBeNull();
    } finally {
      await s.close();
      server.close();
    }
  });
});

describe('the lockout holds, and concurrent first logins create the user once', () => {
  it('wrong passwords: the old system sees exactly as many attempts as the lockout lets through', async () => {
    await oldUser('target.user', 'Target-pass-1');
    const answers = [];
    for (let i = 0; i < 9; i++) answers.push(await LOGIN.nehr(fresh, 'target.user', `wrong-${i}`));
    expect(answers.map((a) => a.status)).toStrictEqual([401, 401, 401, 401, 401, 429, 429, 429, 429]);
    // the right password while locked is not sent either
    expect((await LOGIN.nehr(fresh, 'target.user', 'Target-pass-1')).status).toBe(429);
    expect(await seenByOld(old, 'u:target.user')).toBe(5);
    expect(await fresh.users.get('target.user')).toBeNull();
  });

  it('20 concurrent wrong first logins: at most 5 reach the old system', async () => {
    await oldUser('burst.user', 'Burst-pass-1');
    const answers = await Promise.all(Array.from({ length: 20 }, () => LOGIN.nehr(fresh, 'burst.user', 'wrong')));
    expect(answers.filter((a) => a.status === 401)).toHaveLength(5);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(15);
    expect(await seenByOld(old, 'u:burst.user')).toBe(5);
  });

  it('10 concurrent first logins with the right password: all logged in, one user created, one user.migrated', async () => {
    const created = await oldUser('popular.user', 'Popular-pass-1');
    const answers = await Promise.all(Array.from({ length: 10 }, () => LOGIN.simplejwt(fresh, 'popular.user', 'Popular-pass-1')));
    expect(answers.map((a) => a.status)).toStrictEqual(Array(10).fill(200));
    expect((await fresh.users.get('popular.user'))?.id).toBe(created.id);
    const migrated = (await outbox(fresh)).filter((e) => e.type === 'user.migrated' && e.identifier === 'u:popular.user');
    expect(migrated).toHaveLength(1);
    // the lockout's reservations let at most 5 at once reach the old system
    expect(await seenByOld(old, 'u:popular.user')).toBeLessThanOrEqual(10);
  });
});

describe('an old system that is down or slow: "unavailable" in each dialect, never a hang', () => {
  it('refused connections: unavailable at once, not counted against the user', async () => {
    const closed = await freePort();
    await using s = await startStack(upstreamEnv(`http://127.0.0.1:${closed}`), { seed: false });
    for (let i = 0; i < 7; i++) {
      expect(await LOGIN.moh(s, 'anyone', 'pw')).toMatchObject({ body: { code: 7, message: 'Service Unavailable', result: null } });
    }
    expect(await LOGIN.nehr(s, 'anyone', 'pw')).toMatchObject({ status: 503 });
    expect(await LOGIN.simplejwt(s, 'anyone', 'pw')).toMatchObject({
      status: 503,
      body: { detail: 'Service temporarily unavailable, try again later.' },
    });
    expect((await LOGIN.peb(s, 'username', 'anyone', 'pw')).body).toMatchObject({ status: 503, error_id: 3 });
    // 10 attempts, none counted: no lockout
    const failures = (await outbox(s)).filter((e) => e.type === 'login.failed');
    expect(failures.map((e) => e.outcome)).toStrictEqual(Array(10).fill('unavailable'));
    expect(failures.filter((e) => e.type === 'lockout.engaged')).toStrictEqual([]);
  });

  it("refusals anyone can earn (a 4xx, the old system's own error ids) never open the circuit", async () => {
    // PEB refuses a password this long as malformed (error 8): answered "unavailable", counted, circuit closed
    const long = '中'.repeat(5000);
    for (let i = 0; i < 8; i++) {
      const r = await fresh.post('/v1/login', JSON.stringify({ username: `tripper${i}`, password: long }), json);
      expect(((await r.json()) as { error_id: number }).error_id).toBe(3);
    }
    await oldUser('after.trip', 'After-pass-1');
    expect((await LOGIN.peb(fresh, 'username', 'after.trip', 'After-pass-1')).ok).toBe(true);
  });

  it('at most TESSERA_UPSTREAM_CONCURRENCY calls in flight; the rest "unavailable" at once, not counted', async () => {
    const silent = await silentServer();
    const s = await startStack(upstreamEnv(silent.url, { TESSERA_UPSTREAM_TIMEOUT_MS: '1000', TESSERA_UPSTREAM_CONCURRENCY: '2' }), {
      seed: false,
    });
    try {
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => LOGIN.nehr(s, `many${i}`, 'pw')));
      expect(answers.map((a) => a.status)).toStrictEqual(Array(6).fill(503));
      expect(silent.requests()).toBe(2);
      // the four kept back were not counted against their users
      const counted = await Promise.all(Array.from({ length: 6 }, (_, i) => s.redis.hget(lockOf(s, `many${i}`), 'fails')));
      expect(counted.filter((c) => c === '1')).toHaveLength(2);
    } finally {
      await s.close();
      silent.close();
    }
  });

  it('neither a burst over the concurrency limit nor 4xx pages of a proxy open the circuit', async () => {
    const nehrNo = JSON.stringify({ code: 401, message: 'Unauthorized: Access is denied due to invalid credentials.' });
    const old = await scriptedServer({ status: 401, body: nehrNo, delayMs: 300 });
    const s = await startStack(
      upstreamEnv(old.url, {
        TESSERA_UPSTREAM_CONCURRENCY: '2',
        TESSERA_UPSTREAM_BREAKER_VOLUME: '3',
        TESSERA_UPSTREAM_BREAKER_COOLDOWN_MS: '60000',
      }),
      { seed: false },
    );
    try {
      // 12 at once: 2 reach the old system (bad credentials), 10 are kept back; none is a failure
      const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => LOGIN.nehr(s, `burst${i}`, 'pw')));
      expect(burst.filter((a) => a.status === 401)).toHaveLength(2);
      expect(burst.filter((a) => a.status === 503)).toHaveLength(10);
      // a WAF's HTML 403 for an odd password, five times: refusals, not a sick old system
      old.answer.status = 403;
      old.answer.body = '<html><body>Request blocked</body></html>';
      old.answer.delayMs = 0;
      for (let i = 0; i < 5; i++) expect((await LOGIN.nehr(s, `waf${i}`, '<script>')).status).toBe(503);
      // the circuit is still closed: the next login is sent, and answered
      old.answer.status = 401;
      old.answer.body = nehrNo;
      const before = old.requests();
      expect((await LOGIN.nehr(s, 'after.burst', 'pw')).status).toBe(401);
      expect(old.requests()).toBe(before + 1);
    } finally {
      await s.close();
      old.close();
    }
  });

  it('an old system that accepts and never answers: unavailable after the timeout; the circuit then opens and stops calling it', async () => {
    const silent = await silentServer();
    const s = await startStack(
      upstreamEnv(silent.url, {
        TESSERA_UPSTREAM_TIMEOUT_MS: '300',
        TESSERA_UPSTREAM_BREAKER_VOLUME: '3',
        TESSERA_UPSTREAM_BREAKER_COOLDOWN_MS: '60000',
      }),
      { seed: false },
    );
    try {
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        expect((await LOGIN.nehr(s, 'slow.user', 'pw')).status).toBe(503);
        expect(performance.now() - started).toBeGreaterThanOrEqual(250);
      }
      expect(silent.requests()).toBe(3);
      // open now: further logins are answered without calling the old system at all
      for (let i = 0; i < 5; i++) expect((await LOGIN.nehr(s, 'slow.user', 'pw')).status).toBe(503);
      expect(silent.requests()).toBe(3);
      // the timed-out attempts were sent, so they count against the identifier (3 of 5); the
      // ones the open circuit kept back do not, or the 6th would have locked it
      expect(await s.redis.hget(lockOf(s, 'slow.user'), 'fails')).toBe('3');
      const failed = (await outbox(s)).filter((e) => e.type === 'login.failed');
      expect(failed.map((e) => e.outcome)).toStrictEqual(Array(8).fill('unavailable'));
    } finally {
      await s.close();
      silent.close();
    }
  });
});
