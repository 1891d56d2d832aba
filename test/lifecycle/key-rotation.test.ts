import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tessera } from '../support/cli.ts';
import { type Stack, startStack, testPrefix } from '../support/stack.ts';
import { call, claims, jwtLogin } from './support.ts';

const KEK = randomBytes(32).toString('base64');
/** No `.tessera/kek` of a developer's `npm start` may stand in for TESSERA_KEK here. */
const STATE = mkdtempSync(join(tmpdir(), 'tessera-keys-'));

function header(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[0] as string, 'base64url').toString('utf8'));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const verified = async (stack: Stack, token: string) => (await call(stack, '/api/token/verify/', { token })).status === 200;

describe('tessera keys: rotation without a restart, on two ingress processes', () => {
  const prefix = testPrefix();
  const env = { TESSERA_KEK: KEK, TESSERA_STATE_DIR: STATE, TESSERA_JWKS_MAX_AGE_S: '0' };
  let a: Stack;
  let b: Stack;
  const keys = async (...args: string[]) => {
    const r = await tessera(['keys', ...args], prefix, '', env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout.trim().split('\n');
  };
  const jwksKids = async (stack: Stack) =>
    ((await (await fetch(`${stack.base}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);

  beforeAll(async () => {
    a = await startStack(env, { prefix });
    b = await startStack(env, { prefix, seed: false });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('adds a key that both processes publish at once and neither signs with until it is activated', async () => {
    const before = await jwtLogin(a);
    const out = await keys('add', '--algorithm', 'ES256');
    const kid = out.at(-1) as string;
    expect(kid).toMatch(/^[0-9a-z]{26}$/);
    for (const s of [a, b]) await until(`${kid} in the JWKS`, async () => ((await jwksKids(s)).includes(kid) ? true : undefined));
    expect(header((await jwtLogin(b)).access)).toStrictEqual({ alg: 'HS256', typ: 'JWT' });
    await keys('activate', kid);
    // pushed: the other process signs with it within seconds, no restart
    const rotated = await until('b signs with the new key', async () => {
      const t = await jwtLogin(b);
      return header(t.access).kid === kid ? t : undefined;
    });
    expect(header(rotated.access)).toStrictEqual({ alg: 'ES256', kid, typ: 'JWT' });
    // tokens of either key verify on either process; the old key's too
    for (const s of [a, b]) for (const t of [before.access, rotated.access, rotated.refresh]) expect(await verified(s, t)).toBe(true);
    const [row] = JSON.parse((await keys('list', '--json'))[0] as string) as { kid: string; state: string; algorithm: string }[];
    expect([row?.kid, row?.algorithm, row?.state]).toStrictEqual([kid, 'ES256', 'signing']);
  });

  it('retires a key: its tokens verify until the given time, and not after; it leaves the JWKS', async () => {
    const first = (await keys('add', '--algorithm', 'EdDSA')).at(-1) as string;
    await keys('activate', first);
    const old = await until('a signs with the first key', async () => {
      const t = await jwtLogin(a);
      return header(t.access).kid === first ? t : undefined;
    });
    const second = (await keys('add', '--algorithm', 'RS256')).at(-1) as string;
    await keys('activate', second);
    await until('a signs with the second key', async () => (header((await jwtLogin(a)).access).kid === second ? true : undefined));
    const at = new Date(Date.now() + 1500).toISOString();
    expect((await keys('retire', first, '--at', at))[0]).toBe(`${first} retires at ${at}: its tokens verify until then`);
    await until('b knows of the retirement', async () => {
      const list = JSON.parse((await keys('list', '--json'))[0] as string) as { kid: string; state: string }[];
      return list.find((k) => k.kid === first)?.state === 'retiring' ? true : undefined;
    });
    expect(await verified(b, old.access)).toBe(true);
    await until('the first key retired on both', async () =>
      !(await verified(a, old.access)) && !(await verified(b, old.access)) ? true : undefined,
    );
    for (const s of [a, b]) expect(await jwksKids(s)).not.toContain(first);
    expect((await call(a, '/api/token/refresh/', { refresh: old.refresh })).body).toStrictEqual({
      detail: 'Token is invalid or expired',
      code: 'token_not_valid',
    });
  });

  it('refuses to retire the key that signs, and names an unknown key', async () => {
    const list = JSON.parse((await keys('list', '--json'))[0] as string) as { kid: string; state: string }[];
    const signing = list.find((k) => k.state === 'signing')?.kid as string;
    const r = await tessera(['keys', 'retire', signing], prefix, '', env);
    expect([r.code, r.stderr]).toStrictEqual([1, `tessera: ${signing} signs: activate another key first\n`]);
    const u = await tessera(['keys', 'activate', 'nokey'], prefix, '', env);
    expect([u.code, u.stderr]).toStrictEqual([1, 'tessera: no signing key nokey\n']);
  });

  it('keeps private keys sealed: nothing in Redis holds one in clear, and the CLI never prints one', async () => {
    const out = await keys('add', '--algorithm', 'HS256');
    expect(out.join('\n')).not.toMatch(/PRIVATE KEY|"sealed"/);
    const stored = await a.redis.hgetall(`${prefix}{keys}:jwt`);
    for (const text of Object.values(stored)) {
      const record = JSON.parse(text) as Record<string, unknown>;
      expect(Object.keys(record).sort()).toEqual(expect.arrayContaining(['alg', 'createdAt', 'kid', 'sealed']));
      expect(text).not.toMatch(/PRIVATE KEY|"d":/);
      expect((record.publicJwk as Record<string, unknown> | undefined)?.d).toBeUndefined();
    }
    const list = (await keys('list')).join('\n');
    expect(list).not.toMatch(/PRIVATE KEY|sealed/);
  });

  it('refuses to make a key without TESSERA_KEK, and an ingress whose KEK does not open the keys does not start', async () => {
    const r = await tessera(['keys', 'add'], prefix, '', { TESSERA_STATE_DIR: STATE });
    expect([r.code, r.stderr]).toStrictEqual([
      1,
      'tessera: TESSERA_KEK is not set: signing keys are stored sealed under it, never in clear\n',
    ]);
    await expect(startStack({ ...env, TESSERA_KEK: randomBytes(32).toString('hex') }, { prefix, seed: false })).rejects.toThrow(
      /does not open with TESSERA_KEK/,
    );
    await expect(startStack({ TESSERA_STATE_DIR: STATE }, { prefix, seed: false })).rejects.toThrow(/TESSERA_KEK is not set/);
  });
});

describe('a key is published before it signs', () => {
  it('signs only once it has been in the JWKS for TESSERA_JWKS_MAX_AGE_S', async () => {
    const prefix = testPrefix();
    const env = { TESSERA_KEK: KEK, TESSERA_STATE_DIR: STATE, TESSERA_JWKS_MAX_AGE_S: '2' };
    const stack = await startStack(env, { prefix });
    try {
      expect((await fetch(`${stack.base}/.well-known/jwks.json`)).headers.get('cache-control')).toBe('public, max-age=2');
      const add = await tessera(['keys', 'add', '--algorithm', 'ES384'], prefix, '', env);
      const kid = add.stdout.trim().split('\n').at(-1) as string;
      const activate = await tessera(['keys', 'activate', kid], prefix, '', env);
      const from = Date.parse(/signs from (\S+)/.exec(activate.stdout)?.[1] ?? '');
      expect(from).toBeGreaterThan(Date.now());
      // until then the key of the settings signs; from then, the new key, with no change pushed
      expect(header((await jwtLogin(stack)).access).kid).toBeUndefined();
      await new Promise((r) => setTimeout(r, Math.max(0, from - Date.now())));
      const t = await until(
        'the new key signs',
        async () => {
          const tokens = await jwtLogin(stack);
          return header(tokens.access).kid === kid ? tokens : undefined;
        },
        3000,
      );
      expect(claims(t.access).token_type).toBe('access');
    } finally {
      await stack.close();
    }
  });
});
