import { aroundAll, describe, expect, it } from 'vitest';
import { DEMO, UUID_V4 } from '../support/demo.ts';
import { type Reply, read } from '../support/http.ts';
import { RUNTIMES, type Stack, startStack } from '../support/stack.ts';
import { expectBody, expectTokenResponseHeaders, JSON_ENCODING, keysOf } from './support.ts';

/** Document 000 (`moh`): POST {baseurl}/getUserToken, HTTP 200 always, outcome in `code`. */
describe.each(RUNTIMES)('document 000 (moh, POST {baseurl}/getUserToken) on %s', (runtime) => {
  let stack: Stack;
  let path: string;

  aroundAll(async (runSuite) => {
    await using started = await startStack({}, { runtime });
    stack = started;
    path = `${stack.settings.mohBase}/getUserToken`;
    await runSuite();
  });

  const login = async (fields: Record<string, string>): Promise<Reply> => {
    const { body, headers } = JSON_ENCODING.encode(fields);
    return read(await stack.post(path, body, headers));
  };

  it('000 › Request Body → Successful Response (HTTP 200, the v2 envelope with every result field in order)', async () => {
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
    // The issued pair is live in the token store.
    expect(await stack.tokens.get(result.access_token as string)).not.toBeNull();
    expect(await stack.tokens.get(result.refresh_token as string)).not.toBeNull();
  });

  it('000 › Error/other Responses › unathorized/bad credential (HTTP 200, code 3 "Bad Credentials", result null)', async () => {
    const expected = { version: 'v2', code: 3, message: 'Bad Credentials', result: null };
    const wrongPassword = await login({ username: 'MOH-90008', password: 'Moh@-90009' });
    const unknownUser = await login({ username: 'MOH-00000', password: 'Moh@-90008' });
    for (const a of [wrongPassword, unknownUser]) {
      expect(a.status).toBe(200);
      expectTokenResponseHeaders(a);
      expectBody(a, expected);
    }
    expect(wrongPassword.text).toBe('{"version":"v2","code":3,"message":"Bad Credentials","result":null}');
    // docs/contract.md: an unknown user and a wrong password answer byte for byte the same.
    expect(unknownUser.text).toBe(wrongPassword.text);
  });
});
