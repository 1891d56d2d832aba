import { TesseraError, UnavailableError } from '@tessera/core';
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
