// `tessera users import` of pre-hashed users, against the embedded Redis's own settings
// (EMBEDDED_REDIS_TUNING: AOF everysec, noeviction, hashes compact up to 128-byte values) on a
// private redis-server started here (free loopback port, data in a temp folder, stopped after).
//
// The file: N users as NDJSON (100 000; 10 000 with --smoke), each with a username, an email and a
// pre-hashed password taken from packages/passwords/test/fixtures/legacy-hashes.json (the same
// string repeats): 80 % Django pbkdf2_sha256, 12 % bcrypt, 8 % argon2id; every other row keeps
// its `id`. The real CLI (`node packages/cli/bin/tessera.js users import FILE`) imports it as a
// child process with stdout a pipe (plain progress lines, no bar), timed wall-clock from spawn to
// exit (Node's start-up included: it is what an operator waits for). Its summary line must say
// every row was created.
//
// The ceiling, on the same server (another prefix, run first, then FLUSHALL and an AOF rewrite so
// that each starts from an empty server): the same users written as the importer writes them (50
// a Lua call, ten calls pipelined) with nothing else: the HSET of the record and the SETs of the
// email and id index per user, no file, no parsing, no validation, no checks in the script.
//
// Redis bytes per user: Δ INFO used_memory / N, after deleting the outbox stream (the audit events
// the worker drains; its MEMORY USAGE / N is reported apart). Importer peak RSS: /usr/bin/time -v
// when present, else VmHWM polled from /proc.
//   node test/bench/import.mjs [--users 100000] [--smoke]
// Needs redis-server and a build (npm run build). run.mjs imports measureImport.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EMBEDDED_REDIS_TUNING } from '@tessera/cli';
import { loadSettings } from '@tessera/config';
import { keyLayout } from '@tessera/store';
import { Redis } from 'ioredis';

const CLI = fileURLToPath(new URL('../../packages/cli/bin/tessera.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../packages/passwords/test/fixtures/legacy-hashes.json', import.meta.url));
/** The importer's absolute target (the issue's figure for this machine). */
export const IMPORT_TARGET_USERS_PER_S = 20_000;
const BATCH = 500;
const SCOPES = JSON.stringify(['', 'read', 'write']);

/** A free loopback port (the kernel's pick, released at once). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const usedMemory = async (redis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
const aofRewrites = async (redis) => Number(/aof_rewrites:(\d+)/.exec(await redis.info('persistence'))?.[1]);

const FIRST = [
  'anna',
  'ben',
  'chloe',
  'david',
  'emma',
  'farid',
  'grace',
  'hamad',
  'ines',
  'jonas',
  'karim',
  'lena',
  'maya',
  'noor',
  'omar',
];
const LAST = ['smith', 'alsaadi', 'garcia', 'kowalski', 'nguyen', 'haddad', 'muller', 'rossi', 'khan', 'silva', 'dubois'];

/** N users: 80 % Django pbkdf2_sha256, 12 % bcrypt, 8 % argon2id (fixture strings); every other row keeps its id. */
export function makeUsers(n) {
  const { hashes } = JSON.parse(readFileSync(FIXTURES, 'utf8'));
  const pool = (scheme) => hashes.filter((h) => h.scheme === scheme).map((h) => h.hash);
  const pbkdf2 = pool('django-pbkdf2_sha256');
  const bcrypt = pool('bcrypt');
  const argon2id = pool('argon2id');
  const mix = { 'django-pbkdf2_sha256': 0, bcrypt: 0, argon2id: 0 };
  const users = [];
  for (let i = 0; i < n; i++) {
    const slot = i % 25;
    const [scheme, list] = slot < 20 ? ['django-pbkdf2_sha256', pbkdf2] : slot < 23 ? ['bcrypt', bcrypt] : ['argon2id', argon2id];
    mix[scheme]++;
    const username = `${FIRST[i % FIRST.length]}.${LAST[Math.floor(i / FIRST.length) % LAST.length]}${i}`;
    // row i gets id i + 1, kept or not: a row without one takes the next of the sequence, which the row before moved to i
    users.push({ username, email: `${username}@example.com`, password_hash: list[i % list.length], id: i + 1, keep: i % 2 === 0 });
  }
  return { users, mix };
}

