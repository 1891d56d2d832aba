import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, type Env, loadSettings, SETTINGS_DOC, type Settings } from './index.ts';

const KEY = 'k'.repeat(32);
const BASE = { REDIS_URL: 'redis://127.0.0.1:6379', TESSERA_JWT_SIGNING_KEY: KEY };

const DEFAULTS: Settings = {
  host: '0.0.0.0',
  port: 8080,
  opsPort: 8081,
  redisUrl: 'redis://127.0.0.1:6379',
  redisPrefix: 'tessera:',
  accountShards: 48,
  redisCommandTimeoutMs: 2000,
  mohBase: '',
  kek: '',
  jwksMaxAgeS: 300,
  jwksPath: '',
  pebMirrorStatus: false,
  bodyLimit: 16_384,
  jwtKey: { algorithm: 'HS256', signingKey: KEY },
  jwtClaims: { leeway: 0, userIdClaim: 'user_id', tokenTypeClaim: 'token_type', jtiClaim: 'jti', slidingRefreshExpClaim: 'refresh_exp' },
  jwtRotateRefreshTokens: false,
  jwtBlacklistAfterRotation: false,
  jwtUpdateLastLogin: false,
  lifetimes: {
    ministryAccess: 86_400,
    ministryRefresh: 2_592_000,
    jwtAccess: 300,
    jwtRefresh: 86_400,
    jwtSliding: 300,
    jwtSlidingRefresh: 86_400,
    peb: 2_592_000,
  },
  tokenLimits: { perFamily: 128, familiesPerUser: 128 },
  argon2: { memoryCost: 19_456, timeCost: 2, parallelism: 1 },
  verifyPool: { threads: 4, size: 4, maxWaitMs: 1000 },
  lockout: {
    maxFailures: 5,
    windowMs: 900_000,
    lockMs: 900_000,
    growth: 2,
    permanentAfter: 0,
    rateLimit: 600,
    rateWindowMs: 60_000,
    busyWaitMs: 3000,
    reservationMs: 30_000,
  },
  audit: { streamMaxLen: 1_000_000, dir: '.tessera/audit' },
  ops: { user: 'ops', password: '' },
  tokenCache: { enabled: true, maxEntries: 20_000, maxAgeMs: 5000 },
  ingressProcesses: 1,
  proxies: { trusted: [], header: 'x-forwarded-for' },
  upstream: { urls: {}, timeoutMs: 3000, breakerVolume: 5, breakerCooldownMs: 30_000, concurrency: 32, sharedUsers: false },
  demo: false,
  logLevel: 'info',
};

