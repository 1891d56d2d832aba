import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * Starts a service process (`services/ingress/dist/main.js`, `services/worker/dist/main.js`) and
 * resolves once it logs `ready`. Every line it writes, on either stream, goes to `lines`; lines
 * saying something failed are echoed to the test's output as well.
 */
export async function startService(entry: string, env: NodeJS.ProcessEnv, ready: string, lines: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(ROOT, entry)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const isReady = new Promise<void>((resolve) => {
    const onLine = (line: string) => {
      lines.push(line);
      if (line.includes('failed')) process.stdout.write(`${entry}: ${line}\n`);
      if (line.includes(ready)) resolve();
    };
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', onLine);
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', onLine);
  });
  await Promise.race([
    isReady,
    once(child, 'exit').then(([code]) => {
      throw new Error(`${entry} exited with ${code} before it was ready:\n${lines.join('\n')}`);
    }),
  ]);
  return child;
}

/** SIGKILL, and wait until it is gone. */
export async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** SIGTERM, and wait until it is gone. */
export async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
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

/**
 * `tessera up` with `env` (added to this process's environment, REDIS_URL and
 * TESSERA_JWT_SIGNING_KEY taken out unless `env` sets them), resolved once both ingress and worker
 * say they are running. `output` keeps every line of both streams for as long as it runs.
 */
export async function startUp(env: NodeJS.ProcessEnv): Promise<{ readonly child: ChildProcess; readonly output: string[] }> {
  const full: NodeJS.ProcessEnv = { ...process.env };
  delete full.REDIS_URL;
  delete full.TESSERA_JWT_SIGNING_KEY;
  Object.assign(full, env);
  const child = spawn(process.execPath, [join(ROOT, 'packages/cli/bin/tessera.js'), 'up'], {
    env: full,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => output.push(l));
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => output.push(l));
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`tessera up exited with ${code}:\n${output.join('\n')}`);
  });
  const ready = (async () => {
    while (!(output.some((l) => l.includes('"ingress listening"')) && output.some((l) => l.includes('"worker running"')))) await sleep(50);
  })();
  await Promise.race([ready, exited]);
  exited.catch(() => {}); // a later exit (SIGINT, SIGKILL) is the test's own doing
  return { child, output };
}

/** Waits up to `timeoutMs` for a line containing `text` among `output` from index `after` on. */
export async function waitForLine(output: readonly string[], text: string, after: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!output.slice(after).some((l) => l.includes(text))) {
    if (Date.now() > deadline) throw new Error(`no line with ${text} within ${timeoutMs} ms:\n${output.slice(after).join('\n')}`);
    await sleep(50);
  }
}
