import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TesseraRedis } from '@tessera/store';
import { inject } from 'vitest';
import { keysMatching } from './stack.ts';

export const BIN = fileURLToPath(new URL('../../packages/cli/bin/tessera.js', import.meta.url));
/** test/migration/fixtures/: Django dumps made by Django (make-django-dump.sh). */
export const FIXTURES = fileURLToPath(new URL('../migration/fixtures/', import.meta.url));

/** A legacy password hash made by its reference implementation (packages/passwords/test/fixtures/make-legacy-hashes.sh). */
export interface LegacyHash {
  readonly scheme: string;
  readonly tool: string;
  readonly password: string | null;
  readonly hash: string;
}
export const LEGACY_HASHES: readonly LegacyHash[] = (
  JSON.parse(readFileSync(new URL('../../packages/passwords/test/fixtures/legacy-hashes.json', import.meta.url), 'utf8')) as {
    hashes: LegacyHash[];
  }
).hashes;

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts `tessera ...args` on the run's Redis under `prefix`; the caller feeds standard input. */
export function startTessera(args: readonly string[], prefix: string, env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', REDIS_URL: inject('redisUrl'), TESSERA_REDIS_PREFIX: prefix, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Collects what a started `tessera` prints until it exits (killed after `timeoutMs`). */
export function outcome(child: ChildProcessWithoutNullStreams, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tessera did not exit within ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `tessera ...args` with `input` on standard input. */
export function tessera(args: readonly string[], prefix: string, input = '', env: Record<string, string> = {}): Promise<Run> {
  const child = startTessera(args, prefix, env);
  const done = outcome(child);
  child.stdin.end(input);
  return done;
}

/**
 * Every key under a prefix with its value (hashes as objects), the prefix cut off, sorted, without
 * the outbox (its event ids and times differ between runs): two stores compare equal by this.
 */
export async function storeSnapshot(redis: TesseraRedis, prefix: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await keysMatching(redis, `${prefix}*`)).sort()) {
    if (key.endsWith(':outbox')) continue;
    const type = await redis.type(key);
    // hash fields sorted: a hash's field order depends on its encoding, not on its content
    out[key.slice(prefix.length)] =
      type === 'hash'
        ? Object.fromEntries(Object.entries(await redis.hgetall(key)).sort(([a], [b]) => (a < b ? -1 : 1)))
        : await redis.get(key);
  }
  return out;
}
