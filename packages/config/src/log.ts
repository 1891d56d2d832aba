import pino from 'pino';
import type { Settings } from './index.ts';

/**
 * The one logger of Tessera's processes (ingress on Node and Deno, worker): JSON lines (pino), one
 * object per event, at TESSERA_LOG_LEVEL and up. Never pass a password, token or secret to it.
 * Errors go under `err` and are serialised into the line (type, message, code, stack), so a stack
 * never reaches the output as lines of its own. Here rather than in a service because both
 * services use it, beside the settings that choose its level (core must stay free of I/O).
 */
export interface Logger {
  /** Whether info lines are written (callers skip building fields nobody reads). */
  readonly infoEnabled: boolean;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export type LogLevel = Settings['logLevel'];

/** pino in Tessera's shape: `service` on every line, ISO times, the level by name, `err` serialised. */
export function createLogger(service: string, level: LogLevel = 'info', write?: (line: string) => void): Logger {
  const destination = write === undefined ? pino.destination({ dest: 1, sync: false }) : { write };
  const log = pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
  return {
    infoEnabled: log.isLevelEnabled('info'),
    debug: (msg, fields) => log.debug(fields ?? {}, msg),
    info: (msg, fields) => log.info(fields ?? {}, msg),
    warn: (msg, fields) => log.warn(fields ?? {}, msg),
    error: (msg, fields) => log.error(fields ?? {}, msg),
  };
}

/** The text of console arguments, as console would print them (strings as they are, errors by message). */
function consoleText(args: readonly unknown[]): string {
  return args
    .map((a) => {
      if (typeof a === 'string') return a;
      if (a instanceof Error) return a.message;
      try {
        return JSON.stringify(a) ?? String(a);
      } catch {
        return String(a);
      }
    })
    .join(' ');
}

/**
 * Routes what a Node process would otherwise print on its own through `log`, so that every line
 * it writes is JSON: console calls of libraries (BullMQ warns about Redis settings that way, and
 * prints errors nobody listens to), Node's process warnings, and an uncaught exception or
 * unhandled rejection (logged as an error with its stack serialised, then exit 1, as Node does).
 * For a Node process's entry point only (tests keep their console), with a logger that does not
 * itself write through console (the Deno ingress's does: it does not call this).
 */
export function routeProcessOutput(log: Logger, exit: (code: number) => never = (code) => process.exit(code)): void {
  const route =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]) => {
      const err = args.find((a) => a instanceof Error);
      log[level](consoleText(args), err === undefined ? { source: 'console' } : { source: 'console', err });
    };
  console.debug = route('debug');
  console.log = route('info');
  console.info = route('info');
  console.warn = route('warn');
  console.error = route('error');
  // Node prints warnings with a listener of its own; this one replaces it
  process.removeAllListeners('warning');
  process.on('warning', (w) => log.warn(w.message, { source: 'node', name: w.name, code: (w as { code?: string }).code }));
  process.on('uncaughtException', (err) => {
    log.error('uncaught exception; exiting', { err });
    exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    log.error('unhandled promise rejection; exiting', { err: reason });
    exit(1);
  });
}
