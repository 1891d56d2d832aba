// Installs dependencies when they are missing or older than package-lock.json, so that `npm start`
// and `npm test` are the only two commands a fresh checkout needs. Node built-ins only.
// With --test (`npm test`) it first sees to the Debian packages the tests run (system-deps.mjs):
// apt-get installs them when we are root; otherwise one line says what to run, and the exit is 1.
// --apt-only does that part alone (.ci/run calls it through sudo where CI is not root).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { missingPackages, planInstall, stopLine } from './system-deps.mjs';

const executable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

const present = (file) => {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

const aptOnly = process.argv.includes('--apt-only');
if (aptOnly || process.argv.includes('--test')) {
  const host = { env: process.env, exists: executable, present };
  const missing = missingPackages(host);
  const plan = planInstall(missing, {
    isRoot: typeof process.getuid === 'function' && process.getuid() === 0,
    hasApt: missingPackages(host, [{ pkg: 'apt-get', command: 'apt-get' }]).length === 0,
  });
  if (plan.action === 'stop') {
    process.stderr.write(`${plan.line}\n`);
    process.exit(1);
  }
  if (plan.action === 'install') {
    process.stderr.write(`tessera: installing ${missing.join(', ')} with apt-get\n`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    for (const [cmd, ...args] of plan.commands) spawnSync(cmd, args, { stdio: 'inherit', env });
    const still = missingPackages(host);
    if (still.length > 0) {
      process.stderr.write(`${stopLine(still)}\n`);
      process.exit(1);
    }
  }
}

const marker = 'node_modules/.package-lock.json';
const stale = !aptOnly && (!existsSync(marker) || statSync('package-lock.json').mtimeMs > statSync(marker).mtimeMs + 1000);
if (stale) {
  process.stderr.write('tessera: installing dependencies (npm install)\n');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write('tessera: npm install failed\n');
    process.exit(r.status ?? 1);
  }
}
