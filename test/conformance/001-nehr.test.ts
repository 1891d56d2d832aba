import { aroundAll, describe, expect, it } from 'vitest';
import { DEMO, UUID_V4 } from '../support/demo.ts';
import { type Reply, read } from '../support/http.ts';
import { RUNTIMES, type Stack, startStack, testKeys } from '../support/stack.ts';
import { expectBody, expectTokenResponseHeaders, JSON_ENCODING, keysOf } from './support.ts';

const PATH = '/nehrapi/login/getToken';

/** Document 001 (`nehr`): POST /nehrapi/login/getToken, real HTTP statuses. */
describe.each(RUNTIMES)('document 001 (nehr, POST /nehrapi/login/getToken) on %s', (runtime) => {
  let stack: Stack;

  aroundAll(async (runSuite) => {
    await using started = await startStack({}, { runtime });
    stack = started;
    await runSuite();
  });

  const login = async (fields: Record<string, string>): Promise<Reply> => {
    const { body, headers } = JSON_ENCODING.encode(fields);
    return read(await stack.post(PATH, body, headers));
  };

  it('001 › Request Body → Successful Response (HTTP 200, the v2 envelope with every result field in order)', async () => {
    const a = await login(DEMO.ministry);
    expect(a.status).toBe(200);
    expectTokenResponseHeaders(a);
    const expected = {
      version: 'v2',
      code: 0,
      message: '1 Records found',
      result: {
        access_token: expect.stringMatching(UUID_V4),
        token_type: 'bearer',
        refresh_token: expect.stringMatching(UUID_V4),
        expires_in: 86399,
        scope: ['', 'read', 'write'],
        firstLogin: null,
        loggedInUser: null,
        userDetails: null,
        persCode: '-90008',
        userIntitutes: [],
        civilId: null,
        userMobile: null,
      },
    };
    expectBody(a, expected);
    const result = (a.json as { result: Record<string, unknown> }).result;
    expect(keysOf(result)).toEqual(Object.keys(expected.result));
    expect(result.access_token).not.toBe(result.refresh_token);
    expect(await stack.tokens.get(result.access_token as string)).not.toBeNull();
    expect(await stack.tokens.get(result.refresh_token as string)).not.toBeNull();
  });

  it('001 › Error Responses › 401 (Unauthorized) "Unauthorized: Access is denied due to invalid credentials."', async () => {
    const expected = { code: 401, message: 'Unauthorized: Access is denied due to invalid credentials.' };
    const wrongPassword = await login({ username: 'MOH-90008', password: 'Moh@-90009' });
    const unknownUser = await login({ username: 'MOH-00000', password: 'Moh@-90008' });
    for (const a of [wrongPassword, unknownUser]) {
      expect(a.status).toBe(401);
      expectTokenResponseHeaders(a);
      expectBody(a, expected);
    }
    expect(unknownUser.text).toBe(wrongPassword.text);
  });

  it('001 › Error Responses › 500 (Internal Server Error) "Internal Server Error: Unable to process the request due to server error." (Redis answers WRONGTYPE for the user key: a failure, not "unavailable")', async () => {
    // A user key holding a string instead of a hash: Redis is up, but HGETALL fails with a reply
    // error. That is a server error (500), not an outage (503).
    const key = testKeys(stack.settings.redisPrefix).user('broken-user');
    await stack.redis.set(key, 'not a hash');
    try {
      const a = await login({ username: 'broken-user', password: 'Moh@-90008' });
      expect(a.status).toBe(500);
      expectTokenResponseHeaders(a);
      expectBody(a, { code: 500, message: 'Internal Server Error: Unable to process the request due to server error.' });
      expect(a.text).not.toMatch(/WRONGTYPE|at \S+ \(/);
    } finally {
      await stack.redis.del(key);
    }
  });
});