/** The problems of a ConfigError thrown by loadSettings(env), or a failure when none is thrown. */
function problemsOf(env: Env, role?: 'service' | 'cli'): readonly string[] {
  try {
    loadSettings(env, role === undefined ? {} : { role });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error(`no ConfigError for ${JSON.stringify(env)}`);
}

describe('loadSettings defaults', () => {
  it('gives every documented default', () => {
    expect(loadSettings(BASE)).toStrictEqual(DEFAULTS);
  });

  it('treats empty and white-space values as unset', () => {
    const blank = Object.fromEntries(SETTINGS_DOC.map((d) => [d.name, d.name.includes('LIFETIME') ? '' : '   ']));
    expect(loadSettings({ ...blank, ...BASE })).toStrictEqual(DEFAULTS);
  });

  it('agrees with the documentation table (SETTINGS_DOC) on every numeric and boolean default', () => {
    const s = loadSettings(BASE);
    const actual: Record<string, string> = {
      TESSERA_PORT: String(s.port),
      TESSERA_HOST: s.host,
      TESSERA_OPS_PORT: String(s.opsPort),
      TESSERA_REDIS_PREFIX: s.redisPrefix,
      TESSERA_ACCOUNT_SHARDS: String(s.accountShards),
      TESSERA_REDIS_TIMEOUT_MS: String(s.redisCommandTimeoutMs),
      TESSERA_PEB_MIRROR_STATUS: s.pebMirrorStatus ? '1' : '0',
      TESSERA_BODY_LIMIT: String(s.bodyLimit),
      TESSERA_JWT_ALGORITHM: s.jwtKey.algorithm,
      TESSERA_JWKS_MAX_AGE_S: String(s.jwksMaxAgeS),
      TESSERA_JWT_LEEWAY: String(s.jwtClaims.leeway),
      TESSERA_JWT_USER_ID_CLAIM: s.jwtClaims.userIdClaim,
      TESSERA_JWT_TOKEN_TYPE_CLAIM: s.jwtClaims.tokenTypeClaim,
      TESSERA_JWT_JTI_CLAIM: s.jwtClaims.jtiClaim,
      TESSERA_JWT_SLIDING_REFRESH_EXP_CLAIM: s.jwtClaims.slidingRefreshExpClaim,
      TESSERA_JWT_ROTATE_REFRESH_TOKENS: s.jwtRotateRefreshTokens ? '1' : '0',
      TESSERA_JWT_BLACKLIST_AFTER_ROTATION: s.jwtBlacklistAfterRotation ? '1' : '0',
      TESSERA_JWT_UPDATE_LAST_LOGIN: s.jwtUpdateLastLogin ? '1' : '0',
      TESSERA_MINISTRY_ACCESS_LIFETIME: String(s.lifetimes.ministryAccess),
      TESSERA_MINISTRY_REFRESH_LIFETIME: String(s.lifetimes.ministryRefresh),
      TESSERA_JWT_ACCESS_LIFETIME: String(s.lifetimes.jwtAccess),
      TESSERA_JWT_REFRESH_LIFETIME: String(s.lifetimes.jwtRefresh),
      TESSERA_JWT_SLIDING_LIFETIME: String(s.lifetimes.jwtSliding),
      TESSERA_JWT_SLIDING_REFRESH_LIFETIME: String(s.lifetimes.jwtSlidingRefresh),
      TESSERA_PEB_LIFETIME: String(s.lifetimes.peb),
      TESSERA_MAX_TOKENS_PER_FAMILY: String(s.tokenLimits.perFamily),
      TESSERA_MAX_SESSIONS_PER_USER: String(s.tokenLimits.familiesPerUser),
      TESSERA_ARGON2_MEMORY_KIB: String(s.argon2.memoryCost),
      TESSERA_ARGON2_TIME_COST: String(s.argon2.timeCost),
      TESSERA_ARGON2_PARALLELISM: String(s.argon2.parallelism),
      TESSERA_ARGON2_MAX_WAIT_MS: String(s.verifyPool.maxWaitMs),
      TESSERA_LOCKOUT_FAILURES: String(s.lockout.maxFailures),
      TESSERA_LOCKOUT_WINDOW_S: String(s.lockout.windowMs / 1000),
      TESSERA_LOCKOUT_DURATION_S: String(s.lockout.lockMs / 1000),
      TESSERA_LOCKOUT_GROWTH: String(s.lockout.growth),
      TESSERA_LOCKOUT_PERMANENT_AFTER: String(s.lockout.permanentAfter),
      TESSERA_LOGIN_RATE_LIMIT: String(s.lockout.rateLimit),
      TESSERA_LOGIN_RATE_WINDOW_S: String(s.lockout.rateWindowMs / 1000),
      TESSERA_LOGIN_BUSY_WAIT_MS: String(s.lockout.busyWaitMs),
      TESSERA_AUDIT_STREAM_MAXLEN: String(s.audit.streamMaxLen),
      TESSERA_AUDIT_DIR: s.audit.dir,
      TESSERA_OPS_USER: s.ops.user,
      TESSERA_TOKEN_CACHE_ENTRIES: String(s.tokenCache.maxEntries),
      TESSERA_TOKEN_CACHE_MAX_AGE_MS: String(s.tokenCache.maxAgeMs),
      TESSERA_PROXY_HEADER: s.proxies.header,
      TESSERA_UPSTREAM_TIMEOUT_MS: String(s.upstream.timeoutMs),
      TESSERA_UPSTREAM_BREAKER_VOLUME: String(s.upstream.breakerVolume),
      TESSERA_UPSTREAM_BREAKER_COOLDOWN_MS: String(s.upstream.breakerCooldownMs),
      TESSERA_UPSTREAM_CONCURRENCY: String(s.upstream.concurrency),
      TESSERA_UPSTREAM_SHARED_USERS: s.upstream.sharedUsers ? '1' : '0',
      TESSERA_DEMO: s.demo ? '1' : '0',
      TESSERA_LOG_LEVEL: s.logLevel,
    };
    const documented = Object.fromEntries(SETTINGS_DOC.filter((d) => d.name in actual).map((d) => [d.name, d.default]));
    expect(documented).toStrictEqual(actual);
    expect(SETTINGS_DOC.map((d) => d.name).sort()).toStrictEqual(
      [
        ...Object.keys(actual),
        'REDIS_URL',
        'TESSERA_MOH_BASE',
        'TESSERA_JWKS_PATH',
        'TESSERA_KEK',
        'TESSERA_JWT_SIGNING_KEY',
        'TESSERA_JWT_VERIFYING_KEY',
        'TESSERA_JWT_AUDIENCE',
        'TESSERA_JWT_ISSUER',
        'TESSERA_OPS_PASSWORD',
        'TESSERA_TOKEN_CACHE',
        'TESSERA_ARGON2_CONCURRENCY',
        'TESSERA_INGRESS_PROCESSES',
        'UV_THREADPOOL_SIZE',
        'TESSERA_TRUSTED_PROXIES',
        'TESSERA_UPSTREAM_MOH_URL',
        'TESSERA_UPSTREAM_NEHR_URL',
        'TESSERA_UPSTREAM_SIMPLEJWT_URL',
        'TESSERA_UPSTREAM_PEB_URL',
      ].sort(),
    );
  });

  it('reads the upstreams of lazy migration: http(s) URLs without credentials, one problem line each', () => {
    const s = loadSettings({
      ...BASE,
      TESSERA_UPSTREAM_MOH_URL: 'https://old.example/getUserToken',
      TESSERA_UPSTREAM_NEHR_URL: 'https://old.example/nehrapi/login/getToken',
      TESSERA_UPSTREAM_TIMEOUT_MS: '500',
      TESSERA_UPSTREAM_BREAKER_VOLUME: '3',
      TESSERA_UPSTREAM_BREAKER_COOLDOWN_MS: '1000',
      TESSERA_UPSTREAM_CONCURRENCY: '8',
    });
    expect(s.upstream).toStrictEqual({
      urls: { moh: 'https://old.example/getUserToken', nehr: 'https://old.example/nehrapi/login/getToken' },
      timeoutMs: 500,
      breakerVolume: 3,
      breakerCooldownMs: 1000,
      concurrency: 8,
      sharedUsers: false,
    });
    expect(
      problemsOf({
        ...BASE,
        TESSERA_UPSTREAM_NEHR_URL: 'ftp://old.example/login',
        TESSERA_UPSTREAM_SIMPLEJWT_URL: 'http://admin:s3cret@old.example/api/token/',
        TESSERA_UPSTREAM_PEB_URL: 'not a url',
        TESSERA_UPSTREAM_TIMEOUT_MS: '10',
      }),
    ).toStrictEqual([
      'TESSERA_UPSTREAM_NEHR_URL="ftp://old.example/login": expected an http:// or https:// URL without credentials',
      'TESSERA_UPSTREAM_SIMPLEJWT_URL="http://admin:***@old.example/api/token/": expected an http:// or https:// URL without credentials',
      'TESSERA_UPSTREAM_PEB_URL="not a url": expected an http:// or https:// URL without credentials',
      'TESSERA_UPSTREAM_TIMEOUT_MS="10": expected a whole number from 50 to 60000',
    ]);
  });

  it('keeps a login reservation longer than any attempt can take with the settings (never more than N verifications)', () => {
    const slow = loadSettings({
      ...BASE,
      TESSERA_ARGON2_MAX_WAIT_MS: '60000',
      TESSERA_UPSTREAM_TIMEOUT_MS: '60000',
      TESSERA_REDIS_TIMEOUT_MS: '5000',
    });
    expect(slow.lockout.reservationMs).toBeGreaterThan(60_000 + 60_000 + 4 * 5000);
    expect(loadSettings(BASE).lockout.reservationMs).toBe(30_000);
  });

  it('refuses upstreams of different old systems unless their usernames are declared to name the same people', () => {
    // one gateway in front of two systems is still two systems; moh and nehr are one, wherever they are
    const two = {
      ...BASE,
      TESSERA_UPSTREAM_MOH_URL: 'https://gw.example/ministry/getUserToken',
      TESSERA_UPSTREAM_PEB_URL: 'https://gw.example/peb/v1/login',
    };
    expect(problemsOf(two)).toStrictEqual([
      'TESSERA_UPSTREAM_*_URL name 2 old systems (moh, peb): one username would go to whichever vouches first; ' +
        'set TESSERA_UPSTREAM_SHARED_USERS=1 if their usernames name the same people, or migrate one system at a time',
    ]);
    expect(loadSettings({ ...two, TESSERA_UPSTREAM_SHARED_USERS: '1' }).upstream.sharedUsers).toBe(true);
    const ministry = {
      ...BASE,
      TESSERA_UPSTREAM_MOH_URL: 'https://a.example/getUserToken',
      TESSERA_UPSTREAM_NEHR_URL: 'https://b.example:8443/nehr',
    };
    expect(Object.keys(loadSettings(ministry).upstream.urls)).toStrictEqual(['moh', 'nehr']);
  });

  it('never prints a Redis password', () => {
    expect(problemsOf({ REDIS_URL: 'http://user:s3cret@host:1', TESSERA_JWT_SIGNING_KEY: KEY })).toStrictEqual([
      'REDIS_URL="http://user:***@host:1": expected redis://[user:password@]host:port[/db] or redis-cluster://[user:password@]host:port,...',
    ]);
  });

  describe('never reads process.env', () => {
    const saved = process.env.TESSERA_PORT;
    afterEach(() => {
      if (saved === undefined) delete process.env.TESSERA_PORT;
      else process.env.TESSERA_PORT = saved;
    });
    it('ignores process.env when given another env', () => {
      process.env.TESSERA_PORT = '1234';
      expect(loadSettings(BASE).port).toBe(8080);
    });
  });
});

describe('loadSettings values', () => {
  it('reads every documented variable', () => {
    const s = loadSettings({
      ...BASE,
      TESSERA_PORT: '9000',
      TESSERA_HOST: '127.0.0.1',
      TESSERA_OPS_PORT: '9001',
      TESSERA_REDIS_PREFIX: 'other:',
      TESSERA_REDIS_TIMEOUT_MS: '750',
      TESSERA_MOH_BASE: '/moh',
      TESSERA_JWKS_PATH: '/api/jwks/',
      TESSERA_PEB_MIRROR_STATUS: '1',
      TESSERA_BODY_LIMIT: '32768',
      TESSERA_JWT_ROTATE_REFRESH_TOKENS: 'true',
      TESSERA_JWT_BLACKLIST_AFTER_ROTATION: 'on',
      TESSERA_JWT_UPDATE_LAST_LOGIN: 'yes',
      TESSERA_JWT_SLIDING_REFRESH_EXP_CLAIM: 'slide_until',
      TESSERA_MINISTRY_ACCESS_LIFETIME: '120',
      TESSERA_MINISTRY_REFRESH_LIFETIME: '600',
      TESSERA_JWT_ACCESS_LIFETIME: '60',
      TESSERA_JWT_REFRESH_LIFETIME: '900',
      TESSERA_JWT_SLIDING_LIFETIME: '90',
      TESSERA_JWT_SLIDING_REFRESH_LIFETIME: '1800',
      TESSERA_PEB_LIFETIME: '3600',
      TESSERA_MAX_TOKENS_PER_FAMILY: '16',
      TESSERA_MAX_SESSIONS_PER_USER: '3',
      TESSERA_ARGON2_MEMORY_KIB: '1024',
      TESSERA_ARGON2_TIME_COST: '3',
      TESSERA_ARGON2_PARALLELISM: '2',
      TESSERA_TOKEN_CACHE: 'off',
      TESSERA_TOKEN_CACHE_ENTRIES: '500',
      TESSERA_TOKEN_CACHE_MAX_AGE_MS: '250',
      TESSERA_INGRESS_PROCESSES: '2',
      TESSERA_TRUSTED_PROXIES: '10.0.0.0/8',
      TESSERA_PROXY_HEADER: 'Forwarded',
      TESSERA_DEMO: 'yes',
      TESSERA_LOG_LEVEL: 'debug',
      TESSERA_ACCOUNT_SHARDS: '16',
    });
    expect(s).toStrictEqual({
      host: '127.0.0.1',
      port: 9000,
      opsPort: 9001,
      redisUrl: 'redis://127.0.0.1:6379',
      redisPrefix: 'other:',
      accountShards: 16,
      redisCommandTimeoutMs: 750,
      mohBase: '/moh',
      kek: '',
      jwksMaxAgeS: 300,
      jwksPath: '/api/jwks/',
      pebMirrorStatus: true,
      bodyLimit: 32_768,
      jwtKey: { algorithm: 'HS256', signingKey: KEY },
      jwtClaims: {
        leeway: 0,
        userIdClaim: 'user_id',
        tokenTypeClaim: 'token_type',
        jtiClaim: 'jti',
        slidingRefreshExpClaim: 'slide_until',
      },
      jwtRotateRefreshTokens: true,
      jwtBlacklistAfterRotation: true,
      jwtUpdateLastLogin: true,
      lifetimes: {
        ministryAccess: 120,
        ministryRefresh: 600,
        jwtAccess: 60,
        jwtRefresh: 900,
        jwtSliding: 90,
        jwtSlidingRefresh: 1800,
        peb: 3600,
      },
      tokenLimits: { perFamily: 16, familiesPerUser: 3 },
      argon2: { memoryCost: 1024, timeCost: 3, parallelism: 2 },
      verifyPool: DEFAULTS.verifyPool,
      lockout: DEFAULTS.lockout,
      audit: DEFAULTS.audit,
      ops: DEFAULTS.ops,
      tokenCache: { enabled: false, maxEntries: 500, maxAgeMs: 250 },
      ingressProcesses: 2,
      proxies: { trusted: ['10.0.0.0/8'], header: 'forwarded' },
      upstream: DEFAULTS.upstream,
      demo: true,
      logLevel: 'debug',
    });
  });

  it('reads the trusted proxies, IPv4 and IPv6, separated by commas or spaces; one problem line per bad entry', () => {
    expect(loadSettings({ ...BASE, TESSERA_TRUSTED_PROXIES: ' 10.0.0.0/8,192.0.2.1 ,\t2001:db8::/32 ::1, ' }).proxies).toStrictEqual({
      trusted: ['10.0.0.0/8', '192.0.2.1', '2001:db8::/32', '::1'],
      header: 'x-forwarded-for',
    });
    expect(
      problemsOf({
        ...BASE,
        TESSERA_TRUSTED_PROXIES: '10.0.0.0/8, 10.0.0.300, 2001:db8::/129 proxy.local',
        TESSERA_PROXY_HEADER: 'x-real-ip',
      }),
    ).toStrictEqual([
      'TESSERA_TRUSTED_PROXIES: "10.0.0.300": expected an IPv4 or IPv6 address or CIDR (a.b.c.d/n, x:x::/n)',
      'TESSERA_TRUSTED_PROXIES: "2001:db8::/129": expected an IPv4 or IPv6 address or CIDR (a.b.c.d/n, x:x::/n)',
      'TESSERA_TRUSTED_PROXIES: "proxy.local": expected an IPv4 or IPv6 address or CIDR (a.b.c.d/n, x:x::/n)',
      'TESSERA_PROXY_HEADER="x-real-ip": expected x-forwarded-for or forwarded',
    ]);
  });

  it('refuses several ingress processes on port 0', () => {
    expect(problemsOf({ ...BASE, TESSERA_PORT: '0', TESSERA_INGRESS_PROCESSES: '2' })).toStrictEqual([
      'TESSERA_INGRESS_PROCESSES > 1 needs a fixed TESSERA_PORT (the processes share it)',
    ]);
    expect(problemsOf({ ...BASE, TESSERA_INGRESS_PROCESSES: 'half' })).toStrictEqual([
      'TESSERA_INGRESS_PROCESSES="half": expected a whole number from 1 to 256, or auto',
    ]);
  });

  it('runs one ingress process per core by default (auto), one on port 0 or where the cores are unknown', () => {
    const processes = (env: Env, cpus?: number) => loadSettings({ ...BASE, ...env }, cpus === undefined ? {} : { cpus }).ingressProcesses;
    expect(processes({}, 16)).toBe(16);
    expect(processes({ TESSERA_INGRESS_PROCESSES: 'AUTO' }, 3)).toBe(3);
    expect(processes({ TESSERA_PORT: '0' }, 16)).toBe(1);
    expect(processes({})).toBe(1);
    expect(processes({ TESSERA_INGRESS_PROCESSES: '4' }, 16)).toBe(4);
    expect(processes({ TESSERA_INGRESS_PROCESSES: '1', TESSERA_PORT: '0' }, 16)).toBe(1);
  });

  it('keeps no token cache on a cluster unless told to', () => {
    const cluster = { ...BASE, REDIS_URL: 'redis-cluster://127.0.0.1:7000,127.0.0.1:7001' };
    expect(loadSettings(cluster).tokenCache.enabled).toBe(false);
    expect(loadSettings({ ...cluster, TESSERA_TOKEN_CACHE: '1' }).tokenCache.enabled).toBe(true);
    expect(loadSettings(BASE).tokenCache.enabled).toBe(true);
  });

  it('trims values', () => {
    const s = loadSettings({ REDIS_URL: ' redis://r:6379/2 ', TESSERA_JWT_SIGNING_KEY: ` ${KEY} `, TESSERA_PORT: ' 9000 ' });
    expect([s.redisUrl, s.jwtKey.signingKey, s.port]).toStrictEqual(['redis://r:6379/2', KEY, 9000]);
  });

  it.each([
    ['/moh', '/moh'],
    ['/moh/', '/moh'],
    ['/a/b//', '/a/b'],
    ['/', ''],
    ['', ''],
    ['/v2.1/moh-api_x~', '/v2.1/moh-api_x~'],
  ])('TESSERA_MOH_BASE %j is %j', (value, expected) => {
    expect(loadSettings({ ...BASE, TESSERA_MOH_BASE: value }).mohBase).toBe(expected);
  });

  it.each([
    ['1', true],
    ['true', true],
    ['YES', true],
    ['On', true],
    ['0', false],
    ['false', false],
    ['no', false],
    ['OFF', false],
  ])('boolean %j is %s', (value, expected) => {
    expect(loadSettings({ ...BASE, TESSERA_PEB_MIRROR_STATUS: value, TESSERA_DEMO: value })).toMatchObject({
      pebMirrorStatus: expected,
      demo: expected,
    });
  });

  it('accepts the bounds of each range', () => {
    const low = loadSettings({
      ...BASE,
      TESSERA_PORT: '0',
      TESSERA_BODY_LIMIT: '256',
      TESSERA_REDIS_TIMEOUT_MS: '50',
      TESSERA_PEB_LIFETIME: '1',
    });
    expect([low.port, low.bodyLimit, low.redisCommandTimeoutMs, low.lifetimes.peb]).toStrictEqual([0, 256, 50, 1]);
    const high = loadSettings({
      ...BASE,
      TESSERA_PORT: '65535',
      TESSERA_BODY_LIMIT: '1048576',
      TESSERA_REDIS_TIMEOUT_MS: '60000',
      TESSERA_PEB_LIFETIME: '31536000',
    });
    expect([high.port, high.bodyLimit, high.redisCommandTimeoutMs, high.lifetimes.peb]).toStrictEqual([
      65_535, 1_048_576, 60_000, 31_536_000,
    ]);
  });

  it('verifies argon2 on every core by default, shared among the ingress processes, never on more than the libuv threads', () => {
    const pool = (env: Env, cpus?: number) => {
      const { threads, size } = loadSettings({ ...BASE, ...env }, cpus === undefined ? {} : { cpus }).verifyPool;
      return [threads, size];
    };
    // one process: a verification per core, a thread for each and one beside them
    expect(pool({ TESSERA_INGRESS_PROCESSES: '1' }, 2)).toStrictEqual([3, 2]);
    expect(pool({ TESSERA_PORT: '0' }, 16)).toStrictEqual([17, 16]);
    // several: the cores shared, rounded up, at least one each
    expect(pool({}, 16)).toStrictEqual([2, 1]);
    expect(pool({ TESSERA_INGRESS_PROCESSES: '2' }, 16)).toStrictEqual([9, 8]);
    expect(pool({ TESSERA_INGRESS_PROCESSES: '3' }, 16)).toStrictEqual([7, 6]);
    expect(pool({ TESSERA_INGRESS_PROCESSES: '32' }, 16)).toStrictEqual([2, 1]);
    // the threads as set: the verifications at most as many
    expect(pool({ TESSERA_INGRESS_PROCESSES: '1', UV_THREADPOOL_SIZE: '4' }, 16)).toStrictEqual([4, 4]);
    expect(pool({ TESSERA_INGRESS_PROCESSES: '1', UV_THREADPOOL_SIZE: '8' }, 2)).toStrictEqual([8, 2]);
    // the verifications as set: the threads made to match
    expect(pool({ TESSERA_ARGON2_CONCURRENCY: '3' }, 2)).toStrictEqual([4, 3]);
    // unknown cores: libuv's own 4 threads
    expect(pool({})).toStrictEqual([4, 4]);
    expect(() => loadSettings({ ...BASE, TESSERA_ARGON2_CONCURRENCY: '5' })).toThrow(/at most UV_THREADPOOL_SIZE \(4\)/);
    expect(() => loadSettings({ ...BASE, TESSERA_ARGON2_CONCURRENCY: '5', UV_THREADPOOL_SIZE: '2' }, { cpus: 16 })).toThrow(
      /at most UV_THREADPOOL_SIZE \(2\)/,
    );
  });

  it('lets the CLI run without a JWT key', () => {
    expect(loadSettings({ REDIS_URL: 'rediss://secure:6380' }, { role: 'cli' })).toStrictEqual({
      ...DEFAULTS,
      redisUrl: 'rediss://secure:6380',
      jwtKey: { algorithm: 'HS256', signingKey: '' },
    });
  });
});

describe('loadSettings errors', () => {
  it('refuses a moh base that would read as a scheme-relative URL', () => {
    expect(() => loadSettings({ ...BASE, TESSERA_MOH_BASE: '//evil.example/x' })).toThrow(
      'TESSERA_MOH_BASE="//evil.example/x": expected a path starting with /',
    );
  });

  it('reports every bad value, one line each, in a single ConfigError', () => {
    const env = {
      REDIS_URL: 'http://localhost:6379',
      TESSERA_JWT_SIGNING_KEY: 'short',
      TESSERA_MOH_BASE: 'moh',
      TESSERA_LOG_LEVEL: 'verbose',
      TESSERA_PORT: '65536',
      TESSERA_OPS_PORT: '-1',
      TESSERA_REDIS_TIMEOUT_MS: '49',
      TESSERA_PEB_MIRROR_STATUS: 'maybe',
      TESSERA_BODY_LIMIT: '255',
      TESSERA_MINISTRY_ACCESS_LIFETIME: '0',
      TESSERA_MINISTRY_REFRESH_LIFETIME: '1.5',
      TESSERA_JWT_ACCESS_LIFETIME: '5m',
      TESSERA_JWT_REFRESH_LIFETIME: '31536001',
      TESSERA_PEB_LIFETIME: '0x10',
      TESSERA_MAX_TOKENS_PER_FAMILY: '3',
      TESSERA_MAX_SESSIONS_PER_USER: '0',
      TESSERA_ARGON2_MEMORY_KIB: '7',
      TESSERA_ARGON2_TIME_COST: '0',
      TESSERA_ARGON2_PARALLELISM: '17',
      TESSERA_DEMO: 'Sure',
    };
    let caught: unknown;
    try {
      loadSettings(env);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const e = caught as ConfigError;
    expect(e.code).toBe('ERR_CONFIG');
    expect(e.name).toBe('ConfigError');
    const expected = [
      'REDIS_URL="http://localhost:6379": expected redis://[user:password@]host:port[/db] or redis-cluster://[user:password@]host:port,...',
      'TESSERA_JWT_SIGNING_KEY: must be at least 32 characters',
      'TESSERA_MOH_BASE="moh": expected a path starting with /',
      'TESSERA_LOG_LEVEL="verbose": expected debug, info, warn or error',
      'TESSERA_PORT="65536": expected a whole number from 0 to 65535',
      'TESSERA_OPS_PORT="-1": expected a whole number from 0 to 65535',
      'TESSERA_REDIS_TIMEOUT_MS="49": expected a whole number from 50 to 60000',
      'TESSERA_PEB_MIRROR_STATUS="maybe": expected 1 or 0',
      'TESSERA_BODY_LIMIT="255": expected a whole number from 256 to 1048576',
      'TESSERA_MINISTRY_ACCESS_LIFETIME="0": expected a whole number from 1 to 31536000',
      'TESSERA_MINISTRY_REFRESH_LIFETIME="1.5": expected a whole number from 1 to 31536000',
      'TESSERA_JWT_ACCESS_LIFETIME="5m": expected a whole number from 1 to 31536000',
      'TESSERA_JWT_REFRESH_LIFETIME="31536001": expected a whole number from 1 to 31536000',
      'TESSERA_PEB_LIFETIME="0x10": expected a whole number from 1 to 31536000',
      'TESSERA_MAX_TOKENS_PER_FAMILY="3": expected a whole number from 4 to 1024',
      'TESSERA_MAX_SESSIONS_PER_USER="0": expected a whole number from 1 to 1024',
      'TESSERA_ARGON2_MEMORY_KIB="7": expected a whole number from 8 to 4194304',
      'TESSERA_ARGON2_TIME_COST="0": expected a whole number from 1 to 100',
      'TESSERA_ARGON2_PARALLELISM="17": expected a whole number from 1 to 16',
      'TESSERA_DEMO="sure": expected 1 or 0',
    ];
    expect([...e.problems].sort()).toStrictEqual([...expected].sort());
    expect(e.message.split('\n')[0]).toBe('invalid settings:');
    expect(e.message.split('\n').slice(1).sort()).toStrictEqual(expected.map((p) => `  - ${p}`).sort());
  });

  it('requires REDIS_URL and, for services, the JWT key', () => {
    expect(problemsOf({})).toStrictEqual([
      'REDIS_URL is not set (npm start sets it for the embedded Redis)',
      'TESSERA_JWT_SIGNING_KEY is not set (npm start generates one)',
    ]);
    expect(problemsOf({}, 'cli')).toStrictEqual(['REDIS_URL is not set (npm start sets it for the embedded Redis)']);
    expect(problemsOf({ REDIS_URL: 'redis://r:1', TESSERA_JWT_SIGNING_KEY: 'k'.repeat(31) }, 'cli')).toStrictEqual([
      'TESSERA_JWT_SIGNING_KEY: must be at least 32 characters',
    ]);
  });

  it.each([
    ['TESSERA_PORT', '8080.0'],
    ['TESSERA_PORT', '+80'],
    ['TESSERA_PORT', '8e3'],
    ['TESSERA_PORT', 'eighty'],
    ['TESSERA_BODY_LIMIT', '16 KiB'],
    ['TESSERA_ARGON2_MEMORY_KIB', '99999999999999999999'],
  ])('refuses %s=%j', (name, value) => {
    expect(problemsOf({ ...BASE, [name]: value })).toHaveLength(1);
    expect(problemsOf({ ...BASE, [name]: value })[0]).toMatch(
      new RegExp(`^${name}=${JSON.stringify(value).replace(/[.+*]/g, '\\$&')}: expected a whole number from `),
    );
  });

  it.each(['/mo h', 'moh/', '/moh?x=1', '/mo#h', 'https://x/moh'])('refuses TESSERA_MOH_BASE=%j', (value) => {
    const problems = problemsOf({ ...BASE, TESSERA_MOH_BASE: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^TESSERA_MOH_BASE=".*": expected a path starting with \/$/);
  });
});

describe("SimpleJWT's signing settings", () => {
  it('reads the algorithm, the keys, the audience, the issuer, the leeway and the claim names', () => {
    const s = loadSettings({
      ...BASE,
      TESSERA_JWT_ALGORITHM: 'RS256',
      TESSERA_JWT_SIGNING_KEY: '/etc/tessera/jwt.pem',
      TESSERA_JWT_VERIFYING_KEY: '/etc/tessera/jwt.pub',
      TESSERA_JWT_AUDIENCE: 'api.example',
      TESSERA_JWT_ISSUER: 'https://login.example',
      TESSERA_JWT_LEEWAY: '30',
      TESSERA_JWT_USER_ID_CLAIM: 'uid',
      TESSERA_JWT_TOKEN_TYPE_CLAIM: 'typ_',
      TESSERA_JWT_JTI_CLAIM: 'id',
      TESSERA_JWT_SLIDING_REFRESH_EXP_CLAIM: 'until',
    });
    expect([s.jwtKey, s.jwtClaims]).toStrictEqual([
      { algorithm: 'RS256', signingKey: '/etc/tessera/jwt.pem', verifyingKey: '/etc/tessera/jwt.pub' },
      {
        audience: 'api.example',
        issuer: 'https://login.example',
        leeway: 30,
        userIdClaim: 'uid',
        tokenTypeClaim: 'typ_',
        jtiClaim: 'id',
        slidingRefreshExpClaim: 'until',
      },
    ]);
  });

  it('asks 32 characters of an HMAC secret only, and ignores a verifying key for HS*', () => {
    expect(problemsOf({ ...BASE, TESSERA_JWT_ALGORITHM: 'HS512', TESSERA_JWT_SIGNING_KEY: 'k'.repeat(31) })).toStrictEqual([
      'TESSERA_JWT_SIGNING_KEY: must be at least 32 characters',
    ]);
    expect(loadSettings({ ...BASE, TESSERA_JWT_ALGORITHM: 'EdDSA', TESSERA_JWT_SIGNING_KEY: 'k.pem' }).jwtKey).toStrictEqual({
      algorithm: 'EdDSA',
      signingKey: 'k.pem',
    });
    expect(loadSettings({ ...BASE, TESSERA_JWT_VERIFYING_KEY: 'k.pub' }).jwtKey).toStrictEqual({ algorithm: 'HS256', signingKey: KEY });
  });

  it('refuses an unknown algorithm, none among them, and claim names Tessera sets or that collide', () => {
    expect(
      problemsOf({
        ...BASE,
        TESSERA_JWT_ALGORITHM: 'none',
        TESSERA_JWT_USER_ID_CLAIM: 'exp',
        TESSERA_JWT_TOKEN_TYPE_CLAIM: 'kind',
        TESSERA_JWT_JTI_CLAIM: 'kind',
        TESSERA_JWT_SLIDING_REFRESH_EXP_CLAIM: 'iat',
        TESSERA_JWT_LEEWAY: '-1',
      }),
    ).toStrictEqual([
      'TESSERA_JWT_ALGORITHM="none": expected HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512 or EdDSA',
      'TESSERA_JWT_LEEWAY="-1": expected a whole number from 0 to 86400',
      'TESSERA_JWT_USER_ID_CLAIM="exp": expected a claim name (letters, digits, _ . : -) other than exp, iat, nbf, aud, iss, sub',
      'TESSERA_JWT_SLIDING_REFRESH_EXP_CLAIM="iat": expected a claim name (letters, digits, _ . : -) other than exp, iat, nbf, aud, iss, sub',
      'TESSERA_JWT_USER_ID_CLAIM, TESSERA_JWT_TOKEN_TYPE_CLAIM, TESSERA_JWT_JTI_CLAIM and TESSERA_JWT_SLIDING_REFRESH_EXP_CLAIM must be four different names',
    ]);
    // the sliding claim may not be another claim of the settings either
    expect(problemsOf({ ...BASE, TESSERA_JWT_SLIDING_REFRESH_EXP_CLAIM: 'user_id' })).toStrictEqual([
      'TESSERA_JWT_USER_ID_CLAIM, TESSERA_JWT_TOKEN_TYPE_CLAIM, TESSERA_JWT_JTI_CLAIM and TESSERA_JWT_SLIDING_REFRESH_EXP_CLAIM must be four different names',
    ]);
  });
});
