import { aroundAll, describe, expect, it } from 'vitest';
import { DEMO } from '../support/demo.ts';
import { type Reply, read } from '../support/http.ts';
import { RUNTIMES, type Stack, startStack, TEST_SIGNING_KEY } from '../support/stack.ts';
import { decodeJwt, expectBody, expectTokenResponseHeaders, JSON_ENCODING } from './support.ts';

/** Document 002 (djangorestframework-simplejwt): POST /api/token, served with and without the slash. */
const PATHS = ['/api/token', '/api/token/'] as const;

/** The header segment of both tokens in document 002's example: `{"alg":"HS256","typ":"JWT"}`. */
const DOCUMENTED_HEADER_SEGMENT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9';

describe.each(RUNTIMES)('document 002 (SimpleJWT, POST /api/token and /api/token/) on %s', (runtime) => {
  let stack: Stack;

  aroundAll(async (runSuite) => {
    await using started = await startStack({}, { runtime });
    stack = started;
    await runSuite();
  });

  const post = async (path: string, body: string, headers: Record<string, string>): Promise<Reply> =>
    read(await stack.post(path, body, headers));

  it('002 › Successful Response › Example JSON Response (200, `refresh` then `access`, HS256 JWTs with the library claims)', async () => {
    const user = await stack.users.get(DEMO.simplejwt.username);
    expect(user).not.toBeNull();
    for (const path of PATHS) {
      const before = Math.floor(Date.now() / 1000);
      const a = await post(path, ...bodyOf(DEMO.simplejwt));
      const after = Math.ceil(Date.now() / 1000);
      expect(a.status, path).toBe(200);
      expectTokenResponseHeaders(a);
      expect(Object.keys(a.json as object), path).toEqual(['refresh', 'access']);
      const { refresh, access } = a.json as { refresh: string; access: string };

      const lifetimes = { refresh: 86_400, access: 300 } as const;
      const jtis: unknown[] = [];
      for (const [tokenType, token] of [
        ['refresh', refresh],
        ['access', access],
      ] as const) {
        const jwt = decodeJwt(token, TEST_SIGNING_KEY);
        expect(jwt.headerText).toBe('{"alg":"HS256","typ":"JWT"}');
        expect(jwt.header).toEqual({ alg: 'HS256', typ: 'JWT' });
        expect(jwt.headerSegment).toBe(DOCUMENTED_HEADER_SEGMENT);
        expect(jwt.signatureValid, `${tokenType} signature`).toBe(true);
        const p = jwt.payload;
        expect(Object.keys(p)).toEqual(['token_type', 'exp', 'iat', 'jti', 'user_id']);
        expect(p.token_type).toBe(tokenType);
        expect(Number.isInteger(p.iat)).toBe(true);
        expect(Number.isInteger(p.exp)).toBe(true);
        expect(p.iat as number).toBeGreaterThanOrEqual(before);
        expect(p.iat as number).toBeLessThanOrEqual(after);
        expect((p.exp as number) - (p.iat as number)).toBe(lifetimes[tokenType]);
        // SimpleJWT's jti is uuid4().hex.
        expect(p.jti).toMatch(/^[0-9a-f]{32}$/);
        expect(Number.isInteger(p.user_id)).toBe(true);
        expect(p.user_id).toBe(user?.id);
        jtis.push(p.jti);
      }
      expect(jtis[0]).not.toBe(jtis[1]);
    }
  });

  it('002 › Error Responses › 400 Bad Request (required fields missing: both field lists, "This field is required.")', async () => {
    const expected = { username: ['This field is required.'], password: ['This field is required.'] };
    for (const path of PATHS) {
      const a = await post(path, ...bodyOf({}));
      expect(a.status, path).toBe(400);
      expectTokenResponseHeaders(a);
      expectBody(a, expected);
    }
  });

  it('002 › Error Responses › 401 Unauthorized {"detail": "No active account found with the given credentials"}', async () => {
    const expected = { detail: 'No active account found with the given credentials' };
    for (const path of PATHS) {
      const wrongPassword = await post(path, ...bodyOf({ username: 'sampleUser', password: 'wrongpassword123' }));
      const unknownUser = await post(path, ...bodyOf({ username: 'noSuchUser', password: 'userpassword123' }));
      for (const a of [wrongPassword, unknownUser]) {
        expect(a.status, path).toBe(401);
        expectTokenResponseHeaders(a);
        expectBody(a, expected);
      }
      expect(unknownUser.text).toBe(wrongPassword.text);
    }
  });
});

function bodyOf(fields: Record<string, string>): [string, Record<string, string>] {
  const { body, headers } = JSON_ENCODING.encode(fields);
  return [body, headers];
}
