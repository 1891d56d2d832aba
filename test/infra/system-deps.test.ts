import { describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, installLine, missingPackages, planInstall } from '../../infra/dev/system-deps.mjs';

// What `npm test` (infra/dev/ensure-deps.mjs --test) decides about the Debian packages the suites
// need, tried on a fake file system: nothing here installs or removes anything.

/** A host whose file system holds exactly `files`. */
const host = (files: readonly string[], env: Record<string, string> = {}) => ({
  env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...env },
  exists: (file: string) => files.includes(file),
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

  it('needs no redis-server when REDIS_URL names a Redis', () => {
    expect(missingPackages(host([], { REDIS_URL: 'redis://127.0.0.1:6379' }))).toEqual(['chromium']);
    expect(missingPackages(host([CHROMIUM_PATH], { REDIS_URL: 'redis://127.0.0.1:6379' }))).toEqual([]);
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
