import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { expect } from 'vitest';

/** Token formats, as docs/contract.md states them. */
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const HEX128 = /^[0-9a-f]{128}$/;
export const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** PEB `valid_till`: `2023-09-25T01:21:20` (ISO 8601, whole seconds, no offset). */
export const PEB_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

/** One HTTP answer, read completely. */
export interface Answer {
  readonly status: number;
  readonly text: string;
  /** The parsed body (undefined if it is not JSON). */
  readonly json: unknown;
  header(name: string): string | null;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export async function read(res: Response): Promise<Answer> {
  const text = await res.text();
  return { status: res.status, text, json: parse(text), header: (name) => res.headers.get(name) };
}

/**
 * A request through node:http, for what fetch refuses to send (a GET with a body: document 003's
 * "Login attempt with GET method" shows a body).
 */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const bytes = body === undefined ? undefined : Buffer.from(body, 'utf8');
    const req = request(
      url,
      { method, headers: bytes === undefined ? headers : { ...headers, 'content-length': String(bytes.byteLength) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            text,
            json: parse(text),
            header: (name) => {
              const v = res.headers[name.toLowerCase()];
              return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
            },
          });
        });
      },
    );
    req.on('error', reject);
    req.end(bytes);
  });
}

/** Request fields as a body of one media type. */
export interface Encoding {
  readonly name: string;
  encode(fields: Record<string, string>): { body: string; headers: Record<string, string> };
}

export const JSON_ENCODING: Encoding = {
  name: 'application/json',
  encode: (fields) => ({ body: JSON.stringify(fields), headers: { 'content-type': 'application/json' } }),
};

export const FORM_ENCODING: Encoding = {
  name: 'application/x-www-form-urlencoded',
  encode: (fields) => ({ body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
};

/** Document 003 writes bodies as `["email":"...","password":"..."]`: PEB clients send both forms. */
export const PEB_ENCODINGS: readonly Encoding[] = [FORM_ENCODING, JSON_ENCODING];

/** docs/contract.md: every token response is JSON with `Cache-Control: no-store` and `Pragma: no-cache`. */
export function expectTokenResponseHeaders(a: Answer): void {
  expect(a.header('content-type') ?? '').toMatch(/^application\/json\b/);
  expect(a.header('cache-control')).toBe('no-store');
  expect(a.header('pragma')).toBe('no-cache');
}

/** A body equal to `expected`, keys in the same order at the top level. */
export function expectBody(a: Answer, expected: Record<string, unknown>): void {
  expect(a.json).toEqual(expected);
  expect(Object.keys(a.json as object)).toEqual(Object.keys(expected));
}

export function keysOf(value: unknown): string[] {
  expect(value).toBeTypeOf('object');
  expect(value).not.toBeNull();
  return Object.keys(value as object);
}

export interface DecodedJwt {
  /** The header segment as sent (base64url). */
  readonly headerSegment: string;
  readonly headerText: string;
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  /** True when the HS256 signature verifies with `key`. */
  readonly signatureValid: boolean;
}

/** Splits and decodes a compact JWS, checking its HS256 signature with `key`. */
export function decodeJwt(token: string, key: string): DecodedJwt {
  expect(token).toMatch(JWT);
  const [h = '', p = '', s = ''] = token.split('.');
  const headerText = Buffer.from(h, 'base64url').toString('utf8');
  const expectedSig = createHmac('sha256', key).update(`${h}.${p}`).digest('base64url');
  return {
    headerSegment: h,
    headerText,
    header: JSON.parse(headerText) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>,
    signatureValid: expectedSig === s,
  };
}
