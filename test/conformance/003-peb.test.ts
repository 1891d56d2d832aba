import { aroundAll, describe, expect, it } from 'vitest';
import { DEMO, HEX128, PEB_DATETIME } from '../support/demo.ts';
import { type Reply, rawRequest, read } from '../support/http.ts';
import { RUNTIMES, type Stack, startStack } from '../support/stack.ts';
import { type Encoding, expectBody, expectTokenResponseHeaders, FORM_ENCODING, JSON_ENCODING, PEB_ENCODINGS } from './support.ts';

const PATH = '/v1/login';
const THIRTY_DAYS = 30 * 24 * 3600;

/**
 * Document 003 (PEB): POST /v1/login, HTTP status always 200, outcome in the body's `status`.
 * The document writes request bodies as `["email":"...","password":"..."]`; each example is sent
 * both as x-www-form-urlencoded (PEB's published docs) and as JSON.
 */
describe.each(RUNTIMES)('document 003 (PEB, POST /v1/login) on %s', (runtime) => {
  let stack: Stack;

  aroundAll(async (runSuite) => {
    await using started = await startStack({}, { runtime });
    stack = started;
    await runSuite();
  });

  const login = async (encoding: Encoding, fields: Record<string, string>): Promise<Reply> => {
    const { body, headers } = encoding.encode(fields);
    return read(await stack.post(PATH, body, headers));
  };

  /**
   * A success: `status` is the integer 200 (docs/contract.md overrides the document's string "200"),
   * `token` 128 lowercase hex, `valid_till` the UTC form of `valid_till_unix`, 30 days ahead.
   */
  const expectSuccess = async (encoding: Encoding, fields: Record<string, string>): Promise<string> => {
    const before = Math.floor(Date.now() / 1000);
    const a = await login(encoding, fields);
    const after = Math.ceil(Date.now() / 1000);
    expect(a.status, encoding.name).toBe(200);
    expectTokenResponseHeaders(a);
    // Document 003 shows `status` then `token`; docs/contract.md adds `valid_till`, `valid_till_unix`.
    expectBody(a, {
      status: 200,
      token: expect.stringMatching(HEX128),
      valid_till: expect.stringMatching(PEB_DATETIME),
      valid_till_unix: expect.any(Number),
    });
    const body = a.json as { token: string; valid_till: string; valid_till_unix: number };
    expect(Number.isInteger(body.valid_till_unix)).toBe(true);
    expect(body.valid_till).toBe(new Date(body.valid_till_unix * 1000).toISOString().slice(0, 19));
    expect(body.valid_till_unix).toBeGreaterThanOrEqual(before + THIRTY_DAYS);
    expect(body.valid_till_unix).toBeLessThanOrEqual(after + THIRTY_DAYS);
    expect(await stack.tokens.get(body.token)).not.toBeNull();
    return body.token;
  };

  const expectError = (a: Reply, status: number, message: string, errorId: number): void => {
    expect(a.status).toBe(200);
    expectTokenResponseHeaders(a);
    expectBody(a, { status, message, error_id: errorId });
  };

  it('003 › Successfull login with email and password (status 200 as an integer per docs/contract.md, 128-hex token)', async () => {
    const tokens: string[] = [];
    for (const encoding of PEB_ENCODINGS) {
      tokens.push(await expectSuccess(encoding, DEMO.peb));
    }
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('003 › Successfull login with username and password (status 200 as an integer per docs/contract.md, 128-hex token)', async () => {
    const tokens: string[] = [];
    for (const encoding of PEB_ENCODINGS) {
      tokens.push(await expectSuccess(encoding, DEMO.pebByName));
    }
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('003 › Login attempt with improperly formatted email (status 400, "One of fields is improperly formatted.", error_id 8)', async () => {
    for (const encoding of PEB_ENCODINGS) {
      const a = await login(encoding, { email: 'someone@example', password: '7h3se94ssw0rds4re8ad' });
      expectError(a, 400, 'One of fields is improperly formatted.', 8);
    }
  });

  it('003 › Login attempt without password (status 400, "One of required fields is missing.", error_id 6)', async () => {
    for (const encoding of PEB_ENCODINGS) {
      const a = await login(encoding, { email: 'someone@example.com' });
      expectError(a, 400, 'One of required fields is missing.', 6);
    }
  });

  it('003 › Login attempt with GET method (HTTP 200, status 405, "Only POST method is allowed.", error_id 5)', async () => {
    const fields = DEMO.peb;
    const answers: Reply[] = [];
    // The fields in the query string, as a browser or curl -G sends them...
    answers.push(await read(await fetch(`${stack.base}${PATH}?${new URLSearchParams(fields).toString()}`)));
    // ...and in a body, as the document shows them, in both encodings.
    for (const encoding of [FORM_ENCODING, JSON_ENCODING]) {
      const { body, headers } = encoding.encode(fields);
      answers.push(await rawRequest(stack.base, 'GET', PATH, body, headers));
    }
    for (const a of answers) expectError(a, 405, 'Only POST method is allowed.', 5);
  });
});
