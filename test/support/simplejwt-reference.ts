import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { missingPackages, stopLine, TEST_PACKAGES } from '../../infra/dev/system-deps.mjs';

/**
 * The real djangorestframework-simplejwt (Debian's python3-djangorestframework-simplejwt 5.2 on
 * Django 3.2 and DRF 3.14, installed by `npm test`: infra/dev/system-deps.mjs) on loopback: the
 * Django project in simplejwt-reference.py, served by the stdlib's WSGI server with
 * TokenObtainPairView, TokenRefreshView, TokenVerifyView, TokenBlacklistView,
 * TokenObtainSlidingView and TokenRefreshSlidingView at Tessera's paths (`/api/token[/]`,
 * `/api/token/refresh[/]`, `/api/token/verify[/]`, `/api/token/blacklist[/]`,
 * `/api/token/sliding[/]`, `/api/token/sliding/refresh[/]`), the blacklist app installed, on
 * sqlite in a fresh temporary folder.
 */

/** Debian's Python, the one that imports Debian's Django (a python3 earlier on PATH may not). */
const PYTHON = '/usr/bin/python3';
const PROJECT = new URL('./simplejwt-reference.py', import.meta.url).pathname;
const READY_TIMEOUT_MS = 30_000;

export interface ReferenceUser {
  readonly username: string;
  readonly password: string;
  /** Django's `is_active` (true unless false). */
  readonly active?: boolean;
}

export interface ReferenceOptions {
  /** Django's SECRET_KEY, SimpleJWT's default SIGNING_KEY. */
  readonly secretKey: string;
  /** SIMPLE_JWT; a `*_LIFETIME` given as a number is seconds. Absent: the library's defaults. */
  readonly simpleJwt?: Readonly<Record<string, unknown>>;
  /** Created in this order: Django gives them ids 1, 2, 3… */
  readonly users: readonly ReferenceUser[];
}

export interface SimpleJwtReference {
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  /** From spawning the process to its first answer. */
  readonly startupMs: number;
  /** Every line the process wrote on stderr (a traceback, if it failed). */
  readonly errors: readonly string[];
  stop(): Promise<void>;
}

/** The Debian packages the reference needs that are not installed (they bring python3), as the line saying what to run. */
function missingReason(): string | null {
  const python = TEST_PACKAGES.filter((p) => p.file !== undefined);
  const missing = missingPackages({ env: process.env, exists: existsSync, present: existsSync }, python);
  return missing.length === 0 ? null : stopLine(missing);
}

/** Resolves once an OPTIONS to the login view answers 200; throws if the process exits first. */
async function answering(base: string, exited: Promise<unknown>): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!gone) {
    try {
      const res = await fetch(`${base}/api/token/`, { method: 'OPTIONS' });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the reference SimpleJWT did not answer within ${READY_TIMEOUT_MS} ms`);
    await sleep(20);
  }
  throw new Error('the reference SimpleJWT exited before it answered');
}

/** Starts the reference SimpleJWT and resolves once it answers. */
export async function startSimpleJwtReference(options: ReferenceOptions): Promise<SimpleJwtReference> {
  const missing = missingReason();
  if (missing !== null) throw new Error(missing);
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-simplejwt-'));
  const child: ChildProcess = spawn(PYTHON, [PROJECT], {
    env: {
      PATH: process.env.PATH,
      LANG: 'C.UTF-8',
      PYTHONDONTWRITEBYTECODE: '1',
      REFERENCE_DIR: dir,
      REFERENCE_SECRET_KEY: options.secretKey,
      REFERENCE_SIMPLE_JWT: JSON.stringify(options.simpleJwt ?? {}),
      REFERENCE_USERS: JSON.stringify(
        options.users.map((u) => ({ username: u.username, password: u.password, is_active: u.active !== false })),
      ),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const errors: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => errors.push(line));
  const exited = once(child, 'exit');
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await Promise.race([
      new Promise<number>((resolve) => {
        createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
          const m = /^listening (\d+)$/.exec(line);
          if (m !== null) resolve(Number(m[1]));
        });
      }),
      exited.then(([code]) => {
        throw new Error(`the reference SimpleJWT exited with ${code} before it listened:\n${errors.join('\n')}`);
      }),
    ]);
    const base = `http://127.0.0.1:${port}`;
    await answering(base, exited);
    return { base, startupMs: performance.now() - started, errors, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
