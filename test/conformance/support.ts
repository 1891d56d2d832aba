import { createHmac } from 'node:crypto';
import { expect } from 'vitest';
import { JWT } from '../support/demo.ts';
import type { Reply } from '../support/http.ts';

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
export function expectTokenResponseHeaders(a: Reply): void {
  expect(a.headers.get('content-type') ?? '').toMatch(/^application\/json\b/);
  expect(a.headers.get('cache-control')).toBe('no-store');
  expect(a.headers.get('pragma')).toBe('no-cache');
}

/** A body equal to `expected`, keys in the same order at the top level. */
export function expectBody(a: Reply, expected: Record<string, unknown>): void {
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
