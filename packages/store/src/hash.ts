import { createHash } from 'node:crypto';

/** The Redis name of a token: SHA-256 of its value, hex. The value itself is never stored. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
