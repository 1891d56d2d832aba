import type { HttpAnswer, RawRequest, TrustedProxies } from '@tessera/core';
import { readLimited } from './body.ts';
import { framingRefusal, MAX_HEADER_BYTES } from './framing.ts';

/**
 * Deno's parser (hyper) refuses duplicate Content-Length, unknown transfer codings, obs-fold and NUL
 * itself; this adds framingRefusal's checks and the head size (Headers hold each name once, its
 * lines joined, so a name counts as one line). `Connection: close`: nothing pipelined behind the
 * refused request is read. Bare LF line ends are accepted by hyper (RFC 9112 §2.2 allows it).
 */
export function refusal(req: Request): Response | null {
  let lines = 0;
  let bytes = 0;
  req.headers.forEach((value, name) => {
    lines++;
    bytes += name.length + value.length + 4;
  });
  const status = bytes > MAX_HEADER_BYTES ? 431 : framingRefusal(lines, req.headers.get('transfer-encoding'));
  return status === 0 ? null : new Response(null, { status, headers: { connection: 'close' } });
}

/**
 * The Deno edge: converts Deno.serve's WHATWG Request into Tessera's RawRequest (reading at most
 * `limit` body bytes) and an HttpAnswer back into a Response. Nothing else is Deno-specific.
 * `proxies`: whose word on the client address to take (null: the peer is the client); their header
 * is read only when the peer is one of them (Headers.get joins its field lines).
 */
export async function toRawRequest(
  req: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  limit: number,
  proxies: TrustedProxies | null = null,
): Promise<RawRequest> {
  const url = new URL(req.url);
  const peer = info.remoteAddr.hostname;
  const declared = Number(req.headers.get('content-length') ?? '0');
  return {
    method: req.method,
    path: url.pathname,
    contentType: req.headers.get('content-type') ?? '',
    body: declared > limit ? null : await readLimited(req.body, limit),
    ip: proxies === null ? peer : proxies.clientAddress(peer, (name) => req.headers.get(name)),
    userAgent: req.headers.get('user-agent') ?? '',
    authorization: req.headers.get('authorization') ?? '',
    requestId: req.headers.get('x-request-id') ?? '',
  };
}

export function toResponse(answer: HttpAnswer & { readonly requestId?: string }): Response {
  const headers = answer.requestId === undefined ? answer.headers : { ...answer.headers, 'x-request-id': answer.requestId };
  return new Response(answer.body, { status: answer.status, headers });
}
