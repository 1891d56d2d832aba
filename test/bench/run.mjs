// npm run bench: Tessera's benchmark suite, in ONE run on this machine, every figure next to a
// ceiling measured in the same run (a bare hyper-express route; raw argon2id verify).
//   node test/bench/run.mjs [--seconds 10] [--processes 1] [--smoke] [--only login]
// --only login: the ceilings and the login scenarios alone (quick iteration on the login path).
// Needs wrk and redis-server (Debian packages) and a build (npm run build). Loopback only, bounded
// in time. Writes bench-results/latest.json and bench-results/latest.svg, prints a table.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import { verify } from '@node-rs/argon2';
import { loadSettings } from '@tessera/config';
import { jwtSigner, mintToken } from '@tessera/core';
import { INGRESS_NODE_FLAGS } from '@tessera/ingress/flags';
import { PasswordHasher } from '@tessera/passwords';
import { ClientRepository, connectRedis, keyLayout, TokenRepository, UserRepository } from '@tessera/store';

const { values } = parseArgs({
  options: { seconds: { type: 'string' }, processes: { type: 'string' }, smoke: { type: 'boolean' }, only: { type: 'string' } },
});
const smoke = values.smoke === true;
if (values.only !== undefined && values.only !== 'login') {
  console.error(`bench: --only ${values.only}: expected --only login`);
  process.exit(2);
}
const onlyLogin = values.only === 'login';
const seconds = Number(values.seconds ?? (smoke ? '1' : '10'));
const processes = Number(values.processes ?? '1');
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
// The ceiling runs as many verifications at once as each ingress does (its settings, its cores).
const threads = loadSettings(env, { cpus: availableParallelism() }).verifyPool.size;

// Users, a client, and tokens written straight to Redis for the single-use operations.
const password = 'Bench-Password-123';
const hasher = new PasswordHasher();
const phc = await hasher.hash(password);
const redis = await connectRedis({ url: redisUrl, commandTimeoutMs: 30_000 });
const keys = keyLayout('tessera:');
const users = new UserRepository(redis, keys);
const USERS = 64;
for (let i = 0; i < USERS; i++) await users.create({ username: `bench${i}`, email: `bench${i}@example.com`, passwordHash: phc });
const owner = await users.get('bench0');
const secret = await new ClientRepository(redis, keys).add('bench-client');
const auth = `Basic ${Buffer.from(`bench-client:${secret}`).toString('base64')}`;
const tokens = new TokenRepository(redis, keys);
const lifetimes = { ministryAccess: 86_400, ministryRefresh: 2_592_000, jwtAccess: 300, jwtRefresh: 86_400, peb: 2_592_000 };
const signer = jwtSigner(key);
async function mintMany(format, kind, dialect, n) {
  const values = [];
  for (let start = 0; start < n; start += 2000) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(2000, n - start) }, () =>
        mintToken(format, kind, { now: Date.now(), userId: owner.id, lifetimes, signer }),
      ),
    );
    await tokens.save(batch, (g) => ({
      kind: g.kind,
      format: g.format,
      dialect,
      userId: owner.id,
      username: owner.username,
      scopes: owner.scopes,
      iat: Math.floor(g.issuedAt / 1000),
      exp: Math.floor(g.expiresAt / 1000),
      family: crypto.randomUUID(),
      ...(g.jti === undefined ? {} : { jti: g.jti }),
    }));
    values.push(...batch.map((g) => g.value));
  }
  return values;
}
const perSecondGuess = onlyLogin ? 0 : smoke ? 2_000 : 12_000;
const ministryRefresh = await mintMany('uuid', 'refresh', 'moh', perSecondGuess * seconds);
const revocable = await mintMany('uuid', 'access', 'moh', perSecondGuess * seconds);
const [uuid] = await mintMany('uuid', 'access', 'moh', 1);
const [hex] = await mintMany('hex128', 'access', 'peb', 1);
const [jwtAccess] = await mintMany('jwt', 'access', 'simplejwt', 1);
const [jwtRefresh] = await mintMany('jwt', 'refresh', 'simplejwt', 1);

// Redis memory per live opaque token: 100k of them, INFO memory before and after.
const memoryTokens = onlyLogin ? 0 : smoke ? 10_000 : 100_000;
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
const before = await usedMemory();
await mintMany('uuid', 'access', 'moh', memoryTokens);
const bytesPerToken = onlyLogin ? NaN : ((await usedMemory()) - before) / memoryTokens;

