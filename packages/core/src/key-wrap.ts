import { fromBase64url, toBase64url } from './base64url.ts';

/**
 * Secrets at rest under a key-encryption key (TESSERA_KEK): AES-256-GCM with a fresh 96-bit nonce
 * per secret and the secret's name as additional data, so a wrapped secret moved to another name
 * does not open. Web Crypto, so the same on Node and Deno.
 */

/** What TESSERA_KEK holds: 32 bytes, as base64, base64url or hex. Undefined for anything else. */
export function kekBytes(text: string): Uint8Array | undefined {
  const t = text.trim();
  let bytes: Uint8Array | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) bytes = Uint8Array.from(t.match(/../g) as string[], (h) => Number.parseInt(h, 16));
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    try {
      bytes = fromBase64url(t);
    } catch {
      return undefined;
    }
  }
  return bytes?.length === 32 ? bytes : undefined;
}

/** A key-encryption key, imported once. */
export class KeyEncryptionKey {
  private constructor(private readonly key: CryptoKey) {}

  static async of(bytes: Uint8Array): Promise<KeyEncryptionKey> {
    if (bytes.length !== 32) throw new TypeError('a key-encryption key is 32 bytes');
    return new KeyEncryptionKey(await crypto.subtle.importKey('raw', new Uint8Array(bytes), 'AES-GCM', false, ['encrypt', 'decrypt']));
  }

  /** `secret` sealed for `name`: base64url of nonce and ciphertext (with its tag). */
  async wrap(name: string, secret: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(name) },
        this.key,
        new TextEncoder().encode(secret),
      ),
    );
    const out = new Uint8Array(iv.length + sealed.length);
    out.set(iv);
    out.set(sealed, iv.length);
    return toBase64url(out);
  }

  /** The secret sealed for `name`; throws when it was sealed under another key or for another name. */
  async unwrap(name: string, wrapped: string): Promise<string> {
    const bytes = fromBase64url(wrapped);
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: bytes.slice(0, 12), additionalData: new TextEncoder().encode(name) },
      this.key,
      bytes.slice(12),
    );
    return new TextDecoder().decode(plain);
  }
}
