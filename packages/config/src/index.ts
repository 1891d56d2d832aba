/**
 * Environment → typed, validated settings. Every bad value is reported, one line each, in a single
 * `ConfigError`; nothing reads `process.env` elsewhere.
 */
import { PROXY_HEADERS, type ProxyHeader, parseCidr } from '@tessera/core';

export interface Settings {
  readonly host: string;
  readonly port: number;
  readonly opsPort: number;
  readonly redisUrl: string;
  /** Prefix of every Redis key Tessera writes (BullMQ queues included). */
  readonly redisPrefix: string;
  readonly redisCommandTimeoutMs: number;
  /** `{baseurl}` of document 000: '' or a path such as '/moh'. */
  readonly mohBase: string;
  readonly pebMirrorStatus: boolean;
  readonly bodyLimit: number;
  readonly jwtSigningKey: string;
  /** SimpleJWT ROTATE_REFRESH_TOKENS and BLACKLIST_AFTER_ROTATION. */
  readonly jwtRotateRefreshTokens: boolean;
  readonly jwtBlacklistAfterRotation: boolean;
  readonly lifetimes: {
    readonly ministryAccess: number;
    readonly ministryRefresh: number;
    readonly jwtAccess: number;
    readonly jwtRefresh: number;
    readonly peb: number;
  };
  /**
   * Live tokens kept per login family and login families (sessions) per user; past either, the
   * oldest are revoked (reason `evicted`), so every token operation costs Redis a bounded amount.
   */
  readonly tokenLimits: { readonly perFamily: number; readonly familiesPerUser: number };
  readonly argon2: { readonly memoryCost: number; readonly timeCost: number; readonly parallelism: number };
  /**
   * argon2 verifications at once (each holds one libuv thread and 19 MiB) and how long a login may
   * wait for one before "try later".
   */
  readonly verifyPool: { readonly size: number; readonly maxWaitMs: number };
  readonly lockout: {
    readonly maxFailures: number;
    readonly windowMs: number;
    readonly lockMs: number;
    readonly growth: number;
    readonly permanentAfter: number;
    readonly rateLimit: number;
    readonly rateWindowMs: number;
    /** How long a login may wait while N verifications of its identifier are in flight. */
    readonly busyWaitMs: number;
    /**
     * How long an opened attempt holds its reservation if it never closes (its process died):
     * longer than any attempt can take with these settings, so that never more than N verify.
     */
    readonly reservationMs: number;
  };
  /** Who may open the ops dashboard (HTTP Basic); no password: the dashboard is off. */
  readonly ops: { readonly user: string; readonly password: string };
  /** Audit sinks of the worker. */
  readonly audit: { readonly streamMaxLen: number; readonly dir: string };
  /**
   * The ingress's in-process memory of live access tokens for introspection, kept true by the
   * revocation push (off by default on a cluster, where pub/sub crosses the cluster bus).
   */
  readonly tokenCache: { readonly enabled: boolean; readonly maxEntries: number; readonly maxAgeMs: number };
  /** Ingress processes sharing the port (SO_REUSEPORT); started by the first one. */
  readonly ingressProcesses: number;
  /**
   * The proxies whose word on the client address is taken (addresses and CIDRs, as given): only
   * when the peer is one of them is `header` read, for its rightmost address that is not one of
   * them. None (the default): the client is the peer, and no header is read.
   */
  readonly proxies: { readonly trusted: readonly string[]; readonly header: ProxyHeader };
  /**
   * Lazy migration: per dialect, the old system's login endpoint that decides the first login of a
   * user Tessera does not know (or one imported as pending), with a timeout and a circuit breaker.
   */
  readonly upstream: {
    readonly urls: Readonly<Partial<Record<'moh' | 'nehr' | 'simplejwt' | 'peb', string>>>;
    readonly timeoutMs: number;
    /** The breaker opens when half the calls of the last 10 s failed, and there were at least this many. */
    readonly breakerVolume: number;
    /** An open breaker lets one call through again after this long. */
    readonly breakerCooldownMs: number;
    /** Calls in flight to one upstream at most; more are answered "unavailable" at once. */
    readonly concurrency: number;
    /** The upstreams are different old systems whose usernames name the same people (else only one system's may be set). */
    readonly sharedUsers: boolean;
  };
  readonly demo: boolean;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  constructor(readonly problems: readonly string[]) {
    super(`invalid settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export { SETTINGS_DOC, type SettingDoc } from './docs.ts';

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      this.problems.push(`${name}=${JSON.stringify(v)}: expected a whole number from ${min} to ${max}`);
      return fallback;
    }
    return Number(v);
  }

  num(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!/^\d+(\.\d+)?$/.test(v) || Number(v) < min || Number(v) > max) {
      this.problems.push(`${name}=${JSON.stringify(v)}: expected a number from ${min} to ${max}`);
      return fallback;
    }
    return Number(v);
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name)?.toLowerCase();
    if (v === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    this.problems.push(`${name}=${JSON.stringify(v)}: expected 1 or 0`);
    return fallback;
  }
}

const DAY = 86_400;

/** A URL safe to print: its password (if any) replaced by `***`. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

export interface LoadOptions {
  /** Which process reads them: the CLI needs no JWT key. Default 'service'. */
  readonly role?: 'service' | 'cli';
  /** CPU cores the process may use: the default argon2 concurrency. Unknown: UV_THREADPOOL_SIZE. */
  readonly cpus?: number;
}

/**
 * argon2 verifications at once: TESSERA_ARGON2_CONCURRENCY, else the CPU cores, never more than the
 * libuv threads (a verification holds a thread; beyond them they would queue unseen). argon2 is CPU
 * bound: beyond the cores a verification only adds its 19 MiB and context switches, and threads left
 * free run JWT signing without queueing behind a 19 MiB job.
 */
function verifyConcurrency(r: Reader, cpus: number | undefined): number {
  const threads = r.int('UV_THREADPOOL_SIZE', 4, 1, 1024);
  const fallback = cpus !== undefined && Number.isInteger(cpus) && cpus >= 1 ? Math.min(cpus, threads) : threads;
  const size = r.int('TESSERA_ARGON2_CONCURRENCY', fallback, 1, 1024);
  if (size > threads) {
    r.problems.push(`TESSERA_ARGON2_CONCURRENCY=${size}: at most UV_THREADPOOL_SIZE (${threads}), the threads that run argon2`);
    return threads;
  }
  return size;
}

const UPSTREAM_DIALECTS = ['moh', 'nehr', 'simplejwt', 'peb'] as const;

/** TESSERA_UPSTREAM_<DIALECT>_URL: an http(s) URL without credentials, or unset. */
function upstreamUrls(r: Reader): Settings['upstream']['urls'] {
  const urls: Partial<Record<(typeof UPSTREAM_DIALECTS)[number], string>> = {};
  for (const d of UPSTREAM_DIALECTS) {
    const name = `TESSERA_UPSTREAM_${d.toUpperCase()}_URL`;
    const raw = r.raw(name);
    if (raw === undefined) continue;
    let url: URL | null = null;
    try {
      url = new URL(raw);
    } catch {
      // reported below
    }
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '')
      r.problems.push(`${name}=${JSON.stringify(redactUrl(raw))}: expected an http:// or https:// URL without credentials`);
    else urls[d] = url.href;
  }
  return urls;
}

/** TESSERA_TRUSTED_PROXIES (addresses and CIDRs, separated by commas or spaces) and TESSERA_PROXY_HEADER. */
function proxies(r: Reader): Settings['proxies'] {
  const trusted: string[] = [];
  for (const entry of (r.raw('TESSERA_TRUSTED_PROXIES') ?? '').split(/[\s,]+/)) {
    if (entry === '') continue;
    if (parseCidr(entry) === null)
      r.problems.push(`TESSERA_TRUSTED_PROXIES: ${JSON.stringify(entry)}: expected an IPv4 or IPv6 address or CIDR (a.b.c.d/n, x:x::/n)`);
    else trusted.push(entry);
  }
  const header = r.string('TESSERA_PROXY_HEADER', 'x-forwarded-for').toLowerCase();
  if (!(PROXY_HEADERS as readonly string[]).includes(header)) {
    r.problems.push(`TESSERA_PROXY_HEADER=${JSON.stringify(header)}: expected x-forwarded-for or forwarded`);
    return { trusted, header: 'x-forwarded-for' };
  }
  return { trusted, header: header as ProxyHeader };
}

/** Reads and validates settings. `REDIS_URL` and (for services) the JWT key are required. Throws `ConfigError`. */
export function loadSettings(env: Env, options: LoadOptions = {}): Settings {
  const r = new Reader(env);
  const needsKey = (options.role ?? 'service') === 'service';
  const redisUrl = r.raw('REDIS_URL');
  if (redisUrl === undefined) r.problems.push('REDIS_URL is not set (npm start sets it for the embedded Redis)');
  else if (!/^(rediss?|redis-cluster):\/\//.test(redisUrl))
    r.problems.push(`REDIS_URL=${JSON.stringify(redactUrl(redisUrl))}: expected redis://host:port[/db] or redis-cluster://host:port,...`);
  const jwtSigningKey = r.raw('TESSERA_JWT_SIGNING_KEY');
  if (jwtSigningKey === undefined && needsKey) r.problems.push('TESSERA_JWT_SIGNING_KEY is not set (npm start generates one)');
  else if (jwtSigningKey !== undefined && jwtSigningKey.length < 32)
    r.problems.push('TESSERA_JWT_SIGNING_KEY: must be at least 32 characters');
  const mohBase = r.string('TESSERA_MOH_BASE', '').replace(/\/+$/, '');
  if (mohBase !== '' && (!/^\/[A-Za-z0-9._~\-/]*$/.test(mohBase) || mohBase.includes('//'))) {
    r.problems.push(`TESSERA_MOH_BASE=${JSON.stringify(mohBase)}: expected a path starting with /`);
  }
  const logLevel = r.string('TESSERA_LOG_LEVEL', 'info');
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel))
    r.problems.push(`TESSERA_LOG_LEVEL=${JSON.stringify(logLevel)}: expected debug, info, warn or error`);
  const read = {
    host: r.string('TESSERA_HOST', '0.0.0.0'),
    port: r.int('TESSERA_PORT', 8080, 0, 65535),
    opsPort: r.int('TESSERA_OPS_PORT', 8081, 0, 65535),
    redisUrl: redisUrl ?? '',
    redisPrefix: r.string('TESSERA_REDIS_PREFIX', 'tessera:'),
    redisCommandTimeoutMs: r.int('TESSERA_REDIS_TIMEOUT_MS', 2000, 50, 60_000),
    mohBase,
    pebMirrorStatus: r.bool('TESSERA_PEB_MIRROR_STATUS', false),
    bodyLimit: r.int('TESSERA_BODY_LIMIT', 16_384, 256, 1_048_576),
    jwtSigningKey: jwtSigningKey ?? '',
    jwtRotateRefreshTokens: r.bool('TESSERA_JWT_ROTATE_REFRESH_TOKENS', false),
    jwtBlacklistAfterRotation: r.bool('TESSERA_JWT_BLACKLIST_AFTER_ROTATION', false),
    lifetimes: {
      ministryAccess: r.int('TESSERA_MINISTRY_ACCESS_LIFETIME', DAY, 1, 365 * DAY),
      ministryRefresh: r.int('TESSERA_MINISTRY_REFRESH_LIFETIME', 30 * DAY, 1, 365 * DAY),
      jwtAccess: r.int('TESSERA_JWT_ACCESS_LIFETIME', 300, 1, 365 * DAY),
      jwtRefresh: r.int('TESSERA_JWT_REFRESH_LIFETIME', DAY, 1, 365 * DAY),
      peb: r.int('TESSERA_PEB_LIFETIME', 30 * DAY, 1, 365 * DAY),
    },
    tokenLimits: {
      perFamily: r.int('TESSERA_MAX_TOKENS_PER_FAMILY', 128, 4, 1024),
      familiesPerUser: r.int('TESSERA_MAX_SESSIONS_PER_USER', 128, 1, 1024),
    },
    argon2: {
      memoryCost: r.int('TESSERA_ARGON2_MEMORY_KIB', 19_456, 8, 4_194_304),
      timeCost: r.int('TESSERA_ARGON2_TIME_COST', 2, 1, 100),
      parallelism: r.int('TESSERA_ARGON2_PARALLELISM', 1, 1, 16),
    },
    verifyPool: { size: verifyConcurrency(r, options.cpus), maxWaitMs: r.int('TESSERA_ARGON2_MAX_WAIT_MS', 1000, 0, 60_000) },
    lockout: {
      maxFailures: r.int('TESSERA_LOCKOUT_FAILURES', 5, 1, 1000),
      windowMs: r.int('TESSERA_LOCKOUT_WINDOW_S', 900, 1, 30 * DAY) * 1000,
      lockMs: r.int('TESSERA_LOCKOUT_DURATION_S', 900, 1, 30 * DAY) * 1000,
      growth: r.num('TESSERA_LOCKOUT_GROWTH', 2, 1, 100),
      permanentAfter: r.int('TESSERA_LOCKOUT_PERMANENT_AFTER', 0, 0, 1000),
      rateLimit: r.int('TESSERA_LOGIN_RATE_LIMIT', 600, 0, 10_000_000),
      rateWindowMs: r.int('TESSERA_LOGIN_RATE_WINDOW_S', 60, 1, DAY) * 1000,
      busyWaitMs: r.int('TESSERA_LOGIN_BUSY_WAIT_MS', 3000, 0, 60_000),
    },
    ops: { user: r.string('TESSERA_OPS_USER', 'ops'), password: r.raw('TESSERA_OPS_PASSWORD') ?? '' },
    audit: {
      streamMaxLen: r.int('TESSERA_AUDIT_STREAM_MAXLEN', 1_000_000, 100, 1_000_000_000),
      dir: r.string('TESSERA_AUDIT_DIR', '.tessera/audit'),
    },
    tokenCache: {
      enabled: r.bool('TESSERA_TOKEN_CACHE', !(redisUrl ?? '').startsWith('redis-cluster://')),
      maxEntries: r.int('TESSERA_TOKEN_CACHE_ENTRIES', 20_000, 1, 100_000),
      maxAgeMs: r.int('TESSERA_TOKEN_CACHE_MAX_AGE_MS', 5000, 1, 60_000),
    },
    ingressProcesses: r.int('TESSERA_INGRESS_PROCESSES', 1, 1, 256),
    proxies: proxies(r),
    upstream: {
      urls: upstreamUrls(r),
      timeoutMs: r.int('TESSERA_UPSTREAM_TIMEOUT_MS', 3000, 50, 60_000),
      breakerVolume: r.int('TESSERA_UPSTREAM_BREAKER_VOLUME', 5, 1, 10_000),
      breakerCooldownMs: r.int('TESSERA_UPSTREAM_BREAKER_COOLDOWN_MS', 30_000, 100, 3_600_000),
      concurrency: r.int('TESSERA_UPSTREAM_CONCURRENCY', 32, 1, 10_000),
      sharedUsers: r.bool('TESSERA_UPSTREAM_SHARED_USERS', false),
    },
    demo: r.bool('TESSERA_DEMO', false),
    logLevel: logLevel as Settings['logLevel'],
  };
  // an attempt's longest life: a wait for argon2, the old system, the Redis steps around them
  const reservationMs = read.verifyPool.maxWaitMs + read.upstream.timeoutMs + 4 * read.redisCommandTimeoutMs + 10_000;
  const settings: Settings = { ...read, lockout: { ...read.lockout, reservationMs: Math.max(30_000, reservationMs) } };
  // moh and nehr are one system (the ministry's); SimpleJWT and PEB are others
  const systems = [...new Set(Object.keys(settings.upstream.urls).map((d) => (d === 'nehr' ? 'moh' : d)))];
  if (systems.length > 1 && !settings.upstream.sharedUsers)
    r.problems.push(
      `TESSERA_UPSTREAM_*_URL name ${systems.length} old systems (${systems.join(', ')}): one username would go to whichever vouches first; ` +
        'set TESSERA_UPSTREAM_SHARED_USERS=1 if their usernames name the same people, or migrate one system at a time',
    );
  if (settings.ingressProcesses > 1 && settings.port === 0)
    r.problems.push('TESSERA_INGRESS_PROCESSES > 1 needs a fixed TESSERA_PORT (the processes share it)');
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return settings;
}

/**
 * For a service's entry point: the settings, or one line per problem on stderr and exit code 2.
 * `exit` and `write` are the process's (parameters only so this module stays free of globals).
 */
export function settingsOrExit(
  service: string,
  env: Env,
  write: (text: string) => void,
  exit: (code: number) => never,
  options: LoadOptions = {},
): Settings {
  try {
    return loadSettings(env, options);
  } catch (err) {
    if (err instanceof ConfigError) {
      write(`tessera ${service}: ${err.message}\n`);
      return exit(2);
    }
    throw err;
  }
}
