import { describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, installLine, missingPackages, PYTHON_DIST_PACKAGES, planInstall } from '../../infra/dev/system-deps.mjs';

// What `npm test` (infra/dev/ensure-deps.mjs --test) decides about the Debian packages the suites
// need, tried on a fake file system: nothing here installs or removes anything.

/** The modules of Debian's Django REST framework and SimpleJWT (the reference SimpleJWT). */
const DRF = `${PYTHON_DIST_PACKAGES}/rest_framework/__init__.py`;
const SIMPLEJWT = `${PYTHON_DIST_PACKAGES}/rest_framework_simplejwt/__init__.py`;
const PYJWT = [`${PYTHON_DIST_PACKAGES}/jwt/__init__.py`, `${PYTHON_DIST_PACKAGES}/cryptography/__init__.py`];
const PYTHON = [DRF, SIMPLEJWT, ...PYJWT];
const PYTHON_PACKAGES = ['python3-djangorestframework', 'python3-djangorestframework-simplejwt', 'python3-jwt', 'python3-cryptography'];

/** A host whose file system holds exactly `files`, of which `executables` may be run. */
const host = (executables: readonly string[], env: Record<string, string> = {}, files: readonly string[] = PYTHON) => ({
  env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...env },
  exists: (file: string) => executables.includes(file),
  present: (file: string) => executables.includes(file) || files.includes(file),
});

describe('the Debian packages npm test needs', () => {
  it('finds Chromium at the one path the browser test launches, and redis-server on PATH', () => {
    expect(missingPackages(host([CHROMIUM_PATH, '/usr/bin/redis-server']))).toEqual([]);
    expect(missingPackages(host(['/usr/bin/redis-server']))).toEqual(['chromium']);
    // redis-server anywhere on PATH will do; Chromium elsewhere will not (the test launches CHROMIUM_PATH)
    expect(missingPackages(host([CHROMIUM_PATH, '/opt/redis/bin/redis-server'], { PATH: '/opt/redis/bin' }))).toEqual([]);
    expect(missingPackages(host(['/usr/local/bin/chromium', '/usr/bin/redis-server']))).toEqual(['chromium']);
    expect(missingPackages(host([]))).toEqual(['chromium', 'redis-server']);
    expect(missingPackages(host([CHROMIUM_PATH], { PATH: '' }))).toEqual(['redis-server']);
  });

  it('needs redis-server even when REDIS_URL names a Redis: the cluster run and the tests of a private Redis start their own', () => {
    expect(missingPackages(host([], { REDIS_URL: 'redis://127.0.0.1:6379' }))).toEqual(['chromium', 'redis-server']);
    expect(missingPackages(host([CHROMIUM_PATH, '/usr/bin/redis-server'], { REDIS_URL: 'redis://127.0.0.1:6379' }))).toEqual([]);
  });

  it("needs Debian's Django REST framework and SimpleJWT, found by their modules where python3 imports them", () => {
    const tools = [CHROMIUM_PATH, '/usr/bin/redis-server'];
    expect(missingPackages(host(tools, {}, []))).toEqual(PYTHON_PACKAGES);
    expect(missingPackages(host(tools, {}, [DRF, ...PYJWT]))).toEqual(['python3-djangorestframework-simplejwt']);
    expect(missingPackages(host(tools, {}, [SIMPLEJWT, ...PYJWT]))).toEqual(['python3-djangorestframework']);
    expect(missingPackages(host(tools, {}, [DRF, SIMPLEJWT]))).toEqual(['python3-jwt', 'python3-cryptography']);
    // a module is a file, not a program: it need not be executable, nor be on PATH
    expect(missingPackages(host(tools, { PATH: '' }, PYTHON))).toEqual(['redis-server']);
    expect(missingPackages(host([], {}, []))).toEqual(['chromium', 'redis-server', ...PYTHON_PACKAGES]);
    // elsewhere than Debian's dist-packages they are not the ones /usr/bin/python3 imports
    expect(missingPackages(host(tools, {}, ['/usr/local/lib/python3.11/site-packages/rest_framework_simplejwt/__init__.py']))).toEqual(
      PYTHON_PACKAGES,
    );
  });

  it('installs with apt-get as root, as npm start does for redis-server', () => {
    expect(planInstall([], { isRoot: false, hasApt: false })).toEqual({ action: 'none' });
    expect(planInstall(['chromium', 'redis-server'], { isRoot: true, hasApt: true })).toEqual({
      action: 'install',
      commands: [
        ['apt-get', 'update', '-qq'],
        ['apt-get', 'install', '-y', '-qq', 'chromium', 'redis-server'],
      ],
    });
  });

  it('without root (or without apt-get) stops with one line that says what to run', () => {
    for (const who of [
      { isRoot: false, hasApt: true },
      { isRoot: true, hasApt: false },
    ]) {
      const plan = planInstall(['chromium'], who);
      expect(plan.action).toBe('stop');
      if (plan.action !== 'stop') return;
      expect(plan.line).not.toContain('\n');
      expect(plan.line).toContain(`run \`${installLine(['chromium'])}\``);
      expect(installLine(['chromium'])).toBe('sudo apt-get install -y chromium');
    }
  });
});