/** Whether a loopback port accepts a connection. */
function accepts(port) {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

async function startRedis(dir) {
  const port = await freePort();
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...EMBEDDED_REDIS_TUNING, '--daemonize', 'no'],
    { stdio: 'ignore' },
  );
  const kill = () => proc.exitCode === null && proc.kill('SIGTERM');
  process.on('exit', kill);
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; !(await accepts(port)); i++) {
    if (i > 100 || proc.exitCode !== null) throw new Error(`redis-server on ${url} did not start`);
    await sleep(50);
  }
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  await redis.ping();
  return {
    url,
    redis,
    stop: async () => {
      redis.disconnect();
      process.off('exit', kill);
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** Waits until no AOF rewrite is running or scheduled. */
async function aofSettled(redis) {
  for (let i = 0; i < 600; i++) {
    const info = await redis.info('persistence');
    if (/aof_rewrite_in_progress:0/.test(info) && /aof_rewrite_scheduled:0/.test(info)) return;
    await sleep(50);
  }
}

/**
 * Lets the key table reach the size it keeps: while an AOF rewrite's child ran, Redis held back its
 * growth (it grows at the next write) and its incremental rehashing (both tables live meanwhile);
 * either way the figure would move by ~21 bytes a user from one run to the next. One write of a
 * probe key, then until MEMORY STATS shows one table of a power of two buckets (Redis 7.0 counts
 * 40 bytes a key and 8 a bucket there); false when that cannot be read (another Redis: 2 s instead).
 */
async function keyTableSettled(redis, probe) {
  await redis.set(probe, '1');
  await redis.del(probe);
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    const stats = await redis.call('MEMORY', 'STATS');
    const db = stats[stats.indexOf('db.0') + 1] ?? [];
    const overhead = Number(db[db.indexOf('overhead.hashtable.main') + 1]);
    const slots = (overhead - Number(stats[stats.indexOf('keys.count') + 1]) * 40) / 8;
    if (!Number.isSafeInteger(slots) || slots <= 0) break;
    if ((slots & (slots - 1)) === 0) return true;
  }
  await sleep(2000);
  return false;
}

/** The importer's Redis writes: 50 users a Lua call (putUsers-2.lua, one account shard), calls pipelined. */
const SCRIPT_USERS = 50;
/** The same writes with no checks: per user HSET of the record and the SETs of its two index keys. */
const BARE_LUA = `
local i = 1
while i <= #ARGV do
  redis.call('HSET', ARGV[1] .. 'u:' .. ARGV[i + 1], 'id', ARGV[i], 'username', ARGV[i + 1], 'hash', ARGV[i + 3],
    'scopes', ARGV[i + 4], 'disabled', '0', 'email', ARGV[i + 2])
  redis.call('SET', ARGV[1] .. 'email:' .. ARGV[i + 2], ARGV[i + 1])
  redis.call('SET', ARGV[1] .. 'id:' .. ARGV[i], ARGV[i + 1])
  i = i + 5
end
return 1`;

/**
 * The ceiling: the same users written the way the importer writes them (50 a Lua call, ten calls
 * pipelined, from this process) with nothing else: no file, no parsing, no checks; users/s.
 */
async function bareWrites(redis, users, prefix) {
  const k = `${prefix}{users}:`;
  const lua = BARE_LUA.replaceAll('ARGV[1] ..', 'KEYS[1] ..');
  redis.defineCommand('bareUsers', { numberOfKeys: 1, lua });
  const started = performance.now();
  for (let start = 0; start < users.length; start += BATCH) {
    const calls = [];
    for (let at = start; at < Math.min(start + BATCH, users.length); at += SCRIPT_USERS) {
      const args = users.slice(at, at + SCRIPT_USERS).flatMap((u) => [String(u.id), u.username, u.email, u.password_hash, SCOPES]);
      calls.push(redis.bareUsers(k, ...args));
    }
    await Promise.all(calls);
  }
  return users.length / ((performance.now() - started) / 1000);
}

/** Runs the CLI import; wall-clock seconds, its output, and its peak RSS. */
async function runImporter(file, env, dir) {
  const timeFile = join(dir, 'time.txt');
  const viaTime = existsSync('/usr/bin/time');
  const cmd = [process.execPath, CLI, 'users', 'import', file];
  const started = performance.now();
  const child = viaTime
    ? spawn('/usr/bin/time', ['-v', '-o', timeFile, ...cmd], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(cmd[0], cmd.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  let hwmKb = 0;
  const poll = viaTime
    ? null
    : setInterval(() => {
        try {
          hwmKb = Math.max(hwmKb, Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0));
        } catch {}
      }, 20);
  const code = await new Promise((resolve) => child.once('exit', resolve));
  const seconds = (performance.now() - started) / 1000;
  if (poll !== null) clearInterval(poll);
  if (viaTime) hwmKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(readFileSync(timeFile, 'utf8'))?.[1] ?? Number.NaN);
  return { code, seconds, stdout, stderr, peakRssBytes: hwmKb * 1024, rssSource: viaTime ? '/usr/bin/time -v' : '/proc VmHWM' };
}

/**
 * Imports `users` pre-hashed users with the CLI into a private Redis of the embedded settings; the
 * result (users/s against the bare-write ceiling, bytes per user, outbox bytes per user, peak RSS).
 */
export async function measureImport({ users: n = 100_000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-import-'));
  const server = await startRedis(dir);
  const { redis } = server;
  try {
    const { users, mix } = makeUsers(n);
    const file = join(dir, 'users.ndjson');
    writeFileSync(
      file,
      `${users.map((u) => JSON.stringify({ username: u.username, email: u.email, password_hash: u.password_hash, ...(u.keep ? { id: u.id } : {}) })).join('\n')}\n`,
    );

    const ceilingRewrites = await aofRewrites(redis);
    const ceiling = await bareWrites(redis, users, 'bench-bare:');
    await aofSettled(redis);
    const rewritesDuringCeiling = (await aofRewrites(redis)) - ceilingRewrites;
    // the import starts from an empty server too: no keys, and an AOF rewritten to nothing
    await redis.flushall();
    await aofSettled(redis);
    await redis.bgrewriteaof();
    await sleep(100);
    await aofSettled(redis);
    await sleep(1200); // the AOF buffer is flushed every second
    const before = await usedMemory(redis);
    const rewrites = await aofRewrites(redis);

    const prefix = 'tessera:'; // the default: key names as long as in production
    const run = await runImporter(file, { ...process.env, REDIS_URL: server.url, TESSERA_REDIS_PREFIX: prefix }, dir);
    const summary = run.stdout.trim().split('\n').at(-1) ?? '';
    const m = /imported (\d+) rows: (\d+) created, (\d+) updated, (\d+) unchanged, (\d+) skipped, (\d+) failed.*?(\d+) rows\/s/.exec(
      summary,
    );
    if (run.code !== 0 || m === null || Number(m[1]) !== n || Number(m[2]) !== n)
      throw new Error(`import: expected "${n} rows: ${n} created", exit ${run.code}: ${summary}\n${run.stderr}`);

    // an AOF rewrite the import set off (auto-aof-rewrite-min-size 64mb) forks; while the child runs,
    // Redis holds back the incremental rehashing of its key table (the old table stays: 21 bytes a user)
    await aofSettled(redis);
    await sleep(1200);
    const rewritesDuringImport = (await aofRewrites(redis)) - rewrites;
    // the events wait in the outboxes of the account shards the users went to
    const keys = keyLayout(prefix, loadSettings({ REDIS_URL: server.url }, { role: 'cli' }).accountShards);
    let events = 0;
    let outboxBytes = 0;
    for (const outbox of keys.outboxes) {
      events += await redis.xlen(outbox);
      outboxBytes += Number((await redis.call('MEMORY', 'USAGE', outbox, 'SAMPLES', '0')) ?? 0);
      await redis.del(outbox);
    }
    const settled = await keyTableSettled(redis, `${prefix}bench-probe`);
    // where the bytes go: MEMORY USAGE of the first user's three keys (the key table's share is not in them)
    const sample = users[0];
    const usage = async (key) => Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    const sampleKeyBytes = {
      user: await usage(keys.user(sample.username)),
      emailIndex: await usage(keys.email(sample.email)),
      idIndex: await usage(keys.userId(sample.id)),
      userEncoding: await redis.object('ENCODING', keys.user(sample.username)),
    };
    await sleep(1200);
    const after = await usedMemory(redis);

    const usersPerSecond = n / run.seconds;
    return {
      users: n,
      format: 'ndjson',
      mix,
      keptIds: users.filter((u) => u.keep).length,
      seconds: run.seconds,
      usersPerSecond,
      // the CLI's own figure (from its first to its last row, without Node's start-up)
      cliRowsPerSecond: Number(m[7]),
      ceiling: 'the same writes, 50 users a bare Lua call (HSET + 2 SET each, no checks), ten calls pipelined',
      ceilingUsersPerSecond: ceiling,
      ratio: usersPerSecond / ceiling,
      target: IMPORT_TARGET_USERS_PER_S,
      targetMet: usersPerSecond >= IMPORT_TARGET_USERS_PER_S,
      redisBytesPerUser: (after - before) / n,
      outboxBytesPerUser: Number(outboxBytes) / n,
      outboxEvents: events,
      importerPeakRssBytes: run.peakRssBytes,
      rssSource: run.rssSource,
      redisTuning: EMBEDDED_REDIS_TUNING.join(' '),
      aofRewritesDuringImport: rewritesDuringImport,
      keyTableSettled: settled,
      sampleKeyBytes,
      aofRewritesDuringCeiling: rewritesDuringCeiling,
      summary,
    };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const num = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–');

/** The result as one line, as run.mjs prints it. */
export function importLine(r) {
  // Node's start-up (~0.3 s) weighs on a small file: the target is for 100 000 users
  const verdict = r.users < 100_000 ? `not judged on ${r.users} users (it is for 100000)` : r.targetMet ? 'met' : 'MISSED';
  return (
    `Import of ${r.users} users (${r.format}, pre-hashed): ${num(r.usersPerSecond)} users/s = ${num(r.ratio * 100)}% of the same writes bare ` +
    `(${num(r.ceilingUsersPerSecond)}/s); target >= ${r.target} users/s ${verdict}; Redis ${num(r.redisBytesPerUser)} bytes per user ` +
    `(+ ${num(r.outboxBytesPerUser)} in the outbox until the worker drains it); importer peak RSS ${num(r.importerPeakRssBytes / 1048576)} MB`
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { users: { type: 'string' }, smoke: { type: 'boolean' } } });
  const r = await measureImport({ users: Number(values.users ?? (values.smoke === true ? '10000' : '100000')) });
  console.log(importLine(r));
  console.log(
    `  (${r.summary}; mix ${Object.entries(r.mix)
      .map(([s, c]) => `${s} ${c}`)
      .join(
        ', ',
      )}; ${r.keptIds} kept ids; AOF rewrites during the import ${r.aofRewritesDuringImport}, during the ceiling ${r.aofRewritesDuringCeiling}; RSS from ${r.rssSource})`,
  );
  process.exit(0);
}
