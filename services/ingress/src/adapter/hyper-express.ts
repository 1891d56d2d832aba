import type { HttpAnswer, RawRequest, TrustedProxies } from '@tessera/core';
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
export function toRawRequest(req: Request, res: Response, limit: number, proxies: TrustedProxies | null = null): Promise<RawRequest> {
  return new Promise((resolve) => readRequest(req, res, limit, proxies, resolve));
}

/**
 * As toRawRequest, calling `then` (at once when there is no body to read) instead of a promise.
 * `proxies`: whose word on the client address to take (null: the peer is the client).
 */
export function readRequest(
  req: Request,
  res: Response,
  limit: number,
  proxies: TrustedProxies | null,
  then: (raw: RawRequest) => void,
): void {
  const headers = req.headers;
  // Behind trusted proxies the client is settled now: uWS's request, which alone holds every field
  // line of a header (hyper-express keeps the last), is gone after this tick.
  const ip =
    proxies === null
      ? undefined
      : proxies.clientAddress(peerOf(req), (name) => (headers[name] === undefined ? null : fieldLines(req, name)));
  const length = headers['content-length'];
  const chunked = length === undefined && headers['transfer-encoding'] !== undefined;
  const declared = Number(length ?? '0');
  // Over the limit: not read at all; answered "too large" in dialect at once, and the connection
  // closed after the answer (see writeAnswer) instead of waiting for the rest of the upload.
  if (!chunked && declared > limit) {
    req.received = true;
    then(new IncomingRequest(req, headers, null, ip));
  } else if (!chunked && !(declared > 0)) {
    then(new IncomingRequest(req, headers, EMPTY, ip));
  } else readBody(req, res, limit, (body) => then(new IncomingRequest(req, headers, body, ip)));
}

/** The peer's address, or '' when the client went away before anyone asked. */
function peerOf(req: Request): string {
  try {
    return req.ip;
  } catch {
    return '';
  }
}

/** Every field line of a header, joined by commas (RFC 9110 §5.3). Only in the request's first tick. */
function fieldLines(req: Request, name: string): string {
  let value: string | null = null;
  req.raw.forEach((key, line) => {
    if (key === name) value = value === null ? line : `${value}, ${line}`;
  });
  return value ?? '';
}

const EMPTY = new Uint8Array(0);

/**
 * A RawRequest over hyper-express's request. Without trusted proxies the peer address is read only
 * when asked for (logins, logs); with them, `ip` is the client address settled in the first tick.
 */
class IncomingRequest implements RawRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string;
  readonly userAgent: string;
  readonly authorization: string;
  readonly requestId: string;
  #ip: string | undefined;

  constructor(
    private readonly req: Request,
    headers: Record<string, string | undefined>,
    readonly body: Uint8Array | null,
    ip: string | undefined,
  ) {
    this.#ip = ip;
    this.method = req.method;
    this.path = req.path;
    this.contentType = headers['content-type'] ?? '';
    this.userAgent = headers['user-agent'] ?? '';
    this.authorization = headers.authorization ?? '';
    this.requestId = headers['x-request-id'] ?? '';
  }

  get ip(): string {
    this.#ip ??= peerOf(this.req);
    return this.#ip;
  }
}

/** Collects the body from uWS; gives null once it grows past `limit` (the rest is dropped). */
function readBody(req: Request, res: Response, limit: number, resolve: (body: Uint8Array | null) => void): void {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let over = false;
  res.raw.onData((chunk: ArrayBuffer, isLast: boolean) => {
    if (isLast && size === 0 && chunk.byteLength <= limit) {
      // the usual case, a body in one chunk: one copy (uWS reuses the chunk's memory afterwards)
      req.received = true;
      return resolve(new Uint8Array(chunk.slice(0)));
    }
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
}

/**
 * Writes the answer, and `x-request-id` when given; `close` ends the connection after it (used
 * when a body was refused unread).
 */
export function writeAnswer(res: Response, answer: HttpAnswer & { readonly requestId?: string }, close = false): void {
  if (res.completed) return;
  res.status(answer.status);
  const headers = answer.headers;
  for (const name in headers) res.header(name, headers[name] as string);
  if (answer.requestId !== undefined) res.header('x-request-id', answer.requestId);
  res.send(answer.body, close);
}
