import { availableParallelism } from 'node:os';
import { settingsOrExit } from '@tessera/config';
import { createServer, listen } from './app.ts';
import { openDeps } from './deps.ts';
import { createLogger } from './log.ts';
import { assertNativeUws } from './uws-check.ts';

/** Ingress process entry: settings, native uWS check, Redis, then the server. */
async function main(): Promise<void> {
  const settings = settingsOrExit(
    'ingress',
    process.env,
    (t) => process.stderr.write(t),
    (c) => process.exit(c),
    { cpus: availableParallelism() },
  );
  const log = createLogger('ingress', settings.logLevel);
  try {
    assertNativeUws();
  } catch (err) {
    process.stderr.write(`tessera ingress: ${(err as Error).message}\n`);
    process.exit(3);
  }
  const deps = await openDeps(settings, log, 'tessera-ingress');
  const ingress = await listen(createServer(settings, deps), settings.port, settings.host);
  log.info('ingress listening', { host: settings.host, port: ingress.port, pid: process.pid });
  const stop = async (signal: string) => {
    log.info('ingress stopping', { signal });
    await ingress.close();
    deps.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`tessera ingress: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
