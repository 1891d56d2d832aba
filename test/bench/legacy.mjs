// What a legacy password hash costs at login, before and after its upgrade to argon2id, through
// the real ingress over HTTP: POST /v1/login (PEB, form fields username and password), one login
// at a time (latency, not throughput).
//
// For each scheme of packages/passwords/test/fixtures/legacy-hashes.json (but `unusable`), its
// first fixture (the tool's default parameters): K users (20; 3 with --smoke) are written with
// that hash through UserRepository on the ingress's Redis and prefix; each logs in once (legacy
// verify + rehash to argon2id of the current settings) and then again (argon2id), both timed;
// after the second login the stored hash must be `$argon2id$`. Alongside, K users holding argon2id
// of the current settings (the baseline, logged in 2K times) and K unknown usernames (the
// dummy-hash path). Logins go round-robin (the j-th user of every scheme, then the next), so that
// a noisy moment of the shared machine spreads over all schemes. In process, PasswordHasher.verify
// with the ingress's argon2 settings (loadSettings) times each fixture alone (median of 5; 3 with
// --smoke, also round-robin): the raw verification cost.
//   node test/bench/legacy.mjs [--smoke] [--k 20]
// Alone it starts its own redis-server and ingress; run.mjs calls measureLegacyLogins with its own.
// Needs redis-server and a build (npm run build).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadSettings } from '@tessera/config';
import { INGRESS_NODE_FLAGS } from '@tessera/ingress/flags';
import { PasswordHasher } from '@tessera/passwords';
import { connectRedis, keyLayout, UserRepository } from '@tessera/store';
import { freePort } from './import.mjs';

const FIXTURES = fileURLToPath(new URL('../../packages/passwords/test/fixtures/legacy-hashes.json', import.meta.url));
const ROUTE = '/v1/login';
/** PEB's "User with given credentials not found." */
const BAD_CREDENTIALS = 11;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** The cost parameters a hash string carries, for the table. */
export function hashParams(hash) {
  const argon = /\$(argon2i?d?)\$v=\d+\$m=(\d+),t=(\d+),p=(\d+)/.exec(hash);
  if (argon !== null) return `${argon[1]} m=${argon[2]} t=${argon[3]} p=${argon[4]}`;
  const bcrypt = /\$(2[abxy])\$(\d\d)\$/.exec(hash);
  if (bcrypt !== null) return `$${bcrypt[1]}$ cost ${Number(bcrypt[2])}`;
  const pbkdf2 = /^\$?pbkdf2[-_]sha\d+\$(\d+)\$/.exec(hash);
  if (pbkdf2 !== null) return `${pbkdf2[1]} iterations`;
  return /^[0-9a-f]+$|\$\$/.test(hash) ? 'unsalted, 1 round' : 'salted, 1 round';
}

/** The first fixture of each scheme but `unusable`, in the file's order. */
export function schemeFixtures() {
  const { hashes } = JSON.parse(readFileSync(FIXTURES, 'utf8'));
  const first = new Map();
  for (const h of hashes) if (h.scheme !== 'unusable' && !first.has(h.scheme)) first.set(h.scheme, h);
  return [...first.values()];
}

