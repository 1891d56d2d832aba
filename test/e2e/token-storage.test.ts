import { decodeRecord, entryHash } from '@tessera/store';
import { aroundAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORDS, HEX128, JWT, ROUTES, type RouteName, UUID_V4 } from '../support/demo.ts';
import { jsonOf, jwtPayload, postJson, tokenName } from '../support/http.ts';
import { keysMatching, RUNTIMES, type Stack, startStack } from '../support/stack.ts';

interface Lifetimes {
  readonly ministryAccess: number;
  readonly ministryRefresh: number;
  readonly jwtAccess: number;
  readonly jwtRefresh: number;
  readonly peb: number;
}

const DEFAULTS: Lifetimes = { ministryAccess: 86_400, ministryRefresh: 2_592_000, jwtAccess: 300, jwtRefresh: 86_400, peb: 2_592_000 };
const CUSTOM: Lifetimes = { ministryAccess: 120, ministryRefresh: 600, jwtAccess: 60, jwtRefresh: 900, peb: 3600 };
const CUSTOM_ENV = {
  TESSERA_MINISTRY_ACCESS_LIFETIME: '120',
  TESSERA_MINISTRY_REFRESH_LIFETIME: '600',
  TESSERA_JWT_ACCESS_LIFETIME: '60',
  TESSERA_JWT_REFRESH_LIFETIME: '900',
  TESSERA_PEB_LIFETIME: '3600',
};

interface Issued {
  readonly value: string;
  readonly kind: 'access' | 'refresh';
  readonly format: 'uuid' | 'jwt' | 'hex128';
  readonly lifetime: number;
}

interface Login {
  readonly dialect: RouteName;
  readonly username: string;
  readonly tokens: Issued[];
  /** What the response says about expiry (expires_in, exp claims, valid_till_unix). */
  readonly body: Record<string, unknown>;
}

/** Logs in on one route with the demo user of its document and returns the tokens it issued. */
async function login(stack: Stack, dialect: RouteName, lifetimes: Lifetimes, path: string = ROUTES[dialect].path): Promise<Login> {
  const reply = await postJson(stack.base, path, ROUTES[dialect].creds);
  expect(reply.status).toBe(200);
  const body = jsonOf(reply) as Record<string, unknown>;
  switch (dialect) {
    case 'moh':
    case 'nehr': {
      expect(body.code).toBe(0);
      const r = body.result as { access_token: string; refresh_token: string };
      expect(r.access_token).toMatch(UUID_V4);
      expect(r.refresh_token).toMatch(UUID_V4);
      return {
        dialect,
        username: 'MOH-90008',
        body,
        tokens: [
          { value: r.access_token, kind: 'access', format: 'uuid', lifetime: lifetimes.ministryAccess },
          { value: r.refresh_token, kind: 'refresh', format: 'uuid', lifetime: lifetimes.ministryRefresh },
        ],
      };
    }
    case 'simplejwt': {
      const b = body as { access: string; refresh: string };
      expect(b.access).toMatch(JWT);
      expect(b.refresh).toMatch(JWT);
      return {
        dialect,
        username: 'sampleUser',
        body,
        tokens: [
          { value: b.access, kind: 'access', format: 'jwt', lifetime: lifetimes.jwtAccess },
          { value: b.refresh, kind: 'refresh', format: 'jwt', lifetime: lifetimes.jwtRefresh },
        ],
      };
    }
    case 'peb': {
      expect(body.status).toBe(200);
      expect(body.token).toMatch(HEX128);
      return {
        dialect,
        username: 'someone',
        body,
        tokens: [{ value: body.token as string, kind: 'access', format: 'hex128', lifetime: lifetimes.peb }],
      };
    }
  }
}

/** Asserts the key name, TTL and record of every token of one login; returns the records. */
async function expectStored(stack: Stack, l: Login): Promise<Record<string, unknown>[]> {
  const user = await stack.users.get(l.username);
  expect(user).not.toBeNull();
  const records: Record<string, unknown>[] = [];
  for (const t of l.tokens) {
    const key = `${stack.settings.redisPrefix}t:{${tokenName(t.value)}}`;
    expect(stack.tokens.keyOf(t.value)).toBe(key);
    const [pttl, ttl, raw] = await Promise.all([stack.redis.pttl(key), stack.redis.ttl(key), stack.redis.get(key)]);
    // The key lives exactly as long as the token: never longer, and at most 2 s less.
    expect(pttl).toBeLessThanOrEqual(t.lifetime * 1000);
    expect(pttl).toBeGreaterThanOrEqual(t.lifetime * 1000 - 2000);
    expect(ttl).toBeLessThanOrEqual(t.lifetime);
    expect(ttl).toBeGreaterThanOrEqual(t.lifetime - 2);
    expect(raw).not.toBeNull();
    const record = decodeRecord(raw as string) as unknown as Record<string, unknown>;
    const nowS = Math.floor(Date.now() / 1000);
    expect(record.iat).toBeGreaterThanOrEqual(nowS - 5);
    expect(record.iat).toBeLessThanOrEqual(nowS);
    expect(record).toStrictEqual({
      kind: t.kind,
      format: t.format,
      dialect: l.dialect,
      userId: user?.id,
      username: l.username,
      scopes: ['', 'read', 'write'],
      iat: record.iat,
      exp: (record.iat as number) + t.lifetime,
      family: expect.stringMatching(UUID_V4),
      ...(t.format === 'jwt' ? { jti: jwtPayload(t.value).jti } : {}),
    });
    records.push(record);
  }
  // Every token of one login shares one family.
  expect(new Set(records.map((r) => r.family)).size).toBe(1);
  return records;
}

