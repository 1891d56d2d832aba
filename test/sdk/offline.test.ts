import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createConnection, createServer as createTcpServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  bearerAuthenticator,
  createIntrospector,
  createOfflineVerifier,
  type Introspector,
  nodeHttpBearer,
  type OfflineVerdict,
  type OfflineVerifier,
  type OfflineVerifierOptions,
  type RevocationSource,
} from '@tessera/client';
import { redisRevocations } from '@tessera/client/redis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { call, claims, jwtLogin, ministryLogin } from '../lifecycle/support.ts';
import { startRedisServer } from '../support/redis-source.ts';
import { type Stack, startStack } from '../support/stack.ts';

type Alg = 'RS256' | 'ES256' | 'EdDSA';

/** A key pair of the algorithm, from node:crypto (not the code under test). */
function keyPair(alg: Alg): { privateKey: KeyObject; publicKey: KeyObject; privatePem: string; publicPem: string } {
  const { privateKey, publicKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  return {
    privateKey,
    publicKey,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

/** A JWT of any header and payload, signed by `signer` over its first two parts (an attacker's or another issuer's). */
function forge(header: object, payload: object, signer: (input: Buffer) => Buffer): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${part(header)}.${part(payload)}`;
  return `${input}.${signer(Buffer.from(input)).toString('base64url')}`;
}

/** node:crypto's signature for a JWS algorithm. */
const signerOf = (alg: Alg, key: KeyObject) => (input: Buffer) =>
  alg === 'RS256'
    ? sign('sha256', input, key)
    : alg === 'ES256'
      ? sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' })
      : sign(null, input, key);

function header(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[0] as string, 'base64url').toString('utf8'));
}

/** Until a token issued now would carry an `iat` the verifier trusts (iat is in whole seconds). */
async function untilTrusted(verifier: OfflineVerifier): Promise<void> {
  await sleep(Math.max(0, Math.ceil(verifier.trustedFrom / 1000) * 1000 - Date.now() + 10));
}

/** Polls the verifier until `done` holds; returns how long that took (ms), Infinity past the limit. */
async function until(check: () => Promise<OfflineVerdict>, done: (v: OfflineVerdict) => boolean, limitMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    if (done(await check())) return performance.now() - started;
    await sleep(2);
  }
  return Number.POSITIVE_INFINITY;
}

const ISSUER = 'https://login.example';
const AUDIENCE = 'orders';

/** A stack signing with `alg`, SimpleJWT's ISSUER and AUDIENCE set and the user id claim renamed. */
function algorithmStack(
  alg: Alg,
  privatePem: string,
  options: { prefix?: string; seed?: boolean; env?: Record<string, string> } = {},
): Promise<Stack> {
  const { env, ...startOptions } = options;
  return startStack(
    {
      ...env,
      TESSERA_JWT_ALGORITHM: alg,
      TESSERA_JWT_SIGNING_KEY: privatePem.replaceAll('\n', '\\n'),
      TESSERA_JWT_ISSUER: ISSUER,
      TESSERA_JWT_AUDIENCE: AUDIENCE,
      TESSERA_JWT_USER_ID_CLAIM: 'uid',
    },
    startOptions,
  );
}

describe.each(['RS256', 'ES256', 'EdDSA'] as const)('@tessera/client offline check of %s tokens against a running Tessera', (alg) => {
  const pair = keyPair(alg);
  let stack: Stack;
  let revocations: RevocationSource;
  let verifier: OfflineVerifier;
  let client: { id: string; secret: string };
  const open: OfflineVerifier[] = [];
  const make = (extra: Partial<OfflineVerifierOptions> = {}) => {
    const v = createOfflineVerifier({
      baseUrl: stack.base,
      revocations,
      audience: AUDIENCE,
      issuer: ISSUER,
      claims: { userId: 'uid' },
      ...extra,
    });
    open.push(v);
    return v;
  };
  const basic = () => `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;

  beforeAll(async () => {
    stack = await algorithmStack(alg, pair.privatePem);
    client = { id: 'offline-tests', secret: await stack.clients.add('offline-tests') };
    revocations = await redisRevocations({ url: inject('redisUrl'), prefix: stack.settings.redisPrefix });
    verifier = make();
    await untilTrusted(verifier);
  });
  afterEach(() => {
    for (const v of open.splice(1)) v.close();
  });
  afterAll(async () => {
    verifier.close();
    await revocations.close();
    await stack.close();
  });

  it('accepts a live access token offline, with the claims introspection gives (but username and scope)', async () => {
    const { access } = await jwtLogin(stack);
    const checked = await verifier.verify(access);
    expect(checked.verdict).toBe('active');
    const introspected = await stack.post('/oauth/introspect', new URLSearchParams({ token: access }), { authorization: basic() });
    const { username: _u, scope: _s, ...rest } = (await introspected.json()) as Record<string, unknown>;
    expect(checked).toMatchObject({ token: rest, claims: { uid: claims(access).uid, aud: AUDIENCE, iss: ISSUER } });
    // one JWKS fetch for everything so far
    expect(verifier.stats.jwksFetches).toBe(1);
  });

  it('refuses an expired token, another audience or issuer, a refresh token as a bearer token, and a changed payload', async () => {
    const { access, refresh } = await jwtLogin(stack);
    // 301 s later, past ACCESS_TOKEN_LIFETIME (300 s): expired, unless the leeway covers it
    const later = () => Date.now() + 301_000;
    expect(await make({ now: later }).verify(access)).toStrictEqual({ verdict: 'inactive', reason: 'expired' });
    expect(await make({ now: later, leeway: 5 }).verify(access)).not.toMatchObject({ reason: 'expired' });
    expect(await make({ audience: 'billing' }).verify(access)).toStrictEqual({ verdict: 'inactive', reason: 'claims' });
    expect(await make({ issuer: 'https://other.example' }).verify(access)).toStrictEqual({ verdict: 'inactive', reason: 'claims' });
    expect(await verifier.verify(refresh)).toStrictEqual({ verdict: 'inactive', reason: 'token_type' });
    expect((await make({ tokenTypes: ['refresh'] }).verify(refresh)).verdict).not.toBe('inactive');
    // a sliding token is a bearer credential, as introspection says (token_type access_token)
    const sliding = (await call(stack, '/api/token/sliding/', { username: 'sampleUser', password: 'userpassword123' })).body
      .token as string;
    expect((await verifier.verify(sliding)).verdict).toBe('active');
    const [h, , s] = access.split('.') as [string, string, string];
    const billing = Buffer.from(JSON.stringify({ ...claims(access), aud: 'billing' })).toString('base64url');
    expect(await verifier.verify(`${h}.${billing}.${s}`)).toStrictEqual({ verdict: 'inactive', reason: 'signature' });
  });

  it('refuses alg confusion: the public key as an HS256 secret, alg none, another algorithm under the key', async () => {
    const { access } = await jwtLogin(stack);
    const { kid } = header(access);
    const payload = claims(access);
    const confused = [
      // the classic: the published public key used as the HMAC secret
      forge({ alg: 'HS256', kid, typ: 'JWT' }, payload, (input) => createHmac('sha256', pair.publicPem).update(input).digest()),
      forge({ alg: 'none', kid, typ: 'JWT' }, payload, () => Buffer.alloc(0)),
      forge({ alg: 'none', typ: 'JWT' }, payload, () => Buffer.alloc(0)),
      // the right key and signature, a header naming another algorithm
      `${Buffer.from(JSON.stringify({ alg: alg === 'RS256' ? 'RS384' : 'RS256', kid, typ: 'JWT' })).toString('base64url')}.${access.split('.').slice(1).join('.')}`,
    ];
    for (const token of confused) expect(await verifier.verify(token)).toStrictEqual({ verdict: 'inactive', reason: 'algorithm' });
  });

  it('refuses a token whose kid the JWKS lacks after one refetch, and refetches at most once per 30 s', async () => {
    const { access } = await jwtLogin(stack);
    const other = keyPair(alg);
    const strangers = ['k1', 'k2'].map((kid) => forge({ alg, kid, typ: 'JWT' }, claims(access), signerOf(alg, other.privateKey)));
    const fresh = make();
    await untilTrusted(fresh);
    expect(await fresh.verify(strangers[0] as string)).toStrictEqual({ verdict: 'inactive', reason: 'unknown_kid' });
    expect(fresh.stats.jwksFetches).toBe(2);
    expect(await fresh.verify(strangers[1] as string)).toStrictEqual({ verdict: 'inactive', reason: 'unknown_kid' });
    expect(fresh.stats.jwksFetches).toBe(2);
    // a token signed by the other key under Tessera's own kid fails its signature
    const impostor = forge({ alg, kid: header(access).kid, typ: 'JWT' }, claims(access), signerOf(alg, other.privateKey));
    expect(await fresh.verify(impostor)).toStrictEqual({ verdict: 'inactive', reason: 'signature' });
  });

  it('refuses a token revoked through Tessera within 250 ms, offline (pushed, not polled)', async () => {
    const a = await jwtLogin(stack);
    expect((await verifier.verify(a.access)).verdict).toBe('active');
    const revoked = await stack.post('/oauth/revoke', new URLSearchParams({ token: a.access }), { authorization: basic() });
    expect(revoked.status).toBe(200);
    const isRevoked = (v: OfflineVerdict) => v.verdict === 'inactive' && v.reason === 'revoked';
    expect(await until(() => verifier.verify(a.access), isRevoked, 1000)).toBeLessThanOrEqual(250);
    // user-wide (tessera tokens revoke --user), and a blacklisted refresh token (SimpleJWT's blacklist view)
    const b = await jwtLogin(stack);
    const refreshes = make({ tokenTypes: ['refresh'] });
    await untilTrusted(refreshes);
    const c = await jwtLogin(stack);
    expect((await refreshes.verify(c.refresh)).verdict).toBe('active');
    expect((await call(stack, '/api/token/blacklist/', { refresh: c.refresh })).status).toBe(200);
    expect(await until(() => refreshes.verify(c.refresh), isRevoked, 1000)).toBeLessThanOrEqual(250);
    expect((await verifier.verify(b.access)).verdict).toBe('active');
    await stack.tokens.revokeUser(claims(b.access).uid as number, 'admin');
    expect(await until(() => verifier.verify(b.access), isRevoked, 1000)).toBeLessThanOrEqual(250);
  });

  it('asks Tessera when it cannot know: an opaque token, a token issued before it listened, the push down', async () => {
    const { access: opaque } = await ministryLogin(stack);
    expect(await verifier.verify(opaque)).toStrictEqual({ verdict: 'ask', reason: 'not_jwt' });
    const { access } = await jwtLogin(stack);
    expect(await make().verify(access)).toStrictEqual({ verdict: 'ask', reason: 'issued_before_push' });
    const source = await redisRevocations({ url: inject('redisUrl'), prefix: stack.settings.redisPrefix });
    const own = make({ revocations: source });
    await untilTrusted(own);
    const later = await jwtLogin(stack);
    expect((await own.verify(later.access)).verdict).toBe('active');
    await source.close();
    expect(await own.verify(later.access)).toStrictEqual({ verdict: 'ask', reason: 'push_down' });
    // a closed verifier hears no revocation any more
    const closing = make();
    await untilTrusted(closing);
    const last = await jwtLogin(stack);
    expect((await closing.verify(last.access)).verdict).toBe('active');
    closing.close();
    expect(await closing.verify(last.access)).toStrictEqual({ verdict: 'ask', reason: 'push_down' });
  });

  describe('in the bearer middleware', () => {
    let server: Server;
    let url: string;
    let introspector: Introspector;

    beforeAll(async () => {
      introspector = createIntrospector({ baseUrl: stack.base, clientId: client.id, clientSecret: client.secret, revocations });
      server = createHttpServer(
        nodeHttpBearer(
          introspector,
          (_req, res, token) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ sub: token.sub, username: token.username ?? null }));
          },
          { offline: verifier },
        ),
      );
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(async () => {
      server.close();
      await introspector.close();
    });
    const get = (token: string) => fetch(url, { headers: { authorization: `Bearer ${token}` } });

    it('accepts and refuses SimpleJWT tokens without asking Tessera, and introspects opaque ones', async () => {
      const { access } = await jwtLogin(stack);
      const calls = introspector.stats.calls;
      const ok = await get(access);
      expect([ok.status, await ok.json()]).toStrictEqual([200, { sub: String(claims(access).uid), username: null }]);
      const confused = forge({ alg: 'HS256', kid: header(access).kid, typ: 'JWT' }, claims(access), (input) =>
        createHmac('sha256', pair.publicPem).update(input).digest(),
      );
      expect((await get(confused)).status).toBe(401);
      await stack.tokens.revoke(access, 'admin');
      await sleep(100);
      expect((await get(access)).status).toBe(401);
      expect(introspector.stats.calls).toBe(calls);
      // a ministry token is not a JWT: introspected
      const { access: opaque } = await ministryLogin(stack);
      const introspected = await get(opaque);
      expect([introspected.status, ((await introspected.json()) as { username: string }).username]).toStrictEqual([200, 'MOH-90008']);
      expect(introspector.stats.calls).toBe(calls + 1);
    });
  });
});

