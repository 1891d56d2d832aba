import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { expect } from 'vitest';
import { bytes } from '../../packages/core/test/fixtures.ts';
import { validateResponse } from './openapi.ts';

// Request bodies as bytes: the core unit tests' helpers.
export { bytes, concat, multipart } from '../../packages/core/test/fixtures.ts';

/** One HTTP answer, read completely: what every helper that sends a request gives back. */
export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed (undefined if it is not JSON). */
  readonly json: unknown;
}

export function replyOf(status: number, headers: Headers, text: string): Reply {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers, text, json };
}

/** Reads a fetch Response completely. */
export async function read(res: Response): Promise<Reply> {
  return replyOf(res.status, res.headers, await res.text());
}

/**
 * A request through node:http on a connection of its own, for what fetch refuses to send (a GET
 * with a body: document 003's "Login attempt with GET method" shows a body).
 */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const bytes = body === undefined ? undefined : Buffer.from(body, 'utf8');
    const req = request(
      new URL(path, base),
      { method, agent: false, headers: bytes === undefined ? headers : { ...headers, 'content-length': String(bytes.byteLength) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const answer = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) answer.append(name, v);
          }
          resolve(replyOf(res.statusCode ?? 0, answer, Buffer.concat(chunks).toString('utf8')));
        });
      },
    );
    req.on('error', reject);
    req.end(bytes);
  });
}

export type Body = string | Uint8Array | URLSearchParams | FormData | ReadableStream<Uint8Array> | undefined;

export interface SendOptions {
  readonly method?: string;
  readonly body?: Body;
  /** Sent verbatim; omitted when undefined (strings are sent as bytes so fetch adds no type). */
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
  /** Give up (and fail) when no answer comes within this many ms (default 10 s). */
  readonly timeoutMs?: number;
}

/** Sends one request; strings become bytes so that only `contentType` decides the header. */
export async function send(base: string, path: string, options: SendOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  const body = typeof options.body === 'string' ? bytes(options.body) : options.body;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const init: RequestInit & { duplex?: 'half' } = {
    method: options.method ?? 'POST',
    headers,
    body: (body ?? null) as BodyInit | null,
    signal: AbortSignal.timeout(timeoutMs),
  };
  if (body instanceof ReadableStream) init.duplex = 'half';
  let reply: Reply;
  try {
    reply = await read(await fetch(`${base}${path}`, init));
  } catch (err) {
    const e = err as Error;
    const why =
      e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `${e.message} (${String((e.cause as Error | undefined)?.message)})`;
    throw new Error(`${options.method ?? 'POST'} ${path}: ${why}`);
  }
  // Every answer must be one the OpenAPI document describes.
  validateResponse(init.method as string, path, reply.status, reply.headers, reply.text);
  return reply;
}

export function postJson(base: string, path: string, value: unknown): Promise<Reply> {
  return send(base, path, { body: JSON.stringify(value), contentType: 'application/json' });
}

/** Asserts the answer is a JSON document with the token-route headers, and returns it parsed. */
export function jsonOf(reply: Reply): unknown {
  expect(reply.headers.get('content-type')).toBe('application/json');
  expect(() => JSON.parse(reply.text)).not.toThrow();
  return JSON.parse(reply.text);
}

/** Asserts status and exact body bytes, and the no-store headers of every token answer. */
export function expectAnswer(reply: Reply, status: number, body: string): void {
  expect({ status: reply.status, body: reply.text }).toStrictEqual({ status, body });
  jsonOf(reply);
  expect(reply.headers.get('cache-control')).toBe('no-store');
  expect(reply.headers.get('pragma')).toBe('no-cache');
}

/** Header names and values, sorted, without `date`. */
export function headerSet(headers: Headers): [string, string][] {
  // date and x-request-id differ on every answer by design
  return [...headers.entries()]
    .filter(([name]) => name !== 'date' && name !== 'x-request-id')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The name Tessera gives a token in Redis: the first 128 bits of its SHA-256, base64url. */
export function tokenName(text: string): string {
  return createHash('sha256').update(text).digest().subarray(0, 16).toString('base64url');
}

/** The payload of a JWT, decoded (no signature check). */
export function jwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}
