import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { redactUrl } from '@tessera/config';
import { INGRESS_NODE_FLAGS } from '@tessera/ingress/flags';
import { newRedisClient } from '@tessera/store';
import { CliError, cliSettings, embeddedRedisPort, KEK_FILE, openContext, stateDirOf } from '../context.ts';
import { seedDemoUsers } from '../demo.ts';

const require = createRequire(import.meta.url);

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * How the embedded Redis runs, as infra/redis/redis.conf configures a production one: AOF on, RDB
 * snapshots off, no eviction (tokens and queued events must never vanish silently), and hashes
 * kept compact up to 128-byte values (a user record holds its password hash: ~97 bytes of
 * argon2id, up to ~90 of a Django hash; over Redis's default of 64 a user costs twice the memory).
 */
export const EMBEDDED_REDIS_TUNING: readonly string[] = [
  '--appendonly',
  'yes',
  '--appendfsync',
  'everysec',
  '--save',
  '',
  '--maxmemory-policy',
  'noeviction',
  '--hash-max-listpack-value',
  '128',
];

/** Finds redis-server, installing it with apt where we are root; otherwise one line says how. */
export function ensureRedisServer(log: (line: string) => void): string {
  const found = which('redis-server');
  if (found !== null) return found;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && which('apt-get') !== null) {
    log('redis-server not found: installing it with apt-get (Debian package redis-server)');
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    const install = spawnSync('apt-get', ['install', '-y', '-qq', 'redis-server'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    const again = which('redis-server');
    if (update.status === 0 && install.status === 0 && again !== null) return again;
  }
  throw new CliError('redis-server is not installed: run `sudo apt-get install -y redis-server` (or set REDIS_URL to a running Redis)');
}

async function waitForRedis(url: string, child: ChildProcess | null, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // the embedded Redis (a redis:// URL of ours) may have died: its port was taken
    if (child !== null && child.exitCode !== null)
      throw new CliError(`embedded redis-server exited with code ${child.exitCode} (is port ${new URL(url).port} in use?)`);
    // one Redis or a cluster (redis-cluster://host:port,...), as the services will connect
    const r = newRedisClient(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    r.on('error', () => {});
    try {
      await Promise.race([
        r.connect().then(() => r.ping()),
        sleep(1000).then(() => Promise.reject(new Error('no answer within a second'))),
      ]);
      r.disconnect();
      return;
    } catch {
      r.disconnect();
      await sleep(100);
    }
  }
  throw new CliError(`Redis at ${redactUrl(url)} did not answer within ${timeoutMs / 1000} s`);
}

function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A secret of this checkout: the variable's value when set, else one generated once into
 * `.tessera/<file>` (mode 600) and read from there after: the ops password, the JWT key, the KEK.
 */
function stateSecret(stateDir: string, file: string, fromEnv: string, make: () => string): string {
  if (fromEnv !== '') return fromEnv;
  const path = join(stateDir, file);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const secret = make();
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** How `tessera up` starts a crashed ingress or worker again. */
export const RESTART = Object.freeze({ firstDelayMs: 1000, maxDelayMs: 30_000, maxDeaths: 5, windowMs: 60_000 });

/**
 * `tessera up` (what `npm start` runs): Redis (embedded when REDIS_URL is unset), demo users,
 * then ingress and worker as child processes, each started again if it crashes. Ctrl-C stops
 * all of them.
 */
export async function upCommand(log: (line: string) => void): Promise<number> {
  // read as the CLI reads them (no JWT key yet: one is generated below); bad settings stop here
  const settings = cliSettings(process.env);
  const stateDir = stateDirOf(process.env);
  mkdirSync(join(stateDir, 'redis'), { recursive: true });
  /** The ingress and worker processes running now (a restarted one replaces its predecessor). */
  const children = new Map<string, ChildProcess>();
  const restarts: ReturnType<typeof setTimeout>[] = [];
  let redisChild: ChildProcess | null = null;
  let redisUrl = process.env.REDIS_URL ?? '';
  const embedded = redisUrl === '';
  if (embedded) {
    const bin = ensureRedisServer(log);
    const port = embeddedRedisPort(process.env);
    redisUrl = `redis://127.0.0.1:${port}`;
    if (await portTaken(port)) {
      throw new CliError(
        `port ${port} is already in use: set REDIS_URL to use a running Redis, or TESSERA_EMBEDDED_REDIS_PORT to move the embedded one`,
      );
    }
    redisChild = spawn(
      bin,
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(port),
        '--dir',
        join(stateDir, 'redis'),
        ...EMBEDDED_REDIS_TUNING,
        '--daemonize',
        'no',
        '--logfile',
        join(stateDir, 'redis', 'redis.log'),
      ],
      { stdio: 'ignore' },
    );
    log(`embedded redis-server (pid ${redisChild.pid}) on ${redisUrl}, data in ${join(stateDir, 'redis')}`);
  }
  const stopAll = async (code: number): Promise<number> => {
    for (const t of restarts) clearTimeout(t);
    const running = [...children.values()].filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of running) c.kill('SIGTERM');
    await Promise.all(running.map((c) => new Promise((r) => c.once('exit', r))));
    if (redisChild !== null && redisChild.exitCode === null) {
      redisChild.kill('SIGTERM'); // redis-server flushes the AOF and exits on SIGTERM
      await new Promise((r) => redisChild?.once('exit', r));
    }
    return code;
  };
  try {
    await waitForRedis(redisUrl, redisChild, 10_000);
  } catch (err) {
    await stopAll(1);
    throw err;
  }
  const env = {
    ...process.env,
    REDIS_URL: redisUrl,
    TESSERA_JWT_SIGNING_KEY: stateSecret(stateDir, 'jwt-signing-key', settings.jwtKey.signingKey, () => randomBytes(32).toString('hex')),
    TESSERA_OPS_PASSWORD: stateSecret(stateDir, 'ops-password', settings.ops.password, () => randomBytes(18).toString('base64url')),
    TESSERA_KEK: stateSecret(stateDir, KEK_FILE, settings.kek, () => randomBytes(32).toString('base64')),
  };
  log(
    `ops dashboard: http://127.0.0.1:${settings.opsPort}/dashboard (user ${settings.ops.user}, password in ${join(stateDir, 'ops-password')} unless TESSERA_OPS_PASSWORD is set)`,
  );
  if (embedded || settings.demo) {
    const ctx = await openContext(env);
    try {
      const created = await seedDemoUsers(ctx.users, ctx.hasher);
      log(created.length > 0 ? `demo users created: ${created.join(', ')}` : 'demo users already present');
    } finally {
      await ctx.close();
    }
  }
  return new Promise<number>((done) => {
    let stopping = false;
    const stop = (code: number) => {
      if (stopping) return;
      stopping = true;
      void stopAll(code).then(done);
    };
    process.once('SIGINT', () => stop(0));
    process.once('SIGTERM', () => stop(0));
    /**
     * Runs one child, and starts it again when it dies: after 1 s, doubling up to 30 s (back to 1 s
     * once it has run a minute); the others keep serving meanwhile. A child that dies 5 times
     * within a minute, or exits with a settings or set-up error (codes 2 and 3: starting it again
     * cannot help), stops the stack with exit code 1.
     */
    const supervise = (name: string, entry: string, flags: readonly string[] = []) => {
      const deaths: number[] = [];
      let delay: number = RESTART.firstDelayMs;
      const launch = () => {
        const child = spawn(process.execPath, [...flags, entry], { env, stdio: ['ignore', 'inherit', 'inherit'] });
        const startedAt = Date.now();
        children.set(name, child);
        child.once('exit', (code, signal) => {
          if (stopping) return;
          const how = signal === null ? `code ${code}` : signal;
          if (code === 2 || code === 3) {
            log(`${name} cannot start (${how}); stopping the stack`);
            return stop(code);
          }
          const now = Date.now();
          deaths.push(now);
          while ((deaths[0] as number) < now - RESTART.windowMs) deaths.shift();
          if (deaths.length >= RESTART.maxDeaths) {
            log(`${name} died ${deaths.length} times within a minute (last: ${how}); stopping the stack`);
            return stop(1);
          }
          if (now - startedAt >= RESTART.windowMs) delay = RESTART.firstDelayMs;
          log(`${name} exited (${how}); starting it again in ${delay / 1000} s`);
          restarts.push(setTimeout(launch, delay));
          delay = Math.min(delay * 2, RESTART.maxDelayMs);
        });
      };
      launch();
    };
    supervise('ingress', require.resolve('@tessera/ingress/main'), INGRESS_NODE_FLAGS);
    supervise('worker', require.resolve('@tessera/worker/main'));
    redisChild?.once('exit', (code) => {
      if (!stopping) log(`embedded redis-server exited (code ${code}); stopping the stack`);
      stop(1);
    });
  });
}
