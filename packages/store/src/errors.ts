import { isUnavailable, TesseraError, UnavailableError } from '@tessera/core';
import { ReplyError } from 'ioredis';

/**
 * Normalises what ioredis throws: a reply error from the server is a bug or bad state (kept as is);
 * anything else (refused, closed, timed out, not writable) means Redis is unavailable now.
 */
export function storeError(err: unknown): Error {
  if (err instanceof TesseraError) return err;
  if (err instanceof ReplyError) return err as Error;
  return new UnavailableError('Redis is unavailable', { cause: err });
}

/** Runs one store operation with errors normalised. */
export async function guarded<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw storeError(err);
  }
}

/** Socket errors that mean the server cannot be reached now. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);

/** What ioredis rejects commands with while it has no connection (plain Errors, told apart by message). */
const IOREDIS_OFFLINE = new Set([
  'Connection is closed.',
  "Stream isn't writeable and enableOfflineQueue options is false",
  'Command timed out',
]);

/**
 * Whether an error only says that Redis cannot be reached now (refused, reset, closed, timed out,
 * out of retries): an outage, expected and passing, not a bug. Stricter than `storeError`, which
 * may assume that anything a Redis command throws is about Redis; this one is for code that also
 * does other things (files, parsing), where anything else is a real error.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (isUnavailable(err)) return true;
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError' || err.name === 'ClusterAllFailedError') return true;
  const code = (err as { code?: unknown }).code;
  return (typeof code === 'string' && NETWORK_CODES.has(code)) || IOREDIS_OFFLINE.has(err.message);
}