describe('@tessera/client offline check on an HS256 Tessera', () => {
  let stack: Stack;
  let revocations: RevocationSource;

  beforeAll(async () => {
    stack = await startStack();
    revocations = await redisRevocations({ url: inject('redisUrl'), prefix: stack.settings.redisPrefix });
  });
  afterAll(async () => {
    await revocations.close();
    await stack.close();
  });

  it('cannot verify HS256 tokens from the JWKS (the secret is never published): the bearer introspects them', async () => {
    const verifier = createOfflineVerifier({ baseUrl: stack.base, revocations });
    const secret = await stack.clients.add('hs-service');
    const introspector = createIntrospector({ baseUrl: stack.base, clientId: 'hs-service', clientSecret: secret, revocations });
    const { access } = await jwtLogin(stack);
    expect(await verifier.verify(access)).toStrictEqual({ verdict: 'ask', reason: 'hmac' });
    // nor one that names a kid: no JWKS refetch for it
    const named = forge({ alg: 'HS256', kid: 'k', typ: 'JWT' }, claims(access), () => Buffer.alloc(32));
    expect(await verifier.verify(named)).toStrictEqual({ verdict: 'ask', reason: 'hmac' });
    expect(verifier.stats.jwksFetches).toBe(1);
    const authenticate = bearerAuthenticator(introspector, { offline: verifier });
    expect(await authenticate(`Bearer ${access}`)).toMatchObject({ ok: true, token: { active: true, username: 'sampleUser' } });
    expect(introspector.stats.calls).toBe(1);
    verifier.close();
    await introspector.close();
  });
});

