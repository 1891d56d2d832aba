/**
 * Every setting, declared once, grouped as `Settings` nests them: its variable, what it accepts,
 * its default and its meaning. The `Settings` type, the loader (index.ts, which adds the rules
 * between settings) and docs/settings.md's table (docs.ts) all come from SPEC. Its order is the
 * order of the problem lines and of the table: the variables that must be right first, then the
 * rest as `Settings` groups them.
 */
import { kekBytes, PROXY_HEADERS, parseCidr } from '@tessera/core';
import { bool, combined, httpUrl, int, intOrAuto, list, num, oneOf, type Reader, type SpecGroup, seconds, text } from './setting.ts';
import { JWT_CLAIMS, JWT_KEY } from './spec-jwt.ts';

const DAY = 86_400;
const LIFETIME = [1, 365 * DAY] as const;

const UPSTREAM_DIALECTS = ['moh', 'nehr', 'simplejwt', 'peb'] as const;
type UpstreamDialect = (typeof UPSTREAM_DIALECTS)[number];

/** Cores as the loader was told them, if it was (spec.ts's rules need a whole number from 1). */
function knownCpus(r: Reader): number | undefined {
  const cpus = r.options.cpus;
  return cpus !== undefined && Number.isInteger(cpus) && cpus >= 1 ? cpus : undefined;
}

/**
 * Ingress processes: TESSERA_INGRESS_PROCESSES, or with `auto` one per CPU core. On port 0 (tests)
 * `auto` is one, as it is where the cores are unknown (the CLI, the worker): the siblings share the
 * first process's port, and a number above one there is a problem.
 */
export function ingressProcesses(setting: number | 'auto', port: number, r: Reader): number {
  if (setting === 'auto') return port === 0 ? 1 : (knownCpus(r) ?? 1);
  if (setting > 1 && port === 0) r.problems.push('TESSERA_INGRESS_PROCESSES > 1 needs a fixed TESSERA_PORT (the processes share it)');
  return setting;
}

/**
 * argon2 verifications at once in one ingress process (`size`), and libuv's threads that run them
 * (`threads`). argon2 is CPU bound: beyond the cores a verification only adds its 19 MiB and
 * context switches, so by default each process verifies on its share of the cores (cores ÷
 * processes, rounded up, at least one): all the processes together on every core, not on cores ×
 * processes. The threads: UV_THREADPOOL_SIZE, else what the ingress's entry makes them before the
 * pool starts (bin/threadpool.cjs reads them here): one per verification and one beside them, so
 * JWT signing and files never queue behind a 19 MiB hash. Unknown cores: libuv's own 4 threads,
 * and as many verifications. TESSERA_ARGON2_CONCURRENCY above the threads is a problem: beyond
 * them verifications would queue unseen.
 */
export function verifyThreads(
  set: { readonly threads: number | undefined; readonly size: number | undefined },
  processes: number,
  r: Reader,
): { threads: number; size: number } {
  const cpus = knownCpus(r);
  const share = cpus === undefined ? undefined : Math.max(1, Math.ceil(cpus / processes));
  const threads = set.threads ?? (cpus === undefined ? 4 : (set.size ?? (share as number)) + 1);
  if (set.size === undefined) return { threads, size: Math.min(share ?? threads, threads) };
  if (set.size <= threads) return { threads, size: set.size };
  r.problems.push(`TESSERA_ARGON2_CONCURRENCY=${set.size}: at most UV_THREADPOOL_SIZE (${threads}), the threads that run argon2`);
  return { threads, size: threads };
}

