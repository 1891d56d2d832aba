// npm run bench: Tessera's benchmark suite, in ONE run on this machine, every figure next to a
// ceiling measured in the same run (a bare hyper-express route; raw argon2id verify).
//   node test/bench/start.cjs [--seconds 10] [--processes N] [--smoke] [--only login]
// --processes: ingress processes (default: as many as the ingress runs by default, one per core).
// --only login: the ceilings and the login scenarios alone (quick iteration on the login path).
// --only import: `tessera users import` of pre-hashed users (import.mjs); --only legacy: login cost of
// each legacy password hash format before and after its upgrade (legacy.mjs); --only algorithms: SimpleJWT
// verify and introspection per signing algorithm, and the SDK's offline check of each (algorithms.mjs).
// Needs wrk and redis-server (Debian packages) and a build (npm run build). Loopback only, bounded
// in time. Writes bench-results/latest.json and bench-results/latest.svg, prints a table.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import { verify } from '@node-rs/argon2';
import { loadSettings } from '@tessera/config';
import { hmacJwtKey, JwtSigner, mintToken } from '@tessera/core';
import { INGRESS_NODE_FLAGS } from '@tessera/ingress/flags';
import { PasswordHasher } from '@tessera/passwords';
import { ClientRepository, connectRedis, keyLayout, TokenRepository, UserRepository } from '@tessera/store';
import { measureAlgorithms } from './algorithms.mjs';
import { importLine, measureImport } from './import.mjs';
import { legacyLines, measureLegacyLogins } from './legacy.mjs';
import { measureTokenMemory } from './memory.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    processes: { type: 'string' },
    smoke: { type: 'boolean' },
    only: { type: 'string' },
    // --profile DIR: the ingress runs under --cpu-prof and writes its profile into DIR (where the time goes)
    profile: { type: 'string' },
  },
});
// --only login,deno,refresh,check,introspect,revoke,half-rate,scaling,memory,import,legacy,algorithms: a part of the run (ceilings always)
const only = values.only === undefined ? null : new Set(values.only.split(','));
const part = (name) => only === null || only.has(name);
const smoke = values.smoke === true;
const PARTS = [
  'login',
  'deno',
  'refresh',
  'check',
  'introspect',
  'revoke',
  'half-rate',
  'scaling',
  'memory',
  'import',
  'legacy',
  'algorithms',
];
for (const p of only ?? []) {
  if (!PARTS.includes(p)) {
    console.error(`bench: --only ${values.only}: expected some of ${PARTS.join(',')}`);
    process.exit(2);
  }
}
const seconds = Number(values.seconds ?? (smoke ? '1' : '10'));
/**
 * The load generator scales with the machine: wrk's threads from the cores (half of them: the
 * other half serve), at least 2, so that it measures the service and not itself.
 */
const WRK_THREADS = Math.max(2, Math.floor(availableParallelism() / 2));
const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
const out = join(process.cwd(), 'bench-results');
mkdirSync(out, { recursive: true });

for (const tool of ['wrk', 'redis-server']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`bench: ${tool} is not installed (apt-get install -y ${tool === 'wrk' ? 'wrk' : 'redis-server'})`);
    process.exit(2);
  }
}

const basePort = 21000 + Math.floor(Math.random() * 20000);
const redisPort = basePort;
const port = basePort + 1;
const barePort = basePort + 2;
const redisUrl = `redis://127.0.0.1:${redisPort}`;
const children = [];
const stopAll = () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
};
process.on('exit', stopAll);
const redisProc = spawn(
  'redis-server',
  ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
  { stdio: 'ignore' },
);
children.push(redisProc);
await sleep(300);

const key = 'bench-signing-key-0123456789abcdef0123456789';
const env = {
  ...process.env,
  REDIS_URL: redisUrl,
  TESSERA_PORT: String(port),
  TESSERA_HOST: '127.0.0.1',
  TESSERA_JWT_SIGNING_KEY: key,
  TESSERA_LOG_LEVEL: 'warn',
  TESSERA_LOGIN_RATE_LIMIT: '0',
};
// The raw argon2 ceiling runs on every core: start.cjs sized this process's pool for it. The
// ingress sizes its own pool, unless UV_THREADPOOL_SIZE was set before the bench started.
if (process.env.UV_THREADPOOL_SIZE === undefined) {
  console.error('bench: start it with node test/bench/start.cjs (npm run bench): libuv threads must be sized first');
  process.exit(2);
}
if (globalThis.benchSizedThreadpool === true) delete env.UV_THREADPOOL_SIZE;
const CORES = availableParallelism();
/** Ingress processes: as given, else the ingress's own default (`auto`: one per core). */
const processes = Number(values.processes ?? loadSettings(env, { cpus: CORES }).ingressProcesses);
/** argon2 verifications at once in each ingress process, as its settings work them out (its share of the cores). */
const threads = loadSettings({ ...env, TESSERA_INGRESS_PROCESSES: String(processes) }, { cpus: CORES }).verifyPool.size;
/**
 * The ingress's RSS target (issue 14), per process: 100 MB, plus argon2's memory cost for each
 * verification that process may run at once.
 */
