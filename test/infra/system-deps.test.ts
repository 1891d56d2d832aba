import { describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, installLine, missingPackages, planInstall, TEST_PACKAGES } from '../../infra/dev/system-deps.mjs';

// What `npm test` (infra/dev/ensure-deps.mjs --test) decides about the Debian packages the suites
// need, tried on a fake file system: nothing here installs or removes anything.

/** A host whose file system holds exactly `files`. */
const host = (files: readonly string[], env: Record<string, string> = {}) => ({
  env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...env },
  exists: (file: string) => files.includes(file),
});

/** The two packages whose finding the first tests try (the Python modules are found by file, below). */
const SERVERS = TEST_PACKAGES.filter((p) => p.pkg === 'chromium' || p.pkg === 'redis-server');

describe('the Debian packages npm test needs', () => {
  it('finds Chromium at the one path the browser test launches, and redis-server on PATH', () => {
    expect(missingPackages(host([CHROMIUM_PATH, '/usr/bin/redis-server']), SERVERS)).toEqual([]);
    expect(missingPackages(host(['/usr/bin/redis-server']), SERVERS)).toEqual(['chromium']);
    // redis-server anywhere on PATH will do; Chromium elsewhere will not (the test launches CHROMIUM_PATH)
    expect(missingPackages(host([CHROMIUM_PATH, '/opt/redis/bin/redis-server'], { PATH: '/opt/redis/bin' }), SERVERS)).toEqual([]);
    expect(missingPackages(host(['/usr/local/bin/chromium', '/usr/bin/redis-server']), SERVERS)).toEqual(['chromium']);
    expect(missingPackages(host([]), SERVERS)).toEqual(['chromium', 'redis-server']);
    expect(missingPackages(host([CHROMIUM_PATH], { PATH: '' }), SERVERS)).toEqual(['redis-server']);
  });

  it("finds a Python module of a reference fixture by its file in Debian's dist-packages", () => {
    const pyjwt = TEST_PACKAGES.filter((p) => p.pkg === 'python3-jwt');
    expect(missingPackages(host(['/usr/lib/python3/dist-packages/jwt/__init__.py']), pyjwt)).toEqual([]);
    expect(missingPackages(host(['/root/.pyenv/versions/3.12/lib/python3.12/site-packages/jwt/__init__.py']), pyjwt)).toEqual([
      'python3-jwt',
    ]);
  });

  it('needs no redis-server when REDIS_URL names a Redis', () => {
    expect(missingPackages(host([], { REDIS_URL: 'redis://127.0.0.1:6379' }), SERVERS)).toEqual(['chromium']);
    expect(missingPackages(host([CHROMIUM_PATH], { REDIS_URL: 'redis://127.0.0.1:6379' }), SERVERS)).toEqual([]);
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
