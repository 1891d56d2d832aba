// A first look at introspection throughput against the bare-route ceiling, in one run on this
// machine: wrk against (1) a bare hyper-express JSON route in its own process, (2) Tessera's
// /oauth/introspect with a UUID token, (3) with a JWT. Same wrk settings for all three.
// Usage: node test/bench/introspect-first-look.mjs [seconds]   (needs wrk, redis-server; npm run build first)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const seconds = Number(process.argv[2] ?? '10');
const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
const base = 20000 + Math.floor(Math.random() * 20000);
const [redisPort, port, barePort] = [base, base + 1, base + 2];
const redisUrl = `redis://127.0.0.1:${redisPort}`;
const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--dir', dir], { stdio: 'ignore' });
await sleep(300);
const env = {
  ...process.env,
  REDIS_URL: redisUrl,
  TESSERA_PORT: String(port),
  TESSERA_HOST: '127.0.0.1',
  TESSERA_JWT_SIGNING_KEY: 'x'.repeat(40),
  TESSERA_LOG_LEVEL: 'warn',
  TESSERA_LOGIN_RATE_LIMIT: '0',
  TESSERA_ARGON2_MEMORY_KIB: '1024',
  TESSERA_ARGON2_TIME_COST: '1',
};
const cli = (args, input = '') => spawnSync(process.execPath, ['packages/cli/bin/tessera.js', ...args], { env, input, encoding: 'utf8' });
cli(['users', 'add', 'bench', '--password-stdin'], 'Bench-Password-123\n');
const secret = /secret: (\S+)/.exec(cli(['clients', 'add', 'bench-client']).stdout)[1];
const bare = spawn(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    `import H from 'hyper-express'; const s = new H.Server(); s.post('/bare', (q, r) => r.json({ active: false })); await s.listen(${barePort}, '127.0.0.1');`,
  ],
  { cwd: 'services/ingress', stdio: 'inherit' },
);
const ingress = spawn(process.execPath, ['services/ingress/dist/main.js'], { env, stdio: 'inherit' });
await sleep(1500);
const login = async (path, body) =>
  (await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body: new URLSearchParams(body) })).json();
const uuid = (await login('/getUserToken', { username: 'bench', password: 'Bench-Password-123' })).result.access_token;
const jwt = (await login('/api/token/', { username: 'bench', password: 'Bench-Password-123' })).access;

function run(url, body, auth) {
  const lua = join(dir, `s${Math.random()}.lua`);
  writeFileSync(
    lua,
    `wrk.method = "POST"\nwrk.body = "${body}"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n` +
      (auth ? `wrk.headers["Authorization"] = "${auth}"\n` : '') +
      `done = function(summary, latency, requests) io.write(string.format("non2xx=%d\\n", summary.errors.status)) end\n`,
  );
  const out = spawnSync('wrk', ['-t2', '-c64', `-d${seconds}s`, '--latency', '-s', lua, url], { encoding: 'utf8' }).stdout;
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p99: /99%\s+(\S+)/.exec(out)?.[1],
    non2xx: /non2xx=(\d+)/.exec(out)?.[1],
  };
}
const auth = `Basic ${Buffer.from(`bench-client:${secret}`).toString('base64')}`;
const check = await (
  await fetch(`http://127.0.0.1:${port}/oauth/introspect`, {
    method: 'POST',
    headers: { authorization: auth },
    body: new URLSearchParams({ token: jwt }),
  })
).json();
if (check.active !== true) throw new Error(`JWT not active: ${JSON.stringify(check)}`);
const ceiling = run(`http://127.0.0.1:${barePort}/bare`, 'token=x');
const u = run(`http://127.0.0.1:${port}/oauth/introspect`, `token=${uuid}`, auth);
const j = run(`http://127.0.0.1:${port}/oauth/introspect`, `token=${jwt}`, auth);
for (const p of [ingress, bare, redis]) p.kill('SIGTERM');
const pct = (x) => `${((100 * x.rps) / ceiling.rps).toFixed(1)}%`;
console.log('wrk -t2 -c64, one ingress process, 2 cores shared by wrk, ingress and Redis');
console.log(`bare hyper-express route: ${ceiling.rps.toFixed(0)} req/s, p99 ${ceiling.p99}`);
console.log(`introspect UUID: ${u.rps.toFixed(0)} req/s, p99 ${u.p99}, non-2xx ${u.non2xx} => ${pct(u)} of the bare route`);
console.log(`introspect JWT:  ${j.rps.toFixed(0)} req/s, p99 ${j.p99}, non-2xx ${j.non2xx} => ${pct(j)} of the bare route`);
