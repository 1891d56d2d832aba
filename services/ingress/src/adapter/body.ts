/**
 * A request or answer body collected chunk by chunk, never past `limit` bytes: both runtime
 * adapters read requests with it (node:http's stream, Deno's WHATWG stream), and the upstream
 * client reads the old systems' answers.
 */
export class BodyCollector {
  readonly #chunks: Uint8Array[] = [];
  #size = 0;

  constructor(readonly limit: number) {}

  /** Takes a chunk; false once the body grew past the limit (the chunk is not kept). */
  push(chunk: Uint8Array): boolean {
    this.#size += chunk.byteLength;
    if (this.#size > this.limit) return false;
    this.#chunks.push(chunk);
    return true;
  }

  /** The body so far, one array (the chunk itself when there is one). */
  bytes(): Uint8Array {
    const chunks = this.#chunks;
    if (chunks.length === 1) return chunks[0] as Uint8Array;
    const body = new Uint8Array(this.#size);
    let at = 0;
    for (const c of chunks) {
      body.set(c, at);
      at += c.byteLength;
    }
    return body;
  }
}

/**
 * Reads a WHATWG body stream (fetch's answers, Deno's requests) whole, at most `limit` bytes;
 * null, with the stream cancelled, past that, so a body never takes more memory than its limit.
 */
export async function readLimited(stream: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array | null> {
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const body = new BodyCollector(limit);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return body.bytes();
    if (!body.push(value)) {
      await reader.cancel();
      return null;
    }
  }
}