describe('@tessera/client offline check across a key rotation', () => {
  const first = keyPair('RS256');
  const second = keyPair('RS256');
  let a: Stack;
  let b: Stack;
  let revocations: RevocationSource;
  let relay: Server;
  let relayUrl: string;
  /** What the JWKS relay serves: the keys of these stacks, and how many times it was asked. */
  const served = { stacks: [] as Stack[], requests: 0 };

  beforeAll(async () => {
    a = await algorithmStack('RS256', first.privatePem);
    // a second ingress of the same deployment (same Redis prefix) signing with the next key
    b = await algorithmStack('RS256', second.privatePem, { prefix: a.settings.redisPrefix, seed: false });
    revocations = await redisRevocations({ url: inject('redisUrl'), prefix: a.settings.redisPrefix });
    // The JWKS as a rotation publishes it, from the ingresses' own: a real HTTP server on loopback
    relay = createHttpServer(async (_req, res) => {
      served.requests++;
      const sets = await Promise.all(
        served.stacks.map(async (s) => ((await (await fetch(`${s.base}/.well-known/jwks.json`)).json()) as { keys: unknown[] }).keys),
      );
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=60' });
      res.end(JSON.stringify({ keys: sets.flat() }));
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    relayUrl = `http://127.0.0.1:${(relay.address() as { port: number }).port}/jwks.json`;
  });
  afterAll(async () => {
    relay.close();
    await revocations.close();
    await b.close();
    await a.close();
  });

  it('refetches the JWKS on a new kid and accepts its tokens; drops a retired key after max-age', async () => {
    served.stacks = [a];
    let skew = 0;
    const verifier = createOfflineVerifier({
      jwksUrl: relayUrl,
      revocations,
      audience: AUDIENCE,
      issuer: ISSUER,
      claims: { userId: 'uid' },
      now: () => Date.now() + skew,
    });
    await untilTrusted(verifier);
    const old = await jwtLogin(a);
    expect((await verifier.verify(old.access)).verdict).toBe('active');
    expect(served.requests).toBe(1);
    // the next key is published, then signs
    served.stacks = [a, b];
    const next = await jwtLogin(b);
    expect(header(next.access).kid).not.toBe(header(old.access).kid);
    expect((await verifier.verify(next.access)).verdict).toBe('active');
    expect(served.requests).toBe(2);
    expect((await verifier.verify(old.access)).verdict).toBe('active');
    // the old key retired: gone from the JWKS, and from the verifier once the max-age (60 s) has passed
    served.stacks = [b];
    expect((await verifier.verify(old.access)).verdict).toBe('active');
    skew = 61_000;
    expect(await verifier.verify(old.access)).toStrictEqual({ verdict: 'inactive', reason: 'unknown_kid' });
    expect((await verifier.verify(next.access)).verdict).toBe('active');
    expect(served.requests).toBe(3);
    verifier.close();
  });
});

describe('@tessera/client revocation push through a connection that goes silent', () => {
  const pair = keyPair('EdDSA');
  let stack: Stack;
  let proxy: ReturnType<typeof createTcpServer>;
  const sockets = new Set<Socket>();
  /** While frozen, bytes wait in the relay (as in a frozen peer's socket buffers) and flow on when it thaws. */
  let frozen = false;
  const held: (() => void)[] = [];
  const thaw = () => {
    frozen = false;
    for (const flush of held.splice(0)) flush();
  };
  let proxyUrl: string;
  let redis: Awaited<ReturnType<typeof startRedisServer>>;

  beforeAll(async () => {
    // A private redis-server whatever the run's Redis: a cluster client would bypass the relay for
    // the node addresses the cluster names.
    redis = await startRedisServer();
    stack = await algorithmStack('EdDSA', pair.privatePem, { env: { REDIS_URL: redis.url } });
    const target = new URL(redis.url);
    // A TCP relay to Redis that can go silent without closing (a half-open connection, a frozen Redis)
    proxy = createTcpServer((inbound) => {
      const outbound = createConnection(Number(target.port), target.hostname);
      for (const [from, to] of [
        [inbound, outbound],
        [outbound, inbound],
      ] as const) {
        sockets.add(from);
        from.on('data', (chunk) => {
          if (frozen) held.push(() => to.write(chunk));
          else to.write(chunk);
        });
        from.on('error', () => {});
        from.on('close', () => to.destroy());
      }
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyUrl = `redis://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    proxy.close();
    for (const s of sockets) s.destroy();
    await stack.close();
    await redis.stop();
  });

  it('counts as down within its heartbeat, and after it is back asks Tessera about tokens issued before', async () => {
    const source = await redisRevocations({ url: proxyUrl, prefix: stack.settings.redisPrefix, heartbeatMs: 200 });
    const verifier = createOfflineVerifier({
      baseUrl: stack.base,
      revocations: source,
      audience: AUDIENCE,
      issuer: ISSUER,
      claims: { userId: 'uid' },
    });
    await untilTrusted(verifier);
    const { access } = await jwtLogin(stack);
    expect((await verifier.verify(access)).verdict).toBe('active');
    // silence: every connection through the relay stops carrying bytes, none is closed
    frozen = true;
    const pushDown = (v: OfflineVerdict) => v.verdict === 'ask' && v.reason === 'push_down';
    expect(await until(() => verifier.verify(access), pushDown, 3000)).toBeLessThanOrEqual(1000);
    // a revocation published now is lost on the silent connection
    await stack.tokens.revoke(access, 'admin');
    thaw();
    // the source reconnects (a new connection through the relay): the lost revocation's token is asked of Tessera
    const backAsking = (v: OfflineVerdict) => v.verdict === 'ask' && v.reason === 'issued_before_push';
    expect(await until(() => verifier.verify(access), backAsking, 5000)).toBeLessThan(5000);
    expect(source.connected).toBe(true);
    verifier.close();
    await source.close();
  }, 20_000);
});

describe('@tessera/client offline check with a JWKS that hangs or answers garbage', () => {
  let revocations: RevocationSource;
  let server: Server;
  let base: string;
  const hanging = new Set<import('node:http').ServerResponse>();

  beforeAll(async () => {
    revocations = await redisRevocations({ url: inject('redisUrl'), prefix: `t${Date.now().toString(36)}:` });
    server = createHttpServer((req, res) => {
      if (req.url === '/hangs')
        hanging.add(res); // never answers
      else if (req.url === '/html') res.end('<html>not a JWKS</html>');
      else if (req.url === '/keyless') res.end(JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0', alg: 'HS256', kid: 'k' }] }));
      else res.writeHead(500).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    for (const res of hanging) res.destroy();
    server.close();
    await revocations.close();
  });

  it('asks Tessera rather than waiting or guessing, and takes no shared secret from a JWKS', async () => {
    const { privateKey } = keyPair('ES256');
    const token = forge(
      { alg: 'ES256', kid: 'k', typ: 'JWT' },
      { token_type: 'access', exp: 4e9, iat: 2e9, jti: 'j', user_id: 1 },
      signerOf('ES256', privateKey),
    );
    for (const path of ['/hangs', '/html', '/500']) {
      const verifier = createOfflineVerifier({ jwksUrl: `${base}${path}`, revocations, jwksTimeoutMs: 300 });
      const started = performance.now();
      expect(await verifier.verify(token)).toStrictEqual({ verdict: 'ask', reason: 'jwks_unavailable' });
      expect(performance.now() - started).toBeLessThan(2000);
      verifier.close();
    }
    // an `oct` key in the JWKS is no key: an HS256 token under its kid is asked of Tessera, not verified with it
    const verifier = createOfflineVerifier({ jwksUrl: `${base}/keyless`, revocations });
    const hs = forge({ alg: 'HS256', kid: 'k', typ: 'JWT' }, { token_type: 'access', exp: 4e9, iat: 2e9, jti: 'j', user_id: 1 }, (input) =>
      createHmac('sha256', 'secret').update(input).digest(),
    );
    expect(await verifier.verify(hs)).toStrictEqual({ verdict: 'ask', reason: 'hmac' });
    verifier.close();
  });
});
