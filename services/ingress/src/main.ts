import { type ChildProcess, spawn } from 'node:child_process';
import type { Server } from 'node:http';
import type { Server as NetServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { type Settings, settingsOrExit } from '@tessera/config';
import { createLogger, type Logger, routeProcessOutput } from '@tessera/config/log';
import { createServer, type Ingress, listen } from './app.ts';
import { openDeps } from './deps.ts';
import { FirstProcessMetrics, SiblingMetrics } from './process-metrics.ts';

/** Set in the processes the first one starts (TESSERA_INGRESS_PROCESSES > 1). */
const SIBLING = 'TESSERA_INGRESS_SIBLING';

/** The first process asks each sibling it starts for this message, then sends the listening socket. */
const READY = 'tessera:ready';
const LISTEN = 'tessera:listen';

/**
 * Ingress process entry: Redis, then the server (on the first process's listening socket in a
 * sibling). With several processes, /metrics answers for all of them: the first gathers every
 * process's figures, and a sibling asks the first (process-metrics.ts).
 */
async function main(settings: Settings, log: Logger): Promise<void> {
  const deps = await openDeps(settings, log, 'tessera-ingress');
  const sibling = process.env[SIBLING];
  const first = sibling === undefined && settings.ingressProcesses > 1 ? new FirstProcessMetrics() : undefined;
  const metrics = sibling === undefined ? first?.source : new SiblingMetrics().source;
  const index = sibling === undefined ? 0 : Number(sibling);
  const server = createServer(settings, deps, { process: index, ...(metrics && { metrics }) });
  const ingress = sibling === undefined ? await listen(server, settings.port, settings.host) : await shared(server);
  // one line per process: `process` of `processes` (0 is the first)
  log.info('ingress listening', {
    host: settings.host,
    port: ingress.port,
    pid: process.pid,
    process: index,
    processes: settings.ingressProcesses,
  });
  let stopping = false;
  const stop = async (signal: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    log.info('ingress stopping', { signal });
    // siblings first: from here on, one that exits is stopping, not dying
    const halted = siblings?.stop();
    await ingress.close();
    await halted;
    deps.close();
    process.exit(code);
  };
  const siblings =
    first === undefined
      ? null
      : startSiblings(settings.ingressProcesses - 1, server, log, first, () => void stop('siblings keep dying', 1));
  // a sibling ends with the process that started it, however that one ends (even SIGKILL)
  if (sibling !== undefined) process.once('disconnect', () => void stop('first ingress process gone'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

/**
 * A sibling accepts on the first process's listening socket, which that process sends over the
 * IPC channel once asked (Node 20 has no SO_REUSEPORT).
 */
function shared(server: Server): Promise<Ingress> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown, handle: unknown) => {
      if (message !== LISTEN) return;
      process.off('message', onMessage);
      listen(server, handle as NetServer).then(resolve, reject);
    };
    process.on('message', onMessage);
    process.send?.(READY);
  });
}

/**
 * The other ingress processes of TESSERA_INGRESS_PROCESSES: the same program, accepting on the
 * first process's listening socket (sent to each over IPC; the kernel hands each new connection
 * to whichever process accepts first, so a busy process takes fewer). One
 * that dies is started again after a second; one that keeps dying (5 times in a minute) takes the
 * whole ingress down with exit code 1, so the supervisor above it notices. Each sibling stops when
 * this process goes, even if it is killed (their IPC channel closes).
 */
function startSiblings(
  count: number,
  server: Server,
  log: Logger,
  metrics: FirstProcessMetrics,
  giveUp: () => void,
): { stop(): Promise<void> } | null {
  if (count <= 0) return null;
  let stopping = false;
  const deaths: number[] = [];
  const running = new Set<ChildProcess>();
  const start = (n: number) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1] as string], {
      env: { ...process.env, [SIBLING]: String(n) },
      // the IPC channel closes when this process ends, however it ends: the sibling then stops
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    });
    running.add(child);
    metrics.adopt(child);
    child.on('message', (message) => {
      if (message === READY) child.send(LISTEN, server);
    });
    child.once('exit', (code, signal) => {
      running.delete(child);
      if (stopping) return;
      const now = Date.now();
      deaths.push(now);
      while ((deaths[0] as number) < now - 60_000) deaths.shift();
      log.error('ingress process died', { sibling: n, code, signal });
      if (deaths.length >= 5) {
        log.error('ingress processes keep dying; stopping', {});
        giveUp();
        return;
      }
      setTimeout(() => {
        if (!stopping) start(n);
      }, 1000).unref();
    });
  };
  for (let n = 1; n <= count; n++) start(n);
  return {
    stop: async () => {
      stopping = true;
      await Promise.all(
        [...running].map(
          (child) =>
            new Promise<void>((resolve) => {
              const timer = setTimeout(() => {
                child.kill('SIGKILL');
                resolve();
              }, 5000);
              child.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

// Bad settings are reported before any logger exists (its level is one of them): plain lines on stderr.
const settings = settingsOrExit(
  'ingress',
  process.env,
  (t) => process.stderr.write(t),
  (c) => process.exit(c),
  { cpus: availableParallelism() },
);
const log = createLogger('ingress', settings.logLevel);
routeProcessOutput(log);
main(settings, log).catch((err: unknown) => {
  log.error('ingress failed to start', { err });
  process.exit(1);
});
