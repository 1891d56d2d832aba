import type { HttpAnswer, RawRequest } from '@tessera/core';
import type { Request, Response } from 'hyper-express';

/**
 * The only code that knows hyper-express: converts its request into Tessera's small RawRequest
 * (reading at most `limit` body bytes) and writes an HttpAnswer back.
 */
export async function toRawRequest(req: Request, limit: number): Promise<RawRequest> {
  const declared = Number(req.headers['content-length'] ?? '0');
  // Over the limit: do not read it at all; the handler answers "too large" in its dialect.
  const body = declared > limit ? null : new Uint8Array(await req.buffer());
  return {
    method: req.method,
    path: req.path,
    contentType: req.headers['content-type'] ?? '',
    body: body !== null && body.byteLength > limit ? null : body,
    ip: req.ip,
    userAgent: req.headers['user-agent'] ?? '',
  };
}

export function writeAnswer(res: Response, answer: HttpAnswer): void {
  if (res.completed) return;
  res.status(answer.status);
  for (const [name, value] of Object.entries(answer.headers)) res.header(name, value);
  res.send(answer.body);
}
