import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = new URL('../../', import.meta.url).pathname;

/** The runtimes the ingress runs on: the HTTP-contract suites run against each. */
export type Runtime = 'node' | 'deno';
export const RUNTIMES: readonly Runtime[] = ['node', 'deno'];

/** A process of its own (its own process group), its output, and how to stop it; `await using` stops it. */
export interface ServiceProcess extends AsyncDisposable {
  readonly child: ChildProcess;
  /** Every line it writes, on either stream, as it comes. */
  readonly lines: string[];
  /** Sends `signal` to its process group (SIGKILL after 5 s) and resolves once it is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * The process groups started here and still running, killed when this test process ends: Vitest
 * ends a worker with SIGTERM, which then ends it as before.
 */
const running = new Set<number>();
const killRunning = () => {
  for (const group of running) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // gone already
    }
  }
};
process.once('exit', killRunning);
process.once('SIGTERM', () => {
  killRunning();
  process.kill(process.pid, 'SIGTERM');
});

/**
 * Starts `command` in a process group of its own and resolves once `ready(lines)` holds. Every line
 * it writes goes to `lines`; while it starts, lines saying something failed are echoed to the test's
 * output as well. Exiting, or not being ready within 30 s, is an error that quotes its output.
 */
async function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  ready: (lines: readonly string[]) => boolean,
  lines: string[] = [],
): Promise<ServiceProcess> {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running.add(child.pid as number);
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void gone.then(() => running.delete(child.pid as number));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    try {
      // the group: `npm run` starts the runtime as a grandchild, an ingress its sibling processes
      process.kill(-(child.pid as number), signal);
    } catch {
      // the whole group is gone already
    }
    const late = setTimeout(() => stop('SIGKILL'), 5000);
    await gone;
    clearTimeout(late);
  };
  let starting = true;
  const isReady = new Promise<void>((resolve) => {
    const onLine = (line: string) => {
      lines.push(line);
      if (starting && line.includes('failed')) process.stdout.write(`${name}: ${line}\n`);
      if (starting && ready(lines)) {
        starting = false;
        resolve();
      }
    };
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', onLine);
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', onLine);
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      isReady,
      gone.then(() => {
        // once it was ready (or given up on), an exit is the test's own doing
        if (starting)
          throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode} before it was ready:\n${lines.join('\n')}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name} not ready within 30 s:\n${lines.join('\n')}`)), 30_000);
      }),
    ]);
  } catch (err) {
    starting = false;
    await stop('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return { child, lines, stop, [Symbol.asyncDispose]: () => stop() };
}

/**
 * Starts a service process (`services/worker/dist/main.js`…) with `env` and resolves once it
 * logs `ready`.
 */
export function startService(entry: string, env: NodeJS.ProcessEnv, ready: string, lines: string[] = []): Promise<ServiceProcess> {
  return startProcess(entry, process.execPath, [join(ROOT, entry)], env, (seen) => seen.some((l) => l.includes(ready)), lines);
}

/** An ingress process: where it listens. */
export interface IngressProcess extends ServiceProcess {
  readonly runtime: Runtime;
  readonly port: number;
  readonly base: string;
}

/**
 * Starts an ingress with `env` (TESSERA_PORT 0 and one process unless given: a test asks for more)
 * on Node (`services/ingress/bin/ingress.cjs`) or on Deno (`npm run start:deno`), and resolves once
 * it listens: all of its TESSERA_INGRESS_PROCESSES on Node. Its output lines go to `lines`.
 */
export async function spawnIngress(
  env: NodeJS.ProcessEnv,
  options: { readonly runtime?: Runtime; readonly lines?: string[] } = {},
): Promise<IngressProcess> {
  const runtime = options.runtime ?? 'node';
  const full: NodeJS.ProcessEnv = { TESSERA_PORT: '0', TESSERA_INGRESS_PROCESSES: '1', ...env };
  const processes = runtime === 'node' ? Number(full.TESSERA_INGRESS_PROCESSES) : 1;
  const listening = (lines: readonly string[]) => lines.filter((l) => l.includes('"ingress listening"'));
  const [command, args]: [string, string[]] =
    runtime === 'node' ? [process.execPath, [join(ROOT, 'services/ingress/bin/ingress.cjs')]] : ['npm', ['run', '--silent', 'start:deno']];
  const started = await startProcess(`ingress on ${runtime}`, command, args, full, (l) => listening(l).length >= processes, options.lines);
  const port = (JSON.parse(listening(started.lines)[0] as string) as { port: number }).port;
  return { ...started, runtime, port, base: `http://127.0.0.1:${port}` };
}

/** The pid of the child of `parent` whose command line contains `entry` (Linux /proc). */
export function childPid(parent: number, entry: string): number {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(entry)) return Number(pid);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no child of ${parent} running ${entry}`);
}

/** `tessera up` running (or `npm start`, which runs it): its output, and how to stop it as Ctrl-C does. */
export interface UpProcess {
  readonly child: ChildProcess;
  /** Every line of both streams, for as long as it runs. */
  readonly output: string[];
  /** Sends SIGINT (as Ctrl-C does) and resolves with how it exited; SIGKILL after 10 s. */
  stop(): Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
}

/**
 * `tessera up` with `env` (added to this process's environment, REDIS_URL and
 * TESSERA_JWT_SIGNING_KEY taken out unless `env` sets them), resolved once both ingress and worker
 * say they are running. `npm: true` runs the real `npm start` in the repository (which builds, then
 * runs `tessera up`) in a process group of its own.
 */
export async function startUp(env: NodeJS.ProcessEnv, options: { readonly npm?: boolean } = {}): Promise<UpProcess> {
  const full: NodeJS.ProcessEnv = { ...process.env };
  delete full.REDIS_URL;
  delete full.TESSERA_JWT_SIGNING_KEY;
  Object.assign(full, env);
  const [command, args] = options.npm === true ? ['npm', ['start']] : [process.execPath, [join(ROOT, 'packages/cli/bin/tessera.js'), 'up']];
  const child = spawn(command, args, { cwd: ROOT, env: full, stdio: ['ignore', 'pipe', 'pipe'], detached: options.npm === true });
  if (options.npm === true) running.add(child.pid as number);
  const output: string[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => output.push(l));
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => output.push(l));
  const gone = once(child, 'exit').then(([code, signal]) => {
    running.delete(child.pid as number);
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  const exited = gone.then(({ code }) => {
    throw new Error(`tessera up exited with ${code}:\n${output.join('\n')}`);
  });
  const ready = (async () => {
    while (!(output.some((l) => l.includes('"ingress listening"')) && output.some((l) => l.includes('"worker running"')))) await sleep(50);
  })();
  await Promise.race([ready, exited]);
  exited.catch(() => {}); // a later exit (SIGINT, SIGKILL) is the test's own doing
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (options.npm === true) process.kill(-(child.pid as number), sig);
      else child.kill(sig);
    } catch {
      // gone already
    }
  };
  const stop = async () => {
    signal('SIGINT');
    const late = setTimeout(() => signal('SIGKILL'), 10_000);
    const how = await gone;
    clearTimeout(late);
    return how;
  };
  return { child, output, stop };
}

/** Waits up to `timeoutMs` for a line containing `text` among `output` from index `after` on. */
export async function waitForLine(output: readonly string[], text: string, after: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!output.slice(after).some((l) => l.includes(text))) {
    if (Date.now() > deadline) throw new Error(`no line with ${text} within ${timeoutMs} ms:\n${output.slice(after).join('\n')}`);
    await sleep(50);
  }
}
