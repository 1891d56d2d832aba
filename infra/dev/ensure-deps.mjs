// Installs dependencies when they are missing or older than package-lock.json, so that `npm start`
// and `npm test` are the only two commands a fresh checkout needs. Node built-ins only.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || statSync('package-lock.json').mtimeMs > statSync(marker).mtimeMs + 1000;
if (stale) {
  process.stderr.write('tessera: installing dependencies (npm install)\n');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write('tessera: npm install failed\n');
    process.exit(r.status ?? 1);
  }
}