/** One login through the ingress; ms from sending to the whole answer read. */
async function login(baseUrl, username, password, expectIssued) {
  const started = performance.now();
  const res = await fetch(`${baseUrl}${ROUTE}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }).toString(),
  });
  const body = await res.json();
  const ms = performance.now() - started;
  const ok = expectIssued ? body.status === 200 && typeof body.token === 'string' : body.error_id === BAD_CREDENTIALS;
  if (!ok) throw new Error(`legacy: login of ${username} answered ${res.status} ${JSON.stringify(body)}`);
  return ms;
}

/** One PasswordHasher.verify, ms (null: the unknown-user path, against the dummy hash). */
async function verifyMs(hasher, hash, password) {
  const started = performance.now();
  const ok = await hasher.verify(hash, password);
  const ms = performance.now() - started;
  if (ok !== (hash !== null)) throw new Error(`legacy: PasswordHasher.verify of ${hash} answered ${ok}`);
  return ms;
}

/**
 * Times logins of users holding each legacy scheme's hash (first and later), of argon2id users and
 * of unknown usernames, through the ingress at `baseUrl` on `redisUrl` (key prefix `prefix`); `env`
 * is the ingress's environment (its argon2 settings for the in-process verify).
 */
export async function measureLegacyLogins({ baseUrl, redisUrl, prefix = 'tessera:', env, k = 20, repeats = 5 }) {
  const settings = loadSettings(env, { cpus: availableParallelism() });
  const hasher = new PasswordHasher(settings.argon2);
  const redis = await connectRedis({ url: redisUrl, commandTimeoutMs: 30_000, connectionName: 'tessera-bench-legacy' });
  const users = new UserRepository(redis, keyLayout(prefix, settings.accountShards));
  const run = Math.random().toString(36).slice(2, 8);
  const password = 'Legacy-Bench-Password-1';
  try {
    const fixtures = schemeFixtures();
    const current = await hasher.hash(password);
    // warm up: the dummy hash (made at the first unknown login), libuv's threads, the HTTP connection
    await verifyMs(hasher, null, password);
    await verifyMs(hasher, current, password);
    // round-robin over the fixtures, so that a noisy moment of the shared machine spreads over all of them
    const raw = fixtures.map(() => []);
    const baselineVerify = [];
    const dummyVerify = [];
    for (let r = 0; r < repeats; r++) {
      for (const [i, f] of fixtures.entries()) raw[i].push(await verifyMs(hasher, f.hash, f.password));
      baselineVerify.push(await verifyMs(hasher, current, password));
      dummyVerify.push(await verifyMs(hasher, null, password));
    }

    const names = (tag) => Array.from({ length: k }, (_, i) => `legacy-${tag}-${run}-${i}`);
    await users.create({ username: `legacy-warmup-${run}`, passwordHash: current });
    await login(baseUrl, `legacy-unknown-warmup-${run}`, password, false);
    await login(baseUrl, `legacy-warmup-${run}`, password, true);

    const baselineNames = names('argon2id-current');
    const unknownNames = names('unknown');
    for (const u of baselineNames) await users.create({ username: u, passwordHash: current });
    const lists = fixtures.map((f) => names(f.scheme));
    for (const [i, f] of fixtures.entries()) for (const u of lists[i]) await users.create({ username: u, passwordHash: f.hash });

    // round j logs in the j-th user of every scheme (and an argon2id user and an unknown name):
    // first logins in rounds 0..K-1, later ones in rounds K..2K-1
    const baselineLogins = [];
    const baselineWrong = [];
    const unknownLogins = [];
    const wrong = fixtures.map(() => []);
    const first = fixtures.map(() => []);
    const later = fixtures.map(() => []);
    const rehashed = fixtures.map(() => 0);
    for (let round = 0; round < 2 * k; round++) {
      const j = round % k;
      if (round < k) baselineWrong.push(await login(baseUrl, baselineNames[j], `${password}-wrong`, false));
      baselineLogins.push(await login(baseUrl, baselineNames[j], password, true));
      // an unknown name fails once per round: a second failure of the same name would only add to its lockout count
      if (round < k) unknownLogins.push(await login(baseUrl, unknownNames[j], password, false));
      for (const [i, f] of fixtures.entries()) {
        const u = lists[i][j];
        // what an observer without the password sees: a wrong one, while the old hash is still there
        if (round < k) wrong[i].push(await login(baseUrl, u, `${f.password}-wrong`, false));
        (round < k ? first : later)[i].push(await login(baseUrl, u, f.password, true));
        if (round < k && (await users.get(u))?.passwordHash !== f.hash) rehashed[i]++;
      }
    }
    const baselineMs = median(baselineLogins);
    const schemes = [];
    for (const [i, f] of fixtures.entries()) {
      for (const u of lists[i]) {
        const stored = (await users.get(u))?.passwordHash ?? '';
        if (!stored.startsWith('$argon2id$'))
          throw new Error(`legacy: after two logins ${u} (${f.scheme}) holds ${stored.slice(0, 20)}…, not $argon2id$`);
      }
      const firstMs = median(first[i]);
      schemes.push({
        scheme: f.scheme,
        tool: f.tool,
        params: hashParams(f.hash),
        verifyMs: median(raw[i]),
        wrongLoginMs: median(wrong[i]),
        firstLoginMs: firstMs,
        laterLoginMs: median(later[i]),
        firstOverArgon2id: firstMs / baselineMs,
        rehashed: `${rehashed[i]}/${k}`,
      });
    }
    return {
      route: `POST ${ROUTE} (PEB, form username/password), sequential`,
      k,
      verifyRepeats: repeats,
      argon2: settings.argon2,
      baseline: { verifyMs: median(baselineVerify), loginMs: baselineMs, wrongLoginMs: median(baselineWrong) },
      unknown: { verifyMs: median(dummyVerify), loginMs: median(unknownLogins) },
      schemes,
    };
  } finally {
    redis.disconnect();
  }
}

const num = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
/** Milliseconds: 0.1 ms resolution, or 3 decimals below 1 ms (the unsalted formats). */
const ms = (x) => num(x, x < 1 ? 3 : 1);
const pad = (s, n) => String(s).padEnd(n);

/** The result as a table and its note, as run.mjs prints it. */
export function legacyLines(r) {
  const a = r.argon2;
  const lines = [
    `Legacy password hashes at login: ${r.route}, ${r.k} users per scheme, medians; verify = PasswordHasher.verify in process (median of ${r.verifyRepeats}); argon2id now m=${a.memoryCost} t=${a.timeCost} p=${a.parallelism}`,
    `${pad('scheme', 30)}${pad('hash parameters', 29)}${pad('verify ms', 11)}${pad('wrong pw ms', 13)}${pad('first login ms', 16)}${pad('later logins ms', 17)}${pad('first / argon2id login', 24)}rehashed`,
  ];
  for (const s of r.schemes)
    lines.push(
      `${pad(s.scheme, 30)}${pad(s.params, 29)}${pad(ms(s.verifyMs), 11)}${pad(ms(s.wrongLoginMs), 13)}${pad(ms(s.firstLoginMs), 16)}${pad(ms(s.laterLoginMs), 17)}${pad(`${num(s.firstOverArgon2id, 2)}x`, 24)}${s.rehashed}`,
    );
  lines.push(
    `${pad('argon2id, current settings', 30)}${pad(`argon2id m=${a.memoryCost} t=${a.timeCost} p=${a.parallelism}`, 29)}${pad(ms(r.baseline.verifyMs), 11)}${pad(ms(r.baseline.wrongLoginMs), 13)}${pad(ms(r.baseline.loginMs), 16)}${pad('', 17)}${pad('1.00x (baseline)', 24)}`,
    `${pad('unknown user (dummy hash)', 30)}${pad('', 29)}${pad(ms(r.unknown.verifyMs), 11)}${pad(ms(r.unknown.loginMs), 13)}${pad('', 16)}${pad('', 17)}${pad(`${num(r.unknown.loginMs / r.baseline.loginMs, 2)}x`, 24)}`,
    'Note: an unknown username costs what an argon2id account costs (the dummy hash), but an account that still holds a legacy hash costs',
    "its format's verify instead (the wrong pw column: what an observer without the password sees) until its first successful login",
    'rehashes it: the difference between that and the argon2id/unknown cost tells an observer timing logins that an account with an old',
    "hash exists. Every hash that will be replaced does the dummy's argon2 work beside its own, so none costs less than argon2id (one-digest",
    'formats cost what argon2id costs). argon2id hashes at or above the current settings are kept as they are (rehashed 0/K), and keep their cost.',
  );
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { smoke: { type: 'boolean' }, k: { type: 'string' } } });
  const smoke = values.smoke === true;
  const dir = mkdtempSync(join(tmpdir(), 'tessera-legacy-'));
  const [redisPort, port] = [await freePort(), await freePort()];
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const env = {
    ...process.env,
    REDIS_URL: redisUrl,
    TESSERA_PORT: String(port),
    TESSERA_HOST: '127.0.0.1',
    TESSERA_JWT_SIGNING_KEY: 'bench-legacy-signing-key-0123456789abcdef0123',
    TESSERA_LOG_LEVEL: 'warn',
    TESSERA_LOGIN_RATE_LIMIT: '0',
  };
  const children = [
    spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: 'ignore',
    }),
  ];
  process.on('exit', () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });
  await sleep(300);
  const root = fileURLToPath(new URL('../..', import.meta.url));
  children.push(
    spawn(process.execPath, [...INGRESS_NODE_FLAGS, 'services/ingress/bin/ingress.cjs'], {
      cwd: root,
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    await sleep(100);
    if (
      await fetch(`${baseUrl}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
  }
  const r = await measureLegacyLogins({ baseUrl, redisUrl, env, k: Number(values.k ?? (smoke ? '3' : '20')), repeats: smoke ? 3 : 5 });
  console.log(legacyLines(r).join('\n'));
  process.exit(0);
}