const argon2Settings = loadSettings(env, { cpus: CORES }).argon2;
const RSS_TARGET_BYTES = 100 * 1048576 + argon2Settings.memoryCost * 1024 * threads;
/** The Deno ingress runs one process (main-deno.ts): every core's verifications, and its own RSS target. */
const denoThreads = loadSettings({ ...env, TESSERA_INGRESS_PROCESSES: '1' }, { cpus: CORES }).verifyPool.size;
const DENO_RSS_TARGET_BYTES = 100 * 1048576 + argon2Settings.memoryCost * 1024 * denoThreads;
/** Login load: at least two connections per verification slot of every ingress process, so none sits idle. */
const LOGIN_CONNECTIONS = Math.max(16, 2 * threads * processes);

// Users, a client, and tokens written straight to Redis for the single-use operations.
const password = 'Bench-Password-123';
const hasher = new PasswordHasher();
const phc = await hasher.hash(password);
const redis = await connectRedis({ url: redisUrl, commandTimeoutMs: 30_000 });
const keys = keyLayout('tessera:', loadSettings(env).accountShards);
const users = new UserRepository(redis, keys);
const USERS = 64;
for (let i = 0; i < USERS; i++) await users.create({ username: `bench${i}`, email: `bench${i}@example.com`, passwordHash: phc });
// Minted tokens each open a login family of their own, and a user keeps at most 128 of them
// (TESSERA_MAX_SESSIONS_PER_USER): past that the oldest are revoked. Each owner below gets 100.
const FAMILIES_PER_OWNER = 100;
let owners = 0;
async function newOwners(n) {
  const names = Array.from({ length: n }, () => `owner${owners++}`);
  await Promise.all(names.map((name) => users.create({ username: name, email: `${name}@example.com`, passwordHash: phc })));
  return Promise.all(names.map((name) => users.get(name)));
}
const secret = await new ClientRepository(redis, keys).add('bench-client');
const auth = `Basic ${Buffer.from(`bench-client:${secret}`).toString('base64')}`;
const tokens = new TokenRepository(redis, keys, loadSettings(env).tokenLimits);
const lifetimes = { ministryAccess: 86_400, ministryRefresh: 2_592_000, jwtAccess: 300, jwtRefresh: 86_400, peb: 2_592_000 };
const hs256 = await hmacJwtKey(key, 'HS256');
const defaultSigner = new JwtSigner({ active: hs256, keys: [hs256] });
async function mintMany(format, kind, dialect, n, signer = defaultSigner) {
  const values = [];
  const mine = await newOwners(Math.ceil(n / FAMILIES_PER_OWNER));
  for (let start = 0; start < n; start += 2000) {
    const ownerOf = new Map();
    const batch = await Promise.all(
      Array.from({ length: Math.min(2000, n - start) }, async (_, j) => {
        const owner = mine[Math.floor((start + j) / FAMILIES_PER_OWNER)];
        const grant = await mintToken(format, kind, { now: Date.now(), userId: owner.id, lifetimes, signer });
        ownerOf.set(grant, owner);
        return grant;
      }),
    );
    await tokens.save(batch, (g) => ({
      kind: g.kind,
      format: g.format,
      dialect,
      userId: ownerOf.get(g).id,
      username: ownerOf.get(g).username,
      scopes: ownerOf.get(g).scopes,
      iat: Math.floor(g.issuedAt / 1000),
      exp: Math.floor(g.expiresAt / 1000),
      family: crypto.randomUUID(),
      ...(g.jti === undefined ? {} : { jti: g.jti }),
    }));
    values.push(...batch.map((g) => g.value));
  }
  return values;
}
// enough single-use tokens that none is sent twice (refresh runs ~6k/s, revocation ~12k/s here)
const perSecondGuess = 16_000;
const ministryRefresh = part('refresh') ? await mintMany('uuid', 'refresh', 'moh', perSecondGuess * seconds) : [];
const revocable = part('revoke') ? await mintMany('uuid', 'access', 'moh', perSecondGuess * seconds) : [];
// more distinct tokens than an ingress process remembers (TESSERA_TOKEN_CACHE_ENTRIES, 20 000): every lookup reads Redis
const distinct = part('introspect') ? await mintMany('uuid', 'access', 'moh', smoke ? 25_000 : 50_000) : [];
const [uuid] = await mintMany('uuid', 'access', 'moh', 1);
const [hex] = await mintMany('hex128', 'access', 'peb', 1);
const [jwtAccess] = await mintMany('jwt', 'access', 'simplejwt', 1);
// SimpleJWT refresh tokens stay valid when used (no rotation): many clients, each refreshing its own
const jwtRefreshes = part('refresh') ? await mintMany('jwt', 'refresh', 'simplejwt', smoke ? 500 : 5_000) : [];

