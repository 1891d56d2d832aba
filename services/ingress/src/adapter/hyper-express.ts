import type { HttpAnswer, RawRequest } from '@tessera/core';
import type { Request, Response } from 'hyper-express';

/**
 * The only code that knows hyper-express: converts its request into Tessera's small RawRequest
 * (reading at most `limit` body bytes) and writes an HttpAnswer back.
 *
 * Bodies are read straight from uWebSockets.js, not through hyper-express's body stream: with the
 * pinned uWS build, hyper-express 6.8 never finishes a body that arrives in more than one chunk
 * (16 KiB and up), and it does not read chunked bodies at all. Must be called in the request's
 * first tick, before any await, as uWS requires of `onData`.
 */
export function toRawRequest(req: Request, res: Response, limit: number): Promise<RawRequest> {
  const length = req.headers['content-length'];
  const chunked = length === undefined && req.headers['transfer-encoding'] !== undefined;
  const declared = Number(length ?? '0');
  const meta = {
    method: req.method,
    path: req.path,
    contentType: req.headers['content-type'] ?? '',
    ip: req.ip,
    userAgent: req.headers['user-agent'] ?? '',
    authorization: req.headers.authorization ?? '',
    requestId: req.headers['x-request-id'] ?? '',
  };
  // Over the limit: not read at all; answered "too large" in dialect at once, and the connection
  // closed after the answer (see writeAnswer) instead of waiting for the rest of the upload.
  if (!chunked && declared > limit) {
    req.received = true;
    return Promise.resolve({ ...meta, body: null });
  }
  if (!chunked && !(declared > 0)) return Promise.resolve({ ...meta, body: new Uint8Array(0) });
  return readBody(req, res, limit).then((body) => ({ ...meta, body }));
}

/** Collects the body from uWS; resolves null once it grows past `limit` (the rest is dropped). */
function readBody(req: Request, res: Response, limit: number): Promise<Uint8Array | null> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    let over = false;
    res.raw.onData((chunk: ArrayBuffer, isLast: boolean) => {
      if (!over) {
        size += chunk.byteLength;
        if (size > limit) over = true;
        // uWS reuses the chunk's memory after this callback returns: copy it.
        else chunks.push(new Uint8Array(chunk.slice(0)));
      }
      if (!isLast) return;
      // Tell hyper-express the body is in, so its send() does not wait for it.
      req.received = true;
      if (over) return resolve(null);
      const body = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        body.set(c, at);
        at += c.byteLength;
      }
      resolve(body);
    });
  });
}

/** Writes the answer; `close` ends the connection after it (used when a body was refused unread). */
export function writeAnswer(res: Response, answer: HttpAnswer, close = false): void {
  if (res.completed) return;
  res.status(answer.status);
  for (const [name, value] of Object.entries(answer.headers)) res.header(name, value);
  res.send(answer.body, close);
}