/** Asserts what the response itself says about expiry matches the stored record. */
function expectAdvertisedExpiry(l: Login, records: Record<string, unknown>[], lifetimes: Lifetimes): void {
  switch (l.dialect) {
    case 'moh':
    case 'nehr':
      expect((l.body.result as { expires_in: number }).expires_in).toBe(lifetimes.ministryAccess - 1);
      return;
    case 'simplejwt':
      l.tokens.forEach((t, i) => {
        const p = jwtPayload(t.value);
        expect(p.token_type).toBe(t.kind);
        expect(p.exp).toBe(records[i]?.exp);
        expect(p.iat).toBe(records[i]?.iat);
        expect((p.exp as number) - (p.iat as number)).toBe(t.lifetime);
      });
      return;
    case 'peb':
      expect(l.body.valid_till_unix).toBe(records[0]?.exp);
      expect(l.body.valid_till).toBe(new Date((records[0]?.exp as number) * 1000).toISOString().slice(0, 19));
      return;
  }
}

/** Every key under the prefix, with its type and every string it holds. */
async function dumpPrefix(stack: Stack): Promise<{ key: string; type: string; strings: string[] }[]> {
  const r = stack.redis;
  const out: { key: string; type: string; strings: string[] }[] = [];
  for (const key of await keysMatching(r, `${stack.settings.redisPrefix}*`)) {
    const type = await r.type(key);
    let strings: string[];
    switch (type) {
      case 'string':
        strings = [(await r.get(key)) ?? ''];
        break;
      case 'hash':
        strings = Object.entries(await r.hgetall(key)).flat();
        break;
      case 'set':
        strings = await r.smembers(key);
        break;
      case 'list':
        strings = await r.lrange(key, 0, -1);
        break;
      case 'stream':
        strings = (await r.xrange(key, '-', '+')).flatMap(([, fields]) => fields);
        break;
      case 'zset':
        strings = await r.zrange(key, 0, -1);
        break;
      default:
        strings = [`<unreadable type ${type}>`];
    }
    out.push({ key, type, strings });
  }
  return out;
}

function defineStorageSuite(title: string, env: Record<string, string>, lifetimes: Lifetimes): void {
  describe.each(RUNTIMES)(`${title} on %s`, (runtime) => {
    let stack: Stack;
    aroundAll(async (runSuite) => {
      await using started = await startStack(env, { runtime });
      stack = started;
      await runSuite();
    });

    it.each([
      ['moh', ROUTES.moh.path],
      ['nehr', ROUTES.nehr.path],
      ['simplejwt', '/api/token'],
      ['simplejwt', '/api/token/'],
      ['peb', ROUTES.peb.path],
    ] as const)('%s (%s): every token is stored under <prefix>t:{tokenHash} with TTL = lifetime', async (dialect, path) => {
      const l = await login(stack, dialect, lifetimes, path);
      const records = await expectStored(stack, l);
      expectAdvertisedExpiry(l, records, lifetimes);
    });

    it('two logins issue distinct tokens, each stored under its own key', async () => {
      const a = await login(stack, 'moh', lifetimes);
      const b = await login(stack, 'moh', lifetimes);
      const values = [...a.tokens, ...b.tokens].map((t) => t.value);
      expect(new Set(values).size).toBe(4);
      const ra = await expectStored(stack, a);
      const rb = await expectStored(stack, b);
      expect(ra[0]?.family).not.toBe(rb[0]?.family);
    });
  });
}

defineStorageSuite('token storage with default lifetimes', {}, DEFAULTS);
defineStorageSuite('token storage with lifetimes from the environment', CUSTOM_ENV, CUSTOM);

