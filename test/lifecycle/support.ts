import { expect } from 'vitest';
import { DEMO } from '../support/demo.ts';
import { type Reply, read } from '../support/http.ts';
import type { Stack } from '../support/stack.ts';

/** A reply whose body is a JSON object, at hand as `body`. */
export interface Json extends Reply {
  readonly body: Record<string, unknown>;
}

/** POSTs a JSON body and reads the JSON answer. */
export async function call(stack: Stack, path: string, body: unknown): Promise<Json> {
  const reply = await read(await stack.post(path, JSON.stringify(body), { 'content-type': 'application/json' }));
  expect(reply.json, reply.text).toBeTypeOf('object');
  return { ...reply, body: reply.json as Record<string, unknown> };
}

export async function ministryLogin(stack: Stack, path = '/getUserToken'): Promise<{ access: string; refresh: string }> {
  const r = await call(stack, path, DEMO.ministry);
  const result = r.body.result as { access_token: string; refresh_token: string };
  return { access: result.access_token, refresh: result.refresh_token };
}

export async function jwtLogin(stack: Stack): Promise<{ access: string; refresh: string }> {
  const r = await call(stack, '/api/token/', DEMO.simplejwt);
  return r.body as { access: string; refresh: string };
}

/** A SimpleJWT sliding login: its one token. */
export async function slidingLogin(stack: Stack): Promise<string> {
  const r = await call(stack, '/api/token/sliding/', DEMO.simplejwt);
  return r.body.token as string;
}

export async function pebLogin(stack: Stack): Promise<string> {
  const r = await call(stack, '/v1/login', DEMO.peb);
  return r.body.token as string;
}

export function claims(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString('utf8'));
}
