import { describe, expect, it } from 'vitest';
import { fromBase64url, toBase64url } from './base64url.ts';

/** The reference: the runtime's own base64 (btoa), made url-safe and unpadded as RFC 4648 §5 says. */
function reference(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

describe('base64url', () => {
  it('writes every length and every byte value as the runtime base64 does, and reads it back', () => {
    const random = new Uint8Array(300);
    crypto.getRandomValues(random);
    const every = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (const source of [random, every, new Uint8Array(64).fill(255)]) {
      for (let n = 0; n <= source.length; n++) {
        const bytes = source.subarray(0, n);
        const text = toBase64url(bytes);
        expect(text).toBe(reference(bytes));
        expect(fromBase64url(text)).toStrictEqual(Uint8Array.from(bytes));
      }
    }
  });
});
