// A first look at login throughput against its ceiling, measured in one run on this machine:
// raw argon2id verifies/s (same parameters, same number of libuv threads as the ingress), then
// logins/s through one route under wrk. The benchmark suite proper is `npm run bench` (later).
// Usage: node test/bench/login-first-look.mjs [route] [seconds]   (needs wrk and redis-server; run npm run build first)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { verify } from '@node-rs/argon2';
import { PasswordHasher } from '@tessera/passwords';
import { connectRedis, keyLayout, UserRepository } from '@tessera/store';

const route = process.argv[2] ?? '/v1/login';
const seconds = Number(process.argv[3] ?? '10');
const threads = Number(process.env.UV_THREADPOOL_SIZE ?? '4');
const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
const redisPort = 20000 + Math.floor(Math.random() * 20000);
const port = redisPort + 1;
const redisUrl = `redis://127.0.0.1:${redisPort}`;
const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--dir', dir], { stdio: 'ignore' });
await sleep(300);

const hasher = new PasswordHasher();
const password = 'Bench-Password-123';
const phc = await hasher.hash(password);
const r = await connectRedis({ url: redisUrl });
// 64 users, logged in round-robin: a realistic spread of identifiers (the lockout allows at most
// N verifications in flight per identifier, so one hot account would measure that limit instead)
const users = new UserRepository(r, keyLayout('tessera:'));
for (let i = 0; i < 64; i++) await users.create({ username: `bench${i}`, email: `bench${i}@example.com`, passwordHash: phc });
r.disconnect();

// Ceiling: `threads` verifies in flight at all times for `seconds`.
let done = 0;
const until = Date.now() + seconds * 1000;
await Promise.all(
  Array.from({ length: threads }, async () => {
    while (Date.now() < until) {
      await verify(phc, password);
      done++;
    }
  }),
);
const ceiling = done / seconds;

const ingress = spawn(process.execPath, ['services/ingress/dist/main.js'], {
  env: {
    ...process.env,
    REDIS_URL: redisUrl,
    TESSERA_PORT: String(port),
    TESSERA_HOST: '127.0.0.1',
    TESSERA_JWT_SIGNING_KEY: 'x'.repeat(40),
    TESSERA_LOG_LEVEL: 'warn',
    // one client address sends everything: no per-address rate limit for the measurement
    TESSERA_LOGIN_RATE_LIMIT: '0',
  },
  stdio: 'inherit',
});
await sleep(1500);
const field = { '/v1/login': 'user', '/getUserToken': 'username', '/nehrapi/login/getToken': 'username', '/api/token': 'username' }[route];
const lua = join(dir, 'post.lua');
writeFileSync(
  lua,
  `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\nlocal i = 0\n` +
    `request = function() i = i + 1; return wrk.format(nil, nil, nil, "${field}=bench" .. (i % 64) .. "&password=${password}") end\n` +
    `done = function(summary, latency, requests) io.write(string.format("non2xx=%d\\n", summary.errors.status)) end\n`,
);
const wrk = spawnSync('wrk', ['-t2', '-c16', `-d${seconds}s`, '--latency', '-s', lua, `http://127.0.0.1:${port}${route}`], {
  encoding: 'utf8',
});
ingress.kill('SIGTERM');
redis.kill('SIGTERM');
const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(wrk.stdout)?.[1] ?? 'NaN');
const p99 = /99%\s+(\S+)/.exec(wrk.stdout)?.[1];
console.log(wrk.stdout);
console.log(`cores: ${availableParallelism()}, libuv threads: ${threads}, argon2id m=19456 t=2 p=1`);
console.log(`ceiling (raw argon2id verify): ${ceiling.toFixed(1)}/s`);
console.log(`login ${route}: ${rps.toFixed(1)}/s, p99 ${p99} => ${((100 * rps) / ceiling).toFixed(1)}% of ceiling`);
