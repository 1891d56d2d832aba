import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

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