// The ceilings: a bare hyper-express JSON route in its own process; raw argon2id verify.
const bare = spawn(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    `import H from 'hyper-express'; const s = new H.Server(); s.post('/bare', (q, r) => r.json({ active: false })); await s.listen(${barePort}, '127.0.0.1');`,
  ],
  { cwd: 'services/ingress', stdio: 'inherit' },
);
children.push(bare);
const ingresses = [];
for (let i = 0; i < processes; i++) {
  const p = spawn(process.execPath, [...INGRESS_NODE_FLAGS, 'services/ingress/dist/main.js'], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(p);
  ingresses.push(p);
}
await sleep(1500);

let verified = 0;
const argonUntil = Date.now() + Math.max(1000, seconds * 500);
const argonStart = Date.now();
await Promise.all(
  Array.from({ length: threads * processes }, async () => {
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
    // each wrk thread takes every other line, so no value is sent twice
    // wrk runs 2 threads: setup() numbers them, and thread k sends lines k, k+2, k+4...: no value twice
    script += `local threads = 0\nsetup = function(thread) thread:set("offset", threads); threads = threads + 1 end\n`;
    script += `local values = {}\nfor l in io.lines("${list}") do values[#values + 1] = l end\nlocal i = 0\n`;
    script += `request = function() local v = values[(offset + i * 2) % #values + 1]; i = i + 1; return wrk.format(nil, nil, nil, "${opts.field}=" .. v) end\n`;
  } else if (opts.users) {
    script += `local i = 0\nrequest = function() i = i + 1; return wrk.format(nil, nil, nil, "${opts.field}=bench" .. (i % ${USERS}) .. "&password=${password}") end\n`;
  } else {
    script += `wrk.body = "${opts.body}"\n`;
  }
  script += `done = function(summary, latency, requests) io.write(string.format("SUMMARY %d %d %d %d %f %f\\n", summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.duration, latency:percentile(50), latency:percentile(99), 0)) end\n`;
  writeFileSync(file, script);
  return file;
}

async function wrk(url, opts, connections = 64) {
  const rss = [];
  const sampler = setInterval(() => {
    for (const p of ingresses) {
      try {
        rss.push(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024);
      } catch {}
    }
  }, 200);
  const args = ['-t2', `-c${connections}`, `-d${seconds}s`, '-s', luaFor(opts), url];
  // asynchronously, so the RSS sampler runs while wrk does
  const res = await promisify(execFile)('wrk', args, { encoding: 'utf8' }).catch((err) => ({
    stdout: err.stdout ?? '',
    stderr: err.stderr ?? String(err),
  }));
  clearInterval(sampler);
  const m = /SUMMARY (\d+) (\d+) (\d+) (\d+) ([\d.]+)/.exec(res.stdout ?? '');
  if (m === null) throw new Error(`wrk failed: ${res.stdout}${res.stderr}`);
  const [requests, errors, durationUs, p50us, p99us] = m.slice(1).map(Number);
  return { rps: requests / (durationUs / 1e6), errors, p50ms: p50us / 1000, p99ms: p99us / 1000, maxRssBytes: Math.max(0, ...rss) };
}

const t = `http://127.0.0.1:${port}`;
const results = [];
const record = (name, r, ceilingName, ceiling, target) => {
  results.push({ name, ...r, ceiling: ceilingName, ratio: r.rps / ceiling, target });
};
const bareRun = await wrk(`http://127.0.0.1:${barePort}/bare`, { body: 'token=x' });
results.push({ name: 'bare hyper-express route (ceiling)', ...bareRun, ceiling: 'itself', ratio: 1 });
results.push({
  name: 'raw argon2id verify (ceiling)',
  rps: argonCeiling,
  errors: 0,
  p50ms: NaN,
  p99ms: NaN,
  maxRssBytes: 0,
  ceiling: 'itself',
  ratio: 1,
});
for (const [route, field] of [
  ['/getUserToken', 'username'],
  ['/nehrapi/login/getToken', 'username'],
  ['/api/token/', 'username'],
  ['/v1/login', 'user'],
]) {
  record(`login ${route}`, await wrk(`${t}${route}`, { users: true, field }, 16), 'argon2', argonCeiling, 0.9);
}
if (!onlyLogin) {
  record(
    'refresh ministry (nehr route, single-use)',
    await wrk(`${t}/nehrapi/login/refreshToken`, { lines: ministryRefresh, field: 'refresh_token' }),
    'bare',
    bareRun.rps,
    0.5,
  );
  record('refresh SimpleJWT', await wrk(`${t}/api/token/refresh/`, { body: `refresh=${jwtRefresh}` }), 'bare', bareRun.rps, 0.5);
  record('PEB check', await wrk(`${t}/v1/login/check`, { body: `token=${hex}` }), 'bare', bareRun.rps, undefined);
  record('introspect UUID', await wrk(`${t}/oauth/introspect`, { body: `token=${uuid}`, auth }), 'bare', bareRun.rps, 0.8);
  record('introspect 128-hex', await wrk(`${t}/oauth/introspect`, { body: `token=${hex}`, auth }), 'bare', bareRun.rps, 0.8);
  record('introspect JWT', await wrk(`${t}/oauth/introspect`, { body: `token=${jwtAccess}`, auth }), 'bare', bareRun.rps, 0.8);
  record(
    'revoke (access tokens)',
    await wrk(`${t}/oauth/revoke`, { lines: revocable, field: 'token', auth }),
    'bare',
    bareRun.rps,
    undefined,
  );
}

const maxRss = Math.max(...results.map((r) => r.maxRssBytes ?? 0));
stopAll();
redis.disconnect();

const report = {
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  settings: {
    seconds,
    processes,
    only: values.only ?? 'all',
    argon2Concurrency: threads,
    argon2: 'm=19456 t=2 p=1',
    wrk: '-t2 -c64 (logins -c16)',
    smoke,
  },
  results,
  redisBytesPerOpaqueToken: bytesPerToken,
  ingressMaxRssBytes: maxRss,
  targets: {
    login: '>= 90% of raw argon2 verify',
    introspection: '>= 80% of the bare route',
    refresh: '>= 50% of the bare route',
    redisBytesPerToken: '<= 300',
    ingressRss: '<= 150 MB',
  },
};
const name = smoke ? 'smoke' : onlyLogin ? 'login' : 'latest';
writeFileSync(join(out, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);

// Table
const pad = (s, n) => String(s).padEnd(n);
const num = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–');
console.log(
  `\nTessera benchmark — ${report.at}, ${report.machine.cpus} cores (${report.machine.model}), ${processes} ingress process(es), argon2 concurrency ${threads} per process, ${seconds} s each\n`,
);
console.log(`${pad('scenario', 38)}${pad('req/s', 10)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('errors', 8)}${pad('ratio', 18)}target`);
for (const r of results) {
  const ratio = r.ceiling === 'itself' ? 'ceiling' : `${num(r.ratio * 100, 1)}% of ${r.ceiling}`;
  const target = r.target === undefined ? '' : r.ratio >= r.target ? `met (>= ${r.target * 100}%)` : `MISSED (>= ${r.target * 100}%)`;
  console.log(
    `${pad(r.name, 38)}${pad(num(r.rps), 10)}${pad(num(r.p50ms, 2), 9)}${pad(num(r.p99ms, 2), 9)}${pad(r.errors, 8)}${pad(ratio, 18)}${target}`,
  );
}
console.log(
  `\nRedis memory per live opaque token: ${num(bytesPerToken, 0)} bytes (target <= 300) ${bytesPerToken <= 300 ? 'met' : 'MISSED'}`,
);
console.log(
  `Ingress RSS max during the run: ${num(maxRss / 1048576, 1)} MB (target <= 150 MB) ${maxRss <= 150 * 1048576 ? 'met' : 'MISSED'}`,
);

// Chart: each scenario's ratio to its ceiling against its target
const rows = results.filter((r) => r.ceiling !== 'itself');
const h = 34 * rows.length + 60;
let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="${h}" font-family="sans-serif" font-size="13" role="img"><title>Tessera benchmark: throughput as a share of its ceiling</title>`;
svg += `<rect width="760" height="${h}" fill="#fff"/><text x="10" y="22" font-size="15" font-weight="600">Tessera: throughput as a share of its ceiling (${report.at.slice(0, 10)}, ${report.machine.cpus} cores)</text>`;
rows.forEach((r, i) => {
  const y = 40 + i * 34;
  const w = Math.min(1.2, r.ratio) * 400;
  const ok = r.target === undefined || r.ratio >= r.target;
  svg += `<text x="10" y="${y + 17}">${r.name}</text><rect x="260" y="${y + 4}" width="${w}" height="18" fill="${ok ? '#2da44e' : '#cf222e'}"/>`;
  if (r.target !== undefined)
    svg += `<line x1="${260 + r.target * 400}" x2="${260 + r.target * 400}" y1="${y}" y2="${y + 26}" stroke="#000" stroke-dasharray="3,2"/>`;
  svg += `<text x="${265 + w}" y="${y + 17}">${(r.ratio * 100).toFixed(1)}%</text>`;
});
svg += '</svg>\n';
writeFileSync(join(out, `${name}.svg`), svg);
console.log(`\nwrote ${join(out, `${name}.json`)} and ${join(out, `${name}.svg`)}`);
process.exit(0);
