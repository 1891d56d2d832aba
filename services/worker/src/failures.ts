import type { Logger } from '@tessera/config/log';
import { isRedisUnavailable } from '@tessera/store';

/**
 * What a log line says of an error: Redis out of reach is an outage the worker rides out (its
 * connections reconnect and nothing is lost), so only its reason and code, no stack; anything else
 * the error itself, serialised into the line with its stack.
 */
export function failureFields(err: unknown): Record<string, unknown> {
  if (!isRedisUnavailable(err)) return { err };
  return { reason: (err as Error).message, code: (err as { code?: unknown }).code };
}

/** Logs a failure at the level it deserves: a warning while Redis is out of reach, else an error. */
export function logFailure(log: Logger, msg: string, err: unknown, fields: Record<string, unknown> = {}): void {
  if (isRedisUnavailable(err)) log.warn(`${msg}: redis unavailable`, { ...fields, ...failureFields(err) });
  else log.error(msg, { ...fields, ...failureFields(err) });
}
