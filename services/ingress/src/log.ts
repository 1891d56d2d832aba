import pino from 'pino';

/** Structured JSON logs (pino), one line per event. Never pass a password, token or secret to it. */
export interface Logger {
  /** Whether info lines are written (callers skip building fields nobody reads). */
  readonly infoEnabled: boolean;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** pino in Tessera's shape: `service` on every line, ISO times, errors without their values. */
export function createLogger(service: string, level: 'debug' | 'info' | 'warn' | 'error' = 'info', write?: (line: string) => void): Logger {
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
    info: (msg, fields) => log.info(fields ?? {}, msg),
    warn: (msg, fields) => log.warn(fields ?? {}, msg),
    error: (msg, fields) => log.error(fields ?? {}, msg),
  };
}