// Redis memory per live opaque token: 100k moh tokens of 10k users in a database of their own
// (memory.mjs says how; `node test/bench/memory.mjs` runs it alone).
const memoryTokens = smoke ? 10_000 : 100_000;
const bytesPerToken = !part('memory')
  ? Number.NaN
  : await measureTokenMemory({ redisUrl: `${redisUrl}/1`, tokens: memoryTokens, users: memoryTokens / 10 });

// The ceilings: a bare hyper-express JSON route, in as many processes as the ingress has; raw
// argon2id verify on as many threads as cores (all the ingress processes together verify on
// those); the same bare route on node:http, the server the ingress runs on (what the server costs,
// what Tessera does: the ceiling of answers from memory), and that route with one Redis GET (the
// Redis path's), both in as many processes as the ingress, sharing the port as its processes do.
const BARE = `import H from 'hyper-express'; const s = new H.Server(); s.post('/bare', (q, r) => r.json({ active: false })); await s.listen(${barePort}, '127.0.0.1');`;
const BARE_NODE = `const { createServer } = await import('node:http'); createServer((q, r) => { q.resume(); q.on('end', () => { const b = '{"active":false}'; r.writeHead(200, { 'content-type': 'application/json', 'content-length': String(b.length) }); r.end(b); }); }).listen(${barePort}, '127.0.0.1');`;
// The Redis-path ceiling: the same node:http route, reading the body whole, then one GET through
// the ingress's own Redis client and connection setup (the store's connectRedis: auto-pipelined).
const BARE_REDIS = `const { createServer } = await import('node:http'); const { connectRedis } = await import('@tessera/store'); const redis = await connectRedis({ url: '${redisUrl}' }); await redis.set('bench:ceiling', '{}'); createServer((q, r) => { const chunks = []; q.on('data', (c) => chunks.push(c)); q.on('end', () => { Buffer.concat(chunks); redis.get('bench:ceiling').then(() => { const b = '{"active":false}'; r.writeHead(200, { 'content-type': 'application/json', 'content-length': String(b.length) }); r.end(b); }); }); }).listen(${barePort}, '127.0.0.1');`;

/** Descendant pids of a process (the ingress's sibling processes). */
function family(pid) {
  const out = [pid];
  try {
    for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean))
      out.push(...family(Number(c)));
  } catch {}
  return out;
}

/**
 * Waits until `url` answers (any HTTP status, or only a 2xx with `ok`), for at most `ms`; throws,
 * naming what was started, if it never does or if one of `procs` exits first. A server that has
 * not started yet would otherwise meet wrk with "connection refused" (the machine may be busy).
 */
async function untilAnswers(what, url, procs, { ok = false, init, ms = 60_000 } = {}) {
  const until = Date.now() + ms;
  for (;;) {
    const gone = procs.find((p) => p.exitCode !== null);
    if (gone !== undefined) throw new Error(`bench: ${what} exited (code ${gone.exitCode}) before it answered ${url}`);
    const answered = await fetch(url, init).then(
      (r) => (ok ? r.ok : true),
      () => false,
    );
    if (answered) return;
    if (Date.now() > until) throw new Error(`bench: ${what} did not answer ${url} within ${ms / 1000} s`);
    await sleep(100);
  }
}

async function startBare(n, code = BARE) {
  const procs = Array.from({ length: n }, () =>
    spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: 'services/ingress', stdio: 'inherit' }),
  );
  children.push(...procs);
  await untilAnswers('the bare hyper-express route', bareUrl, procs, { init: { method: 'POST', body: 'token=x' } });
  // every process listening, not only the first
  await sleep(300 * n);
  return { pids: () => procs.map((p) => p.pid), stop: () => stopProcs(procs) };
}

