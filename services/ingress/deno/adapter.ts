import type { HttpAnswer, RawRequest } from '@tessera/core';

/**
 * The Deno edge: converts Deno.serve's WHATWG Request into Tessera's RawRequest (reading at most
 * `limit` body bytes) and an HttpAnswer back into a Response. Nothing else is Deno-specific.
 */
export async function toRawRequest(req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>, limit: number): Promise<RawRequest> {
  const url = new URL(req.url);
  const declared = Number(req.headers.get('content-length') ?? '0');
  let body: Uint8Array | null = null;
  if (declared <= limit) {
    const bytes = new Uint8Array(await req.arrayBuffer());
    body = bytes.byteLength > limit ? null : bytes;
  }
  return {
    method: req.method,
    path: url.pathname,
    contentType: req.headers.get('content-type') ?? '',
    body,
    ip: info.remoteAddr.hostname,
    userAgent: req.headers.get('user-agent') ?? '',
  };
}

export function toResponse(answer: HttpAnswer): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}
