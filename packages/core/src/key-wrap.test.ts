import { describe, expect, it } from 'vitest';
import { KeyEncryptionKey, kekBytes } from './key-wrap.ts';

const BYTES = Uint8Array.from({ length: 32 }, (_, i) => i);

describe('TESSERA_KEK', () => {
  it('reads 32 bytes as hex, base64 or base64url, and nothing else', () => {
    const hex = Array.from(BYTES, (b) => b.toString(16).padStart(2, '0')).join('');
    const base64 = btoa(String.fromCharCode(...BYTES));
    // one expect per list (Deno's vitest shim takes no message): each text with what it reads as
    const read = (texts: string[]) => texts.map((text) => [text, kekBytes(text)]);
    const good = [hex, base64, base64.replace(/=$/, ''), base64.replaceAll('+', '-').replaceAll('/', '_')];
    expect(read(good)).toStrictEqual(good.map((text) => [text, BYTES]));
    const bad = ['', 'short', hex.slice(2), btoa('x'.repeat(31)), btoa('x'.repeat(33)), `${hex}00`];
    expect(read(bad)).toStrictEqual(bad.map((text) => [text, undefined]));
  });
});

describe('KeyEncryptionKey', () => {
  it('seals a secret that opens for its name under its key only', async () => {
    const kek = await KeyEncryptionKey.of(BYTES);
    const sealed = await kek.wrap('kid-1', 'the secret');
    expect(sealed).not.toContain('secret');
    expect(await kek.unwrap('kid-1', sealed)).toBe('the secret');
    // a fresh nonce each time
    expect(await kek.wrap('kid-1', 'the secret')).not.toBe(sealed);
    await expect(kek.unwrap('kid-2', sealed)).rejects.toThrow();
    const other = await KeyEncryptionKey.of(BYTES.map((b) => b ^ 1));
    await expect(other.unwrap('kid-1', sealed)).rejects.toThrow();
  });

  it('takes 32 bytes only', async () => {
    await expect(KeyEncryptionKey.of(new Uint8Array(16))).rejects.toThrow('a key-encryption key is 32 bytes');
  });
});