/**
 * A node:http ceiling in `n` processes sharing one listening socket, each accepting for itself as
 * the ingress's processes do (node:cluster, SCHED_NONE; Node 20 has no SO_REUSEPORT). Written to a
 * file under bench-results/ so that workers can run it again and it resolves the workspace's packages.
 */
async function startBareNode(n, body) {
  const file = join(out, `ceiling-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(
    file,
    `import cluster from 'node:cluster';\nif (cluster.isPrimary && ${n} > 1) { cluster.schedulingPolicy = cluster.SCHED_NONE; for (let i = 0; i < ${n}; i++) cluster.fork(); } else { ${body} }\n`,
  );
  const p = spawn(process.execPath, [file], { stdio: 'inherit' });
  children.push(p);
  await untilAnswers('a node:http ceiling', bareUrl, [p], { init: { method: 'POST', body: 'token=x' } });
  // every worker accepting, not only the first
  await sleep(300 * n);
  return {
    pids: () => family(p.pid),
    stop: async () => {
      await stopProcs([p]);
      rmSync(file, { force: true });
    },
  };
}

async function startIngress(n, extra = {}) {
  const profiling = values.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values.profile}`];
  const p = spawn(process.execPath, [...INGRESS_NODE_FLAGS, ...profiling, 'services/ingress/bin/ingress.cjs'], {
    env: { ...env, TESSERA_INGRESS_PROCESSES: String(n), ...extra },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(p);
  await untilAnswers('the ingress', `http://127.0.0.1:${port}/readyz`, [p], { ok: true });
  while (family(p.pid).length < n) {
    if (p.exitCode !== null) throw new Error(`bench: the ingress exited (code ${p.exitCode})`);
    await sleep(100);
  }
  await sleep(300 * n);
  return { pids: () => family(p.pid), stop: () => stopProcs([p]) };
}

/** The Deno ingress (`npm run start:deno`, one process), ready when it answers /readyz. */
async function startDenoIngress() {
  // its own process group: npm does not pass SIGTERM on to deno, so the group is stopped whole
  const p = spawn('npm', ['run', '--silent', 'start:deno'], { env, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  const group = {
    get exitCode() {
      return p.exitCode;
    },
    pid: p.pid,
    kill: (signal) => {
      try {
        process.kill(-p.pid, signal);
      } catch {
        // the group is gone already
      }
    },
    once: (e, f) => p.once(e, f),
  };
  children.push(group);
  await untilAnswers('the Deno ingress', `http://127.0.0.1:${port}/readyz`, [group], { ok: true });
  await sleep(300);
  return { pids: () => family(p.pid), stop: () => stopProcs([group]) };
}

async function stopProcs(procs) {
  await Promise.all(
    procs.map((p) =>
      p.exitCode !== null
        ? undefined
        : new Promise((resolve) => {
            p.once('exit', resolve);
            p.kill('SIGTERM');
          }),
    ),
  );
}

let verified = 0;
const argonUntil = Date.now() + Math.max(1000, seconds * 500);
const argonStart = Date.now();
await Promise.all(
  Array.from({ length: CORES }, async () => {
    while (Date.now() < argonUntil) {
      await verify(phc, password);
      verified++;
    }
  }),
);
const argonCeiling = verified / ((Date.now() - argonStart) / 1000);

function luaFor(opts) {
  const file = join(dir, `s${Math.random().toString(36).slice(2)}.lua`);
  let script = `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n`;
  if (opts.auth) script += `wrk.headers["Authorization"] = "${opts.auth}"\n`;
  if (opts.lines) {
    const list = join(dir, `l${Math.random().toString(36).slice(2)}.txt`);
    writeFileSync(list, opts.lines.join('\n'));
    // wrk runs WRK_THREADS threads: setup() numbers them, and thread k sends lines k, k+T, k+2T...: no value twice
    script += `local threads = 0\nsetup = function(thread) thread:set("offset", threads); threads = threads + 1 end\n`;
    script += `local values = {}\nfor l in io.lines("${list}") do values[#values + 1] = l end\nlocal i = 0\n`;
    script += `request = function() local v = values[(offset + i * ${WRK_THREADS}) % #values + 1]; i = i + 1; return wrk.format(nil, nil, nil, "${opts.field}=" .. v) end\n`;
  } else if (opts.users) {
    script += `local i = 0\nrequest = function() i = i + 1; return wrk.format(nil, nil, nil, "${opts.field}=bench" .. (i % ${USERS}) .. "&password=${password}") end\n`;
  } else {
    script += `wrk.body = "${opts.body}"\n`;
  }
  // a fixed pause between a connection's requests: an offered rate instead of "as fast as it goes"
  if (opts.delayMs) script += `delay = function() return ${opts.delayMs} end\n`;
  script += `done = function(summary, latency, requests) io.write(string.format("SUMMARY %d %d %d %d %f %f\\n", summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.duration, latency:percentile(50), latency:percentile(99), 0)) end\n`;
  writeFileSync(file, script);
  return file;
}

/** CPU time (user + system) of processes so far, ms. */
function cpuMs(list) {
  let ms = 0;
  for (const pid of list) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ms += ((Number(f[11]) + Number(f[12])) * 1000) / 100;
    } catch {}
  }
  return ms;
}

async function wrk(url, opts, pids, connections = 64, duration = seconds) {
  const rss = [];
  const cpu0 = [cpuMs(pids()), cpuMs([redisProc.pid])];
  const sampler = setInterval(() => {
    for (const pid of pids()) {
      try {
        rss.push(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024);
      } catch {}
    }
  }, 200);
  const args = [`-t${Math.min(WRK_THREADS, connections)}`, `-c${connections}`, `-d${duration}s`, '-s', luaFor(opts), url];
  // asynchronously, so the RSS sampler runs while wrk does
  const res = await promisify(execFile)('wrk', args, { encoding: 'utf8' }).catch((err) => ({
    stdout: err.stdout ?? '',
    stderr: err.stderr ?? String(err),
  }));
  clearInterval(sampler);
  const cpu = [cpuMs(pids()) - cpu0[0], cpuMs([redisProc.pid]) - cpu0[1]];
  const m = /SUMMARY (\d+) (\d+) (\d+) (\d+) ([\d.]+)/.exec(res.stdout ?? '');
  if (m === null) throw new Error(`wrk failed: ${res.stdout}${res.stderr}`);
  const [requests, errors, durationUs, p50us, p99us] = m.slice(1).map(Number);
  return {
    rps: requests / (durationUs / 1e6),
    errors,
    p50ms: p50us / 1000,
    p99ms: p99us / 1000,
    maxRssBytes: Math.max(0, ...rss),
    // where the time goes: CPU of the ingress (or the bare route) and of Redis per request
    serverCpuUs: (cpu[0] * 1000) / requests,
    redisCpuUs: (cpu[1] * 1000) / requests,
  };
}

const t = `http://127.0.0.1:${port}`;
const bareUrl = `http://127.0.0.1:${barePort}/bare`;
const results = [];
/** The ingress's own view of its memory right after a scenario (prom-client's process metrics), MB. */
async function memoryView() {
  try {
    const text = await (await fetch(`${t}/metrics`)).text();
    const mb = (name) => Number(new RegExp(`^tessera_ingress_${name}(?:\\{[^}]*\\})? ([\\d.e+]+)$`, 'm').exec(text)?.[1]) / 1048576;
    return {
      rssMb: mb('process_resident_memory_bytes'),
      heapUsedMb: mb('nodejs_heap_size_used_bytes'),
      heapTotalMb: mb('nodejs_heap_size_total_bytes'),
      externalMb: mb('nodejs_external_memory_bytes'),
    };
  } catch {
    return undefined;
  }
}
const record = async (name, r, ceilingName, ceiling, target, runtime = 'node') => {
  results.push({ name, ...r, ceiling: ceilingName, ratio: r.rps / ceiling, target, runtime, memory: await memoryView() });
};

let bare = await startBare(processes);
const bareRun = await wrk(bareUrl, { body: 'token=x' }, bare.pids);
await bare.stop();
// as many processes as the ingress, sharing the port as its processes do
bare = await startBareNode(processes, BARE_NODE);
const bareNodeRun = await wrk(bareUrl, { body: 'token=x' }, bare.pids);
await bare.stop();
bare = await startBareNode(processes, BARE_REDIS);
const bareRedisRun = await wrk(bareUrl, { body: 'token=x' }, bare.pids);
await bare.stop();
let ingress = await startIngress(processes);
const pids = () => ingress.pids();
results.push({ name: 'bare hyper-express route (ceiling)', ...bareRun, ceiling: 'itself', ratio: 1 });
results.push({ name: 'bare node:http route (its server)', ...bareNodeRun, ceiling: 'bare', ratio: bareNodeRun.rps / bareRun.rps });
results.push({ name: 'node:http + 1 Redis GET (ceiling)', ...bareRedisRun, ceiling: 'itself', ratio: 1 });
results.push({
  name: `raw argon2id verify, ${CORES} threads (ceiling)`,
  rps: argonCeiling,
  errors: 0,
  p50ms: Number.NaN,
  p99ms: Number.NaN,
  maxRssBytes: 0,
  ceiling: 'itself',
  ratio: 1,
});
if (part('login'))
  for (const [route, field] of [
    ['/getUserToken', 'username'],
    ['/nehrapi/login/getToken', 'username'],
    ['/api/token/', 'username'],
    ['/v1/login', 'user'],
  ]) {
    await record(`login ${route}`, await wrk(`${t}${route}`, { users: true, field }, pids, LOGIN_CONNECTIONS), 'argon2', argonCeiling, 0.9);
  }
if (part('refresh')) {
  await record(
    'refresh ministry (nehr route, single-use)',
    await wrk(`${t}/nehrapi/login/refreshToken`, { lines: ministryRefresh, field: 'refresh_token' }, pids),
    'redis',
    bareRedisRun.rps,
    0.5,
  );
  await record(
    'refresh SimpleJWT (5k clients)',
    await wrk(`${t}/api/token/refresh/`, { lines: jwtRefreshes, field: 'refresh' }, pids),
    'redis',
    bareRedisRun.rps,
    0.5,
  );
}
if (part('check'))
  await record('PEB check', await wrk(`${t}/v1/login/check`, { body: `token=${hex}` }, pids), 'redis', bareRedisRun.rps, 0.8);
// p99 of UUID introspection at half its maximum rate: 64 connections, each pausing between
// requests; the pause is set from a first pass so that the offered rate is half the maximum.
async function measureHalfRate(maxRps) {
  const target = maxRps / 2;
  const probe = (delayMs, c) =>
    wrk(`${t}/oauth/introspect`, { body: `token=${uuid}`, auth, delayMs }, pids, c, Math.max(2, Math.ceil(seconds / 2)));
  // wrk's pause is whole milliseconds: pick the connections that give the rate with a 2 ms pause
  let connections = Math.max(1, Math.round((target * 2) / 1000));
  let run = await probe(2, connections);
  connections = Math.max(1, Math.round((connections * target) / run.rps));
  run = await probe(2, connections);
  return { targetRps: target, rps: run.rps, p50ms: run.p50ms, p99ms: run.p99ms, connections, errors: run.errors };
}

let introspectUuid;
let halfRate = null;
if (part('introspect')) {
  introspectUuid = await wrk(`${t}/oauth/introspect`, { body: `token=${uuid}`, auth }, pids);
  // from the token memory: against the node:http route that reads the same body (the ingress's server)
  await record('introspect UUID', introspectUuid, 'node:http', bareNodeRun.rps, 0.9);
  // right after the max-rate run, in the same state (before the 50k-distinct run churns the token memory)
  if (part('half-rate')) halfRate = await measureHalfRate(introspectUuid.rps);
  await record(
    'introspect 128-hex',
    await wrk(`${t}/oauth/introspect`, { body: `token=${hex}`, auth }, pids),
    'node:http',
    bareNodeRun.rps,
    0.9,
  );
  await record(
    'introspect JWT',
    await wrk(`${t}/oauth/introspect`, { body: `token=${jwtAccess}`, auth }, pids),
    'node:http',
    bareNodeRun.rps,
    0.9,
  );
  await record(
    `introspect UUID, ${distinct.length / 1000}k distinct (Redis)`,
    await wrk(`${t}/oauth/introspect`, { lines: distinct, field: 'token', auth }, pids),
    'redis',
    bareRedisRun.rps,
    0.8,
  );
}

if (part('revoke'))
  await record(
    'revoke (access tokens)',
    await wrk(`${t}/oauth/revoke`, { lines: revocable, field: 'token', auth }, pids),
    'redis',
    bareRedisRun.rps,
    0.8,
  );
// Legacy password hashes: sequential logins through this ingress, each scheme's first login
// (legacy verify + rehash) and later ones (legacy.mjs says how; `node test/bench/legacy.mjs` runs it alone).
const legacy = part('legacy')
  ? await measureLegacyLogins({ baseUrl: t, redisUrl, prefix: 'tessera:', env, k: smoke ? 3 : 20, repeats: smoke ? 3 : 5 })
  : null;
await ingress.stop();

// The same logins on the Deno ingress (one process, its own thread pool for argon2): the issue's
// "same on Deno" for the login target.
if (part('deno')) {
  const deno = await startDenoIngress();
  for (const [route, field] of [
    ['/api/token/', 'username'],
    ['/v1/login', 'user'],
  ])
    await record(
      `login ${route} on Deno`,
      await wrk(`${t}${route}`, { users: true, field }, deno.pids, LOGIN_CONNECTIONS),
      'argon2',
      argonCeiling,
      0.9,
      'deno',
    );
  await deno.stop();
}
// SimpleJWT's signing algorithms: an ingress signing with each in turn (algorithms.mjs says how;
// its figures are rows of the table, each next to its ceiling).
if (part('algorithms'))
  for (const row of await measureAlgorithms({
    seconds: Math.min(seconds, 3),
    baseUrl: t,
    redisUrl,
    auth,
    startIngress: (extra) => startIngress(processes, extra),
    mint: (signer) => mintMany('jwt', 'access', 'simplejwt', 1, signer).then(([token]) => token),
    wrk: (path, token, pids, duration) => wrk(`${t}${path}`, { body: `token=${token}`, auth }, pids, 64, duration),
  }))
    if (row.ceiling === 'itself') results.push({ name: row.name, ...row.run, ceiling: 'itself', ratio: 1 });
    else await record(row.name, row.run, row.ceiling, row.ceiling === 'bare' ? bareRun.rps : row.ceilingRps, undefined);

// `tessera users import` of pre-hashed users on a private Redis of the embedded settings, against
// bare pipelined writes to it (import.mjs says how; `node test/bench/import.mjs` runs it alone).
const imported = part('import') ? await measureImport({ users: smoke ? 10_000 : 100_000 }) : null;

// Scaling from 1 to 2 ingress processes: the bare route and UUID introspection with each.
let scaling = null;
if (part('scaling') && !smoke) {
  const runs = {};
  for (const n of [1, 2]) {
    bare = await startBare(n);
    const b = await wrk(bareUrl, { body: 'token=x' }, bare.pids);
    await bare.stop();
    ingress = await startIngress(n);
    const i = await wrk(`${t}/oauth/introspect`, { body: `token=${uuid}`, auth }, () => ingress.pids());
    await ingress.stop();
    runs[n] = { bareRps: b.rps, introspectRps: i.rps, introspectP99ms: i.p99ms, ratio: i.rps / b.rps, maxRssBytes: i.maxRssBytes };
  }
  scaling = {
    one: runs[1],
    two: runs[2],
    bareGain: runs[2].bareRps / runs[1].bareRps,
    introspectGain: runs[2].introspectRps / runs[1].introspectRps,
  };
}

const maxRss = Math.max(...results.filter((r) => r.runtime !== 'deno').map((r) => r.maxRssBytes ?? 0));
const denoRss = Math.max(0, ...results.filter((r) => r.runtime === 'deno').map((r) => r.maxRssBytes ?? 0));
stopAll();
redis.disconnect();

const report = {
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  settings: {
    seconds,
    processes,
    argon2Concurrency: threads,
    argon2CeilingThreads: CORES,
    argon2: 'm=19456 t=2 p=1',
    wrk: `-t${WRK_THREADS} -c64 (logins -c${LOGIN_CONNECTIONS})`,
    smoke,
    only: values.only ?? null,
  },
  results,
  halfRate,
  scaling,
  redisBytesPerOpaqueToken: bytesPerToken,
  import: imported,
  legacyLogins: legacy,
  ingressMaxRssBytes: maxRss,
  denoIngressMaxRssBytes: denoRss,
  targets: {
    login: '>= 90% of raw argon2 verify',
    introspection: '>= 90% of the node:http route from memory, >= 80% of the Redis path from Redis; p99 <= 2 ms at half of the max rate',
    refresh: '>= 50% of the Redis path',
    check: '>= 80% of the Redis path',
    revoke: '>= 80% of the Redis path',
    redisBytesPerToken: '<= 300',
    ingressRss: `<= 100 MB + argon2 memory x ${threads} verifications = ${(RSS_TARGET_BYTES / 1048576).toFixed(1)} MB`,
    import: '>= 20000 users/s (absolute, as the issue states it; the ratio to bare pipelined writes is printed too)',
  },
};
const name = smoke ? 'smoke' : only === null ? 'latest' : 'partial';
writeFileSync(join(out, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);

// Table
const pad = (s, n) => String(s).padEnd(n);
const num = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const mb = (b) => `${num(b / 1048576, 1)} MB`;
console.log(
  `\nTessera benchmark — ${report.at}, ${report.machine.cpus} cores (${report.machine.model}), ${processes} ingress process(es), argon2 concurrency ${threads} per process, ${seconds} s each\n`,
);
console.log(
  `${pad('scenario', 43)}${pad('req/s', 10)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('errors', 8)}${pad('cpu us/req', 15)}${pad('ratio', 22)}target`,
);
for (const r of results) {
  const ratio = r.ceiling === 'itself' ? 'ceiling' : `${num(r.ratio * 100, 1)}% of ${r.ceiling}`;
  const target = r.target === undefined ? '' : r.ratio >= r.target ? `met (>= ${r.target * 100}%)` : `MISSED (>= ${r.target * 100}%)`;
  console.log(
    `${pad(r.name, 43)}${pad(num(r.rps), 10)}${pad(num(r.p50ms, 2), 9)}${pad(num(r.p99ms, 2), 9)}${pad(r.errors, 8)}${pad(r.serverCpuUs === undefined ? '' : `${num(r.serverCpuUs, 1)}+${num(r.redisCpuUs, 1)}`, 15)}${pad(ratio, 22)}${target}`,
  );
}
if (halfRate !== null)
  console.log(
    `\nIntrospection at half its max rate: ${num(halfRate.rps)} req/s offered by ${halfRate.connections} paced connections (target ${num(halfRate.targetRps)}): p50 ${num(halfRate.p50ms, 2)} ms, p99 ${num(halfRate.p99ms, 2)} ms (target <= 2 ms) ${halfRate.p99ms <= 2 ? 'met' : 'MISSED'}`,
  );
if (scaling !== null)
  console.log(
    `Scaling 1 -> 2 ingress processes: bare route ${num(scaling.one.bareRps)} -> ${num(scaling.two.bareRps)} req/s (x${num(scaling.bareGain, 2)}); introspect UUID ${num(scaling.one.introspectRps)} -> ${num(scaling.two.introspectRps)} req/s (x${num(scaling.introspectGain, 2)}); ratio to bare ${num(scaling.one.ratio * 100, 1)}% -> ${num(scaling.two.ratio * 100, 1)}%`,
  );
if (Number.isFinite(bytesPerToken))
  console.log(
    `Redis memory per live opaque token: ${num(bytesPerToken, 0)} bytes (target <= 300) ${bytesPerToken <= 300 ? 'met' : 'MISSED'}`,
  );
console.log(
  `Ingress RSS max during the run (per process): ${mb(maxRss)} (target <= 100 MB + argon2 memory x ${threads} = ${mb(RSS_TARGET_BYTES)}) ${maxRss <= RSS_TARGET_BYTES ? 'met' : 'MISSED'}`,
);
if (denoRss > 0)
  console.log(
    `Deno ingress RSS max during its logins: ${mb(denoRss)} (target <= 100 MB + argon2 memory x ${denoThreads} = ${mb(DENO_RSS_TARGET_BYTES)}) ${denoRss <= DENO_RSS_TARGET_BYTES ? 'met' : 'MISSED'}`,
  );
if (imported !== null) console.log(importLine(imported));
if (legacy !== null) console.log(`\n${legacyLines(legacy).join('\n')}`);

// Chart: each scenario's ratio to its ceiling against its target
const rows = results.filter((r) => r.ceiling !== 'itself');
const h = 34 * rows.length + 60;
let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="${h}" font-family="sans-serif" font-size="13" role="img"><title>Tessera benchmark: throughput as a share of its ceiling</title>`;
svg += `<rect width="760" height="${h}" fill="#fff"/><text x="10" y="22" font-size="15" font-weight="600">Tessera: throughput as a share of its ceiling (${report.at.slice(0, 10)}, ${report.machine.cpus} cores)</text>`;
rows.forEach((r, i) => {
  const y = 40 + i * 34;
  const w = Math.min(1.2, r.ratio) * 400;
  const ok = r.target === undefined || r.ratio >= r.target;
  svg += `<text x="10" y="${y + 17}">${r.name}</text><rect x="280" y="${y + 4}" width="${w}" height="18" fill="${ok ? '#2da44e' : '#cf222e'}"/>`;
  if (r.target !== undefined)
    svg += `<line x1="${280 + r.target * 400}" x2="${280 + r.target * 400}" y1="${y}" y2="${y + 26}" stroke="#000" stroke-dasharray="3,2"/>`;
  svg += `<text x="${285 + w}" y="${y + 17}">${(r.ratio * 100).toFixed(1)}%</text>`;
});
svg += '</svg>\n';
writeFileSync(join(out, `${name}.svg`), svg);
console.log('\ncpu us/req: CPU time per request of the server (ingress or bare route) + of Redis, from /proc');
console.log(`\nwrote ${join(out, `${name}.json`)} and ${join(out, `${name}.svg`)}`);
process.exit(0);