export const SPEC = {
  redisUrl: text(
    'REDIS_URL',
    '',
    'Redis to use (`redis-cluster://h:p,h:p` for a cluster); unset with `npm start`: an embedded redis-server on 127.0.0.1:6390',
    {
      accepts: 'redis://[user:password@]host:port[/db] or redis-cluster://[user:password@]host:port,...',
      check: (v) => /^(rediss?|redis-cluster):\/\//.test(v),
      redact: true,
      missing: () => 'REDIS_URL is not set (npm start sets it for the embedded Redis)',
      shown: '(embedded)',
    },
  ),
  /** SimpleJWT ALGORITHM, SIGNING_KEY and VERIFYING_KEY: the key of the settings. */
  jwtKey: JWT_KEY,
  /** SimpleJWT AUDIENCE, ISSUER, LEEWAY and the claim names. */
  jwtClaims: JWT_CLAIMS,
  /** The key-encryption key of the signing keys `tessera keys` makes ('' when there is none). */
  kek: text('TESSERA_KEK', '', 'key-encryption key: the signing keys `tessera keys` makes are stored sealed under it (AES-256-GCM)', {
    accepts: '32 bytes as base64 or hex (`openssl rand -base64 32`)',
    check: (v) => kekBytes(v) !== undefined,
    secret: true,
    shown: '(none; `npm start` generates one into `.tessera/`)',
  }),
  /** How long caches may keep the JWKS; a key activated signs only once it has been published this long. */
  jwksMaxAgeS: int(
    'TESSERA_JWKS_MAX_AGE_S',
    300,
    0,
    DAY,
    '`Cache-Control: max-age` of the JWKS, s; an activated key starts signing only once it has been in the JWKS this long',
  ),
  /** Where the JWKS is served besides /.well-known/jwks.json ('' for nowhere else). */
  jwksPath: text(
    'TESSERA_JWKS_PATH',
    '',
    "another path the JWKS is served at (also at `/.well-known/jwks.json`): the one SimpleJWT `JWK_URL` users' services already fetch",
    { accepts: 'a path starting with /', check: (v) => /^\/[A-Za-z0-9._~\-/]*$/.test(v) && !v.includes('//'), shown: '(none)' },
  ),
  /** `{baseurl}` of document 000: '' or a path such as '/moh'. */
  mohBase: text('TESSERA_MOH_BASE', '', "path prefix of the ministry route (document 000's `{baseurl}`); trailing slashes are dropped", {
    accepts: 'a path starting with /',
    prepare: (v) => v.replace(/\/+$/, ''),
    check: (v) => v === '' || (/^\/[A-Za-z0-9._~\-/]*$/.test(v) && !v.includes('//')),
  }),
  logLevel: oneOf('TESSERA_LOG_LEVEL', ['debug', 'info', 'warn', 'error'], 'info', 'level of the JSON log lines of ingress and worker'),
  host: text('TESSERA_HOST', '0.0.0.0', 'address the ingress binds'),
  port: int('TESSERA_PORT', 8080, 0, 65535, 'HTTP port of the ingress'),
  opsPort: int(
    'TESSERA_OPS_PORT',
    8081,
    0,
    65535,
    "port of the worker's ops server: `/healthz` and `/metrics` (open), the dashboard (behind `TESSERA_OPS_PASSWORD`)",
  ),
  /** Prefix of every Redis key Tessera writes (BullMQ queues included). */
  redisPrefix: text('TESSERA_REDIS_PREFIX', 'tessera:', 'prefix of every Redis key (BullMQ queues included)'),
  accountShards: int(
    'TESSERA_ACCOUNT_SHARDS',
    48,
    1,
    1024,
    'account shards: accounts, their lockouts and the login outbox spread over this many hash tags (docs/operations.md, key layout); fixed once a deployment holds users, the same in every process',
  ),
  redisCommandTimeoutMs: int(
    'TESSERA_REDIS_TIMEOUT_MS',
    2000,
    50,
    60_000,
    'a Redis command slower than this, ms, counts as Redis unavailable',
  ),
  pebMirrorStatus: bool('TESSERA_PEB_MIRROR_STATUS', false, '1: PEB answers use the body `status` as HTTP status (default: always 200)'),
  bodyLimit: int('TESSERA_BODY_LIMIT', 16_384, 256, 1_048_576, 'largest accepted request body, bytes'),
  /** SimpleJWT ROTATE_REFRESH_TOKENS and BLACKLIST_AFTER_ROTATION. */
  jwtRotateRefreshTokens: bool(
    'TESSERA_JWT_ROTATE_REFRESH_TOKENS',
    false,
    'SimpleJWT `ROTATE_REFRESH_TOKENS`: refresh also returns a new refresh token',
  ),
  jwtBlacklistAfterRotation: bool(
    'TESSERA_JWT_BLACKLIST_AFTER_ROTATION',
    false,
    'SimpleJWT `BLACKLIST_AFTER_ROTATION`: a rotated refresh token is blacklisted',
  ),
  jwtUpdateLastLogin: bool(
    'TESSERA_JWT_UPDATE_LAST_LOGIN',
    false,
    "SimpleJWT `UPDATE_LAST_LOGIN`: a SimpleJWT login (pair or sliding) records the user's `last_login`",
  ),
  lifetimes: {
    ministryAccess: int('TESSERA_MINISTRY_ACCESS_LIFETIME', DAY, ...LIFETIME, '`moh`/`nehr` access token lifetime, s'),
    ministryRefresh: int('TESSERA_MINISTRY_REFRESH_LIFETIME', 30 * DAY, ...LIFETIME, '`moh`/`nehr` refresh token lifetime, s'),
    jwtAccess: int('TESSERA_JWT_ACCESS_LIFETIME', 300, ...LIFETIME, 'SimpleJWT `ACCESS_TOKEN_LIFETIME`, s'),
    jwtRefresh: int('TESSERA_JWT_REFRESH_LIFETIME', DAY, ...LIFETIME, 'SimpleJWT `REFRESH_TOKEN_LIFETIME`, s'),
    jwtSliding: int(
      'TESSERA_JWT_SLIDING_LIFETIME',
      300,
      ...LIFETIME,
      'SimpleJWT `SLIDING_TOKEN_LIFETIME`, s: how long a sliding token is valid',
    ),
    jwtSlidingRefresh: int(
      'TESSERA_JWT_SLIDING_REFRESH_LIFETIME',
      DAY,
      ...LIFETIME,
      'SimpleJWT `SLIDING_TOKEN_REFRESH_LIFETIME`, s: how long after its login a sliding token still slides',
    ),
    peb: int('TESSERA_PEB_LIFETIME', 30 * DAY, ...LIFETIME, 'PEB token lifetime, s'),
  },
  /**
   * Live tokens kept per login family and login families (sessions) per user; past either, the
   * oldest are revoked (reason `evicted`), so every token operation costs Redis a bounded amount.
   */
  tokenLimits: {
    perFamily: int(
      'TESSERA_MAX_TOKENS_PER_FAMILY',
      128,
      4,
      1024,
      'live tokens kept per login family; past it the oldest are revoked (`evicted`): room for a SimpleJWT client refreshing every 2.4 s ' +
        'for the 300 s access lifetime ([docs](security.md#bounds-of-the-token-index))',
    ),
    familiesPerUser: int(
      'TESSERA_MAX_SESSIONS_PER_USER',
      128,
      1,
      1024,
      'login families (sessions) kept per user; past it the one that ends first is revoked whole, with its tokens (`evicted`)',
    ),
  },
  argon2: {
    memoryCost: int('TESSERA_ARGON2_MEMORY_KIB', 19_456, 8, 4_194_304, 'argon2id memory cost, KiB (OWASP)'),
    timeCost: int('TESSERA_ARGON2_TIME_COST', 2, 1, 100, 'argon2id iterations'),
    parallelism: int('TESSERA_ARGON2_PARALLELISM', 1, 1, 16, 'argon2id lanes'),
  },
  /**
   * argon2 verifications at once (each holds one libuv thread and 19 MiB) and how long a login may
   * wait for one before "try later".
   */
  verifyPool: {
    /** Read as given here; the loader works out the threads and the verifications (verifyThreads). */
    threads: int<number | undefined>(
      'UV_THREADPOOL_SIZE',
      undefined,
      1,
      1024,
      "Node's libuv threads per ingress process: argon2, JWT signing and verification, files; unset, the ingress's entry (`services/ingress/bin/ingress.cjs`) makes them its argon2 concurrency + 1 before the pool starts",
      '(argon2 concurrency + 1 in the ingress; else 4)',
    ),
    size: int<number | undefined>(
      'TESSERA_ARGON2_CONCURRENCY',
      undefined,
      1,
      1024,
      'argon2 verifications at once, per ingress process, at most `UV_THREADPOOL_SIZE` (each holds a thread and 19 MiB); ' +
        'by default the processes together verify on every core, and more only adds 19 MiB each and context switches',
      '(CPU cores ÷ ingress processes, rounded up)',
    ),
    maxWaitMs: int(
      'TESSERA_ARGON2_MAX_WAIT_MS',
      1000,
      0,
      60_000,
      'a login waits at most this long, ms, for an argon2 slot, then gets "try later"',
    ),
  },
  lockout: {
    maxFailures: int('TESSERA_LOCKOUT_FAILURES', 5, 1, 1000, 'failed logins of one identifier inside the window that lock it'),
    windowMs: seconds('TESSERA_LOCKOUT_WINDOW_S', 900, 1, 30 * DAY, 'observation window of failures, s'),
    lockMs: seconds('TESSERA_LOCKOUT_DURATION_S', 900, 1, 30 * DAY, 'first lock, s'),
    growth: num('TESSERA_LOCKOUT_GROWTH', 2, 1, 100, 'each further lock of an identifier lasts this many times the previous'),
    permanentAfter: int('TESSERA_LOCKOUT_PERMANENT_AFTER', 0, 0, 1000, 'the K-th lock of an identifier is permanent (0: never)'),
    rateLimit: int('TESSERA_LOGIN_RATE_LIMIT', 600, 0, 10_000_000, 'login attempts per client address per rate window (0: off)'),
    rateWindowMs: seconds('TESSERA_LOGIN_RATE_WINDOW_S', 60, 1, DAY, 'rate window, s'),
    /** How long a login may wait while N verifications of its identifier are in flight. */
    busyWaitMs: int(
      'TESSERA_LOGIN_BUSY_WAIT_MS',
      3000,
      0,
      60_000,
      'how long, ms, a login waits while N verifications of its identifier are in flight',
    ),
  },
  /** Who may open the ops dashboard (HTTP Basic); no password: the dashboard is off. */
  ops: {
    user: text('TESSERA_OPS_USER', 'ops', 'user name of the ops dashboard (HTTP Basic)'),
    password: text('TESSERA_OPS_PASSWORD', '', 'password of the ops dashboard; unset: the dashboard is off', {
      shown: '(generated by `npm start`)',
    }),
  },
  /** Audit sinks of the worker. */
  audit: {
    streamMaxLen: int(
      'TESSERA_AUDIT_STREAM_MAXLEN',
      1_000_000,
      100,
      1_000_000_000,
      'events kept in the audit stream (approximate `MAXLEN`)',
    ),
    dir: text('TESSERA_AUDIT_DIR', '.tessera/audit', 'folder of the daily NDJSON audit files'),
  },
  /**
   * The ingress's in-process memory of live access tokens for introspection, kept true by the
   * revocation push (off by default on a cluster, where pub/sub crosses the cluster bus).
   */
  tokenCache: {
    enabled: bool(
      'TESSERA_TOKEN_CACHE',
      (r) => !(r.raw('REDIS_URL') ?? '').startsWith('redis-cluster://'),
      'introspection remembers live access tokens in process, forgotten on every revocation push',
      '1 (0 on a cluster)',
    ),
    maxEntries: int(
      'TESSERA_TOKEN_CACHE_ENTRIES',
      20_000,
      1,
      100_000,
      'access tokens each ingress process remembers (~0.7 KB each: the heap is capped at 128 MiB)',
    ),
    maxAgeMs: int('TESSERA_TOKEN_CACHE_MAX_AGE_MS', 5000, 1, 60_000, 'a remembered token is read from Redis again after this long, ms'),
  },
  /** Ingress processes sharing the port; started by the first one (the loader resolves `auto`: ingressProcesses). */
  ingressProcesses: intOrAuto(
    'TESSERA_INGRESS_PROCESSES',
    1,
    256,
    'ingress processes sharing the HTTP port; `auto`: one per CPU core (one with `TESSERA_PORT=0`). The first starts and ' +
      'restarts the others, and its `/metrics` (asked through any of them) adds up all of them',
  ),
  /**
   * The proxies whose word on the client address is taken (addresses and CIDRs, as given): only
   * when the peer is one of them is `header` read, for its rightmost address that is not one of
   * them. None (the default): the client is the peer, and no header is read.
   */
  proxies: {
    trusted: list(
      'TESSERA_TRUSTED_PROXIES',
      'an IPv4 or IPv6 address or CIDR (a.b.c.d/n, x:x::/n)',
      (entry) => parseCidr(entry) !== null,
      'the proxies in front of the ingress (`10.0.0.0/8, 2001:db8::/32`): only from these is the client address taken from ' +
        '`TESSERA_PROXY_HEADER` ([docs](security.md#behind-a-proxy)); none: the peer is the client',
    ),
    header: oneOf(
      'TESSERA_PROXY_HEADER',
      PROXY_HEADERS,
      'x-forwarded-for',
      'the header the trusted proxies write the client into (`forwarded`: RFC 7239); the other one is ignored',
      true,
    ),
  },
  /**
   * Lazy migration: per dialect, the old system's login endpoint that decides the first login of a
   * user Tessera does not know (or one imported as pending), with a timeout and a circuit breaker.
   */
  upstream: {
    urls: combined(
      [
        httpUrl(
          'TESSERA_UPSTREAM_MOH_URL',
          'lazy migration: the old ministry login endpoint (`https://old/getUserToken`) that decides the first login of a user ' +
            'Tessera does not know ([docs](migrating.md#lazy-migration-through-the-old-system))',
        ),
        httpUrl('TESSERA_UPSTREAM_NEHR_URL', 'the same for the NEHR route (`https://old/nehrapi/login/getToken`)'),
        httpUrl('TESSERA_UPSTREAM_SIMPLEJWT_URL', 'the same for SimpleJWT (`https://old/api/token/`)'),
        httpUrl('TESSERA_UPSTREAM_PEB_URL', 'the same for PEB (`https://old/v1/login`; its `/check` gives the user id)'),
      ],
      (urls): Readonly<Partial<Record<UpstreamDialect, string>>> =>
        Object.fromEntries(UPSTREAM_DIALECTS.flatMap((d, i) => (urls[i] === undefined ? [] : [[d, urls[i]]]))),
    ),
    timeoutMs: int('TESSERA_UPSTREAM_TIMEOUT_MS', 3000, 50, 60_000, 'an upstream login slower than this, ms, is answered "unavailable"'),
    /** The breaker opens when half the calls of the last 10 s failed, and there were at least this many. */
    breakerVolume: int(
      'TESSERA_UPSTREAM_BREAKER_VOLUME',
      5,
      1,
      10_000,
      "an upstream's circuit opens when half its calls of the last 10 s failed and there were at least this many",
    ),
    /** An open breaker lets one call through again after this long. */
    breakerCooldownMs: int(
      'TESSERA_UPSTREAM_BREAKER_COOLDOWN_MS',
      30_000,
      100,
      3_600_000,
      'an open circuit tries one call again after this long, ms',
    ),
    /** Calls in flight to one upstream at most; more are answered "unavailable" at once. */
    concurrency: int(
      'TESSERA_UPSTREAM_CONCURRENCY',
      32,
      1,
      10_000,
      'upstream logins in flight per old system at most; more are answered "unavailable"',
    ),
    /** The upstreams are different old systems whose usernames name the same people (else only one system's may be set). */
    sharedUsers: bool(
      'TESSERA_UPSTREAM_SHARED_USERS',
      false,
      "1: the upstreams of different old systems (the ministry's moh/nehr, SimpleJWT, PEB) name the same people by the same username " +
        "(without it, only one system's may be set: the first to vouch for a name would own it)",
    ),
  },
  demo: bool('TESSERA_DEMO', false, "1: `npm start` seeds the documents' demo users on any Redis (on its embedded Redis it always does)"),
} satisfies SpecGroup;
