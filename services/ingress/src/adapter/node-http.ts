import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpAnswer, RawRequest, TrustedProxies } from '@tessera/core';
import { BodyCollector } from './body.ts';
import { framingRefusal } from './framing.ts';

/**
 * The only code that knows node:http: converts its request into Tessera's small RawRequest
 * (reading at most `limit` body bytes) and writes an HttpAnswer back.
 *
 * Node's parser (llhttp, strict) already refuses what RFC 9112 does not allow (bare LF, obs-fold,
 * NUL and other control characters, duplicate or malformed Content-Length, Transfer-Encoding with
 * Content-Length or not ending in chunked) with 400, and a header block over `maxHeaderSize` with
 * 431, closing the connection. `refusal` adds framingRefusal's checks (the server keeps one header
 * line more than allowed, `maxHeadersCount`, so that too many are told apart).
 */

/** Connections that were refused: whatever was pipelined behind the refused request is never handled. */
const refused = new WeakSet<Socket>();

/** 400 or 431 when the request's framing is one Tessera refuses, else 0. */
export function refusal(req: IncomingMessage): number {
  if (refused.has(req.socket)) return 400;
  return framingRefusal(req.rawHeaders.length / 2, req.headers['transfer-encoding']);
}

/**
 * Answers a refused request with a bodiless `status` and closes the connection after it; nothing
 * pipelined behind it on that connection is handled or answered.
 */
export function refuse(req: IncomingMessage, res: ServerResponse, status: number): void {
  const first = !refused.has(req.socket);
  refused.add(req.socket);
  // pipelined after the refused one: never answered (the connection closes after the refusal)
  if (!first) return;
  req.socket.pause();
  res.writeHead(status, { 'content-length': '0', connection: 'close' });
  res.end();
}

/**
 * Reads the request (its body up to `limit`) and calls `then` with it, at once when there is no
 * body. `proxies`: whose word on the client address to take (null: the peer is the client).
 */
export function readRequest(req: IncomingMessage, limit: number, proxies: TrustedProxies | null, then: (raw: RawRequest) => void): void {
  const headers = req.headers;
  const ip =
    proxies === null
      ? undefined
      : proxies.clientAddress(req.socket.remoteAddress ?? '', (name) => {
          const lines = req.headersDistinct[name];
          return lines === undefined ? null : lines.join(', ');
        });
  const length = headers['content-length'];
  const chunked = headers['transfer-encoding'] !== undefined;
  const declared = length === undefined ? 0 : Number(length);
  // Over the limit: not read at all; answered "too large" in dialect at once, and the connection
  // closed after the answer (see writeAnswer) instead of waiting for the rest of the upload.
  if (!chunked && declared > limit) then(new IncomingRequest(req, null, ip));
  else if (!chunked && declared === 0) then(new IncomingRequest(req, EMPTY, ip));
  else readBody(req, limit, (body) => then(new IncomingRequest(req, body, ip)));
}

const EMPTY = new Uint8Array(0);

/**
 * A RawRequest over node:http's request. Without trusted proxies the peer address is read only
 * when asked for (logins, logs); with them, `ip` is the client address settled when read.
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
    private readonly req: IncomingMessage,
    readonly body: Uint8Array | null,
    ip: string | undefined,
  ) {
    const headers = req.headers;
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    this.#ip = ip;
    this.method = req.method ?? 'GET';
    this.path = query < 0 ? url : url.slice(0, query);
    this.contentType = headers['content-type'] ?? '';
    this.userAgent = headers['user-agent'] ?? '';
    this.authorization = headers.authorization ?? '';
    this.requestId = (headers['x-request-id'] as string | undefined) ?? '';
  }

  get ip(): string {
    this.#ip ??= this.req.socket.remoteAddress ?? '';
    return this.#ip;
  }
}

/** Collects the body; gives null once it grows past `limit` (the rest is not read). */
function readBody(req: IncomingMessage, limit: number, resolve: (body: Uint8Array | null) => void): void {
  const body = new BodyCollector(limit);
  const onData = (chunk: Buffer) => {
    if (body.push(chunk)) return;
    req.off('data', onData).off('end', onEnd);
    // the connection closes after the answer (writeAnswer's `close`): stop reading it
    req.pause();
    resolve(null);
  };
  const onEnd = () => resolve(body.bytes());
  req.on('data', onData).on('end', onEnd);
}

/**
 * Writes the answer, and `x-request-id` when given; `close` ends the connection after it (used
 * when a body was refused unread). The headers go to node:http as one flat list: about 1.5 µs a
 * request less than an object (measured on the 2-core machine, 5 headers).
 */
export function writeAnswer(res: ServerResponse, answer: HttpAnswer & { readonly requestId?: string }, close = false): void {
  if (res.headersSent || res.destroyed) return;
  const headers: string[] = [];
  for (const name in answer.headers) headers.push(name, answer.headers[name] as string);
  if (answer.requestId !== undefined) headers.push('x-request-id', answer.requestId);
  if (close) headers.push('connection', 'close');
  headers.push('content-length', String(Buffer.byteLength(answer.body)));
  res.writeHead(answer.status, headers);
  res.end(answer.body);
}
