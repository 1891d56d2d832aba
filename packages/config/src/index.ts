/**
 * Environment → typed, validated settings. Every bad value is reported, one line each, in a single
 * `ConfigError`; nothing reads `process.env` elsewhere. The settings themselves are declared once,
 * in spec.ts; here are the rules between them and the values derived from them.
 */
import { type DialectName, OLD_SYSTEM_OF } from '@tessera/core';
import { type Env, type Infer, type LoadOptions, Reader, readSpec } from './setting.ts';
import { ingressProcesses, SPEC, verifyThreads } from './spec.ts';

export { GENERATED_PARTS, type GeneratedPart, SETTINGS_DOC, settingsTable, withGenerated, withSettingsTable } from './docs.ts';
export { type Env, type LoadOptions, redactUrl, type SettingDoc } from './setting.ts';

/** What SPEC reads, and the values derived from it. */
export type Settings = Infer<typeof SPEC> & {
  /** `auto` resolved (spec.ts, ingressProcesses). */
  readonly ingressProcesses: number;
  /** The threads and verifications at once worked out (spec.ts, verifyThreads). */
  readonly verifyPool: { readonly threads: number; readonly size: number };
  readonly lockout: {
    /**
     * How long an opened attempt holds its reservation if it never closes (its process died):
     * longer than any attempt can take with these settings, so that never more than N verify.
     */
    readonly reservationMs: number;
  };
};

export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  constructor(readonly problems: readonly string[]) {
    super(`invalid settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates settings. `REDIS_URL` and (for services) the JWT key are required. Throws `ConfigError`. */
export function loadSettings(env: Env, options: LoadOptions = {}): Settings {
  const r = new Reader(env, options);
  const read = readSpec(SPEC, r);
  // an attempt's longest life: a wait for argon2, the old system, the Redis steps around them
  const reservationMs = read.verifyPool.maxWaitMs + read.upstream.timeoutMs + 4 * read.redisCommandTimeoutMs + 10_000;
  const processes = ingressProcesses(read.ingressProcesses, read.port, r);
  const settings: Settings = {
    ...read,
    ingressProcesses: processes,
    verifyPool: { ...read.verifyPool, ...verifyThreads(read.verifyPool, processes, r) },
    lockout: { ...read.lockout, reservationMs: Math.max(30_000, reservationMs) },
  };
  // moh and nehr are one system (the ministry's); SimpleJWT and PEB are others
  const systems = [...new Set(Object.keys(settings.upstream.urls).map((d) => OLD_SYSTEM_OF[d as DialectName]))];
  if (systems.length > 1 && !settings.upstream.sharedUsers)
    r.problems.push(
      `TESSERA_UPSTREAM_*_URL name ${systems.length} old systems (${systems.join(', ')}): one username would go to whichever vouches first; ` +
        'set TESSERA_UPSTREAM_SHARED_USERS=1 if their usernames name the same people, or migrate one system at a time',
    );
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return settings;
}

/**
 * For a service's entry point: the settings, or one line per problem on stderr and exit code 2.
 * `exit` and `write` are the process's (parameters only so this module stays free of globals).
 */
export function settingsOrExit(
  service: string,
  env: Env,
  write: (text: string) => void,
  exit: (code: number) => never,
  options: LoadOptions = {},
): Settings {
  try {
    return loadSettings(env, options);
  } catch (err) {
    if (err instanceof ConfigError) {
      write(`tessera ${service}: ${err.message}\n`);
      return exit(2);
    }
    throw err;
  }
}
