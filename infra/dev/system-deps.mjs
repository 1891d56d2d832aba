// @ts-check
// The Debian packages `npm test` needs beyond Node, and what to do when one is missing: the same
// rule `npm start` follows for redis-server (packages/cli/src/commands/up.ts) — apt-get when we are
// root, else one line that says what to run. Node built-ins only; the decision is a pure function
// so that test/infra/system-deps.test.ts can try it with a fake file system.
import { delimiter, join } from 'node:path';

/** Debian's Chromium, which the browser test drives through playwright-core (never a downloaded browser). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Where Debian's python3-* packages put their modules (what /usr/bin/python3 imports). */
export const PYTHON_DIST_PACKAGES = '/usr/lib/python3/dist-packages';

/**
 * What the test suites run. `path` is an absolute executable; `command` is looked up on PATH;
 * `file` is a file the package installs (a Python module, not executable).
 * `unlessEnv`: the package is not needed when that variable is set (a Redis given by URL).
 * redis-server's package brings redis-tools (redis-cli, used by test/infra) as a dependency.
 * Django REST framework and SimpleJWT (which brings python3-django and python3-jwt) are the real
 * SimpleJWT the differential tests compare Tessera with (test/support/simplejwt-reference.ts).
 * @typedef {{ readonly pkg: string, readonly path?: string, readonly command?: string, readonly file?: string, readonly unlessEnv?: string }} SystemPackage
 * @type {readonly SystemPackage[]}
 */
export const TEST_PACKAGES = [
  { pkg: 'chromium', path: CHROMIUM_PATH },
  // needed even with REDIS_URL: `npm run test:cluster` forms a cluster of it, and some tests start a private one
  { pkg: 'redis-server', command: 'redis-server' },
  { pkg: 'python3-djangorestframework', file: `${PYTHON_DIST_PACKAGES}/rest_framework/__init__.py` },
  { pkg: 'python3-djangorestframework-simplejwt', file: `${PYTHON_DIST_PACKAGES}/rest_framework_simplejwt/__init__.py` },
  // PyJWT with its RSA/EC/EdDSA backend: a library Tessera does not use checks Tessera's tokens from the JWKS alone
  { pkg: 'python3-jwt', file: `${PYTHON_DIST_PACKAGES}/jwt/__init__.py` },
  { pkg: 'python3-cryptography', file: `${PYTHON_DIST_PACKAGES}/cryptography/__init__.py` },
];

/**
 * Whether `command` is an executable in one of PATH's folders.
 * @param {string} command
 * @param {string} pathVar
 * @param {(file: string) => boolean} exists
 */
export function onPath(command, pathVar, exists) {
  return pathVar
    .split(delimiter)
    .filter((dir) => dir !== '')
    .some((dir) => exists(join(dir, command)));
}

/**
 * The packages of `packages` missing here. `exists`: an executable file; `present`: any file.
 * @param {{ env: Record<string, string | undefined>, exists: (file: string) => boolean, present: (file: string) => boolean }} host
 * @param {readonly SystemPackage[]} [packages]
 * @returns {string[]}
 */
export function missingPackages(host, packages = TEST_PACKAGES) {
  /** @param {SystemPackage} p */
  const installed = (p) =>
    p.file !== undefined
      ? host.present(p.file)
      : p.path !== undefined
        ? host.exists(p.path)
        : onPath(p.command ?? p.pkg, host.env.PATH ?? '', host.exists);
  return packages
    .filter((p) => p.unlessEnv === undefined || !host.env[p.unlessEnv])
    .filter((p) => !installed(p))
    .map((p) => p.pkg);
}

/**
 * The line that installs `pkgs`, for a person to run.
 * @param {readonly string[]} pkgs
 */
export function installLine(pkgs) {
  return `sudo apt-get install -y ${pkgs.join(' ')}`;
}

/**
 * What to do about missing packages: nothing, install them with apt-get (root on a machine that has
 * it), or stop with one line saying how.
 * @param {readonly string[]} missing
 * @param {{ isRoot: boolean, hasApt: boolean }} host
 * @returns {{ action: 'none' } | { action: 'install', commands: string[][] } | { action: 'stop', line: string }}
 */
export function planInstall(missing, host) {
  if (missing.length === 0) return { action: 'none' };
  if (host.isRoot && host.hasApt) {
    return {
      action: 'install',
      commands: [
        ['apt-get', 'update', '-qq'],
        ['apt-get', 'install', '-y', '-qq', ...missing],
      ],
    };
  }
  return { action: 'stop', line: stopLine(missing) };
}

/**
 * The one line printed when the tests cannot get what they need.
 * @param {readonly string[]} missing
 */
export function stopLine(missing) {
  return `tessera: npm test needs ${missing.join(' and ')}, not installed: run \`${installLine(missing)}\` (Debian)`;
}