describe.each(RUNTIMES)('a copy of the Redis data holds no usable token on %s', (runtime) => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack({}, { runtime });
    stack = started;
    await runSuite();
  });

  it('no key or value under the prefix contains a raw token or a password', async () => {
    const logins = [
      await login(stack, 'moh', DEFAULTS),
      await login(stack, 'nehr', DEFAULTS),
      await login(stack, 'simplejwt', DEFAULTS),
      await login(stack, 'peb', DEFAULTS),
      await login(stack, 'peb', DEFAULTS),
    ];
    // PEB by username too, so both demo users of document 003 have logged in.
    const byName = await postJson(stack.base, '/v1/login', { username: 'someone.example', password: 'Some3xtraLong4nd5afe9assword4gain' });
    const extra = (jsonOf(byName) as { token: string }).token;
    expect(extra).toMatch(HEX128);

    const tokens = [...logins.flatMap((l) => l.tokens.map((t) => t.value)), extra];
    expect(tokens).toHaveLength(9);
    // The secret part of a JWT is its signature: it must not be stored either.
    const jwtSignatures = logins.flatMap((l) => l.tokens.filter((t) => t.format === 'jwt').map((t) => t.value.split('.')[2] as string));
    expect(jwtSignatures).toHaveLength(2);
    const secrets = [...tokens, ...jwtSignatures, ...DEMO_PASSWORDS];

    const dump = await dumpPrefix(stack);
    const p = stack.settings.redisPrefix;
    // Exactly one token key per issued token, named by its hash; an "expired" memory per PEB token,
    // also by hash; per user one index of its login families and their tokens' hashes; nothing else
    // outside the account shards ({s<k>.<n>}: users, their email and id entries, locks, outboxes),
    // the id sequence and the rate counters.
    const keysOf = (tag: string) => dump.filter((d) => d.key.startsWith(`${p}${tag}:`)).map((d) => d.key);
    expect(keysOf('t').sort()).toStrictEqual(tokens.map((t) => `${p}t:{${tokenName(t)}}`).sort());
    expect(keysOf('x').sort()).toStrictEqual(
      tokens
        .filter((t) => HEX128.test(t))
        .map((t) => `${p}x:{${tokenName(t)}}`)
        .sort(),
    );
    expect(keysOf('ti').sort()).toStrictEqual([`${p}ti:{u1}`, `${p}ti:{u2}`, `${p}ti:{u3}`, `${p}ti:{u4}`]);
    // a user's index holds its families (score above 2^20), one per login, and their tokens
    // (seq, expiry, kind, hash) after the alias counter '#'
    const index = dump.filter((d) => d.key.startsWith(`${p}ti:`));
    const entries = await Promise.all(index.map((d) => stack.redis.zrange(d.key, '-inf', '+inf', 'BYSCORE', 'WITHSCORES')));
    const of = (pick: (score: number) => boolean) =>
      entries.flatMap((flat) => flat.filter((_, i) => i % 2 === 0 && pick(Number(flat[i + 1]))));
    expect(of((score) => score > 2 ** 20)).toHaveLength(6);
    // the families name every token by its hash
    const indexed = of((score) => score > 0 && score < 2 ** 20).map(entryHash);
    expect(indexed.sort()).toStrictEqual(tokens.map(tokenName).sort());
    const known = new Set([
      ...keysOf('t'),
      ...keysOf('x'),
      ...keysOf('ti'),
      ...dump.filter((d) => /^\{s\d+\.\d+\}:/.test(d.key.slice(p.length))).map((d) => d.key),
      `${p}{ids}:seq`,
      // the address's rate counter, its own slot
      ...keysOf('rl'),
    ]);
    expect(dump.filter((d) => !known.has(d.key)).map((d) => d.key)).toStrictEqual([]);
    // the outbox stream holds the attempts' events, which carry neither tokens nor passwords (checked below)
    expect(new Set(dump.map((d) => d.type))).toStrictEqual(new Set(['string', 'hash', 'zset', 'stream']));
    expect(dump.filter((d) => d.key.endsWith('}:outbox')).flatMap((d) => d.strings).length).toBeGreaterThan(0);
    for (const d of dump) {
      for (const s of secrets) {
        expect(d.key.includes(s), `key ${d.key} contains a secret`).toBe(false);
        for (const v of d.strings) expect(v.includes(s), `value of ${d.key} contains a secret`).toBe(false);
      }
    }
    // Password hashes are argon2id PHC strings, never the password.
    const hashes = dump.filter((d) => /^\{s\d+\.\d+\}:u:/.test(d.key.slice(p.length))).map((d) => d.strings[d.strings.indexOf('hash') + 1]);
    expect(hashes).toHaveLength(4);
    for (const h of hashes) expect(h).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
  });
});
