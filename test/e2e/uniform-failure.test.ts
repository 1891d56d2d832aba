import { aroundAll, describe, expect, it } from 'vitest';
import { expectAnswer, headerSet, jsonOf, postJson, type Reply } from '../support/http.ts';
import { keysMatching, RUNTIMES, type Stack, startStack } from '../support/stack.ts';

const PASSWORD = 'Disabled-but-correct-9';

/** The one failure answer of each route for bad credentials, byte for byte. */
const BAD_CREDENTIALS = {
  moh: { status: 200, body: '{"version":"v2","code":3,"message":"Bad Credentials","result":null}' },
  nehr: { status: 401, body: '{"code":401,"message":"Unauthorized: Access is denied due to invalid credentials."}' },
  simplejwt: { status: 401, body: '{"detail":"No active account found with the given credentials"}' },
  peb: { status: 200, body: '{"status":401,"message":"User with given credentials not found.","error_id":11}' },
} as const;

interface Case {
  readonly dialect: keyof typeof BAD_CREDENTIALS;
  readonly path: string;
  /** Field naming the user in this request. */
  readonly idField: 'username' | 'email' | 'user';
  /** Identifier values: the disabled user's, and one nobody has. */
  readonly disabledId: string;
  readonly unknownId: string;
}

const CASES: Case[] = [
  { dialect: 'moh', path: '/getUserToken', idField: 'username', disabledId: 'disabled.user', unknownId: 'no.such.user' },
  { dialect: 'nehr', path: '/nehrapi/login/getToken', idField: 'username', disabledId: 'disabled.user', unknownId: 'no.such.user' },
  { dialect: 'simplejwt', path: '/api/token', idField: 'username', disabledId: 'disabled.user', unknownId: 'no.such.user' },
  { dialect: 'simplejwt', path: '/api/token/', idField: 'username', disabledId: 'disabled.user', unknownId: 'no.such.user' },
  { dialect: 'peb', path: '/v1/login', idField: 'username', disabledId: 'disabled.user', unknownId: 'no.such.user' },
  { dialect: 'peb', path: '/v1/login', idField: 'email', disabledId: 'Disabled@Example.com', unknownId: 'nobody@example.com' },
  { dialect: 'peb', path: '/v1/login', idField: 'user', disabledId: 'disabled@example.com', unknownId: 'nobody@example.com' },
  { dialect: 'peb', path: '/v1/login', idField: 'user', disabledId: 'disabled.user', unknownId: 'no.such.user' },
];

describe.each(RUNTIMES)('unknown user, wrong password and disabled user answer identically on %s', (runtime) => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    // failures here are about answer bytes, not lockout: keep the threshold out of reach
    await using started = await startStack({ TESSERA_LOCKOUT_FAILURES: '1000' }, { runtime });
    stack = started;
    await stack.users.create({ username: 'disabled.user', email: 'disabled@example.com', passwordHash: await stack.hasher.hash(PASSWORD) });
    await stack.users.setDisabled('disabled.user', true);
    await runSuite();
  });

  const login = (c: Case, id: string, password: string): Promise<Reply> => postJson(stack.base, c.path, { [c.idField]: id, password });

  it.each(CASES)('$dialect $path by $idField', async (c) => {
    const unknown = await login(c, c.unknownId, PASSWORD);
    const wrong = await login(c, c.disabledId, 'not-the-password');
    const disabled = await login(c, c.disabledId, PASSWORD);
    const expected = BAD_CREDENTIALS[c.dialect];
    for (const r of [unknown, wrong, disabled]) expectAnswer(r, expected.status, expected.body);
    expect(headerSet(wrong.headers)).toStrictEqual(headerSet(unknown.headers));
    expect(headerSet(disabled.headers)).toStrictEqual(headerSet(unknown.headers));
    expect(unknown.headers.get('content-length')).toBe(String(Buffer.byteLength(expected.body)));
    if (c.dialect === 'simplejwt') expect(unknown.headers.get('www-authenticate')).toBe('Bearer realm="api"');
  });

  it('the disabled user logs in on every route once enabled again (so the refusal above was the flag)', async () => {
    await stack.users.setDisabled('disabled.user', false);
    try {
      for (const c of CASES) {
        const r = await login(c, c.disabledId, PASSWORD);
        expect(r.status, `${c.path} ${c.idField}`).toBe(200);
        const body = jsonOf(r) as Record<string, unknown>;
        if (c.dialect === 'moh' || c.dialect === 'nehr') expect(body.code).toBe(0);
        if (c.dialect === 'peb') expect(body.status).toBe(200);
        if (c.dialect === 'simplejwt') expect(Object.keys(body)).toStrictEqual(['refresh', 'access']);
      }
    } finally {
      await stack.users.setDisabled('disabled.user', true);
    }
  });

  it('a disabled user with the right password gets no token stored', async () => {
    const before = await keysMatching(stack.redis, `${stack.settings.redisPrefix}t:*`);
    for (const c of CASES) await login(c, c.disabledId, PASSWORD);
    const after = await keysMatching(stack.redis, `${stack.settings.redisPrefix}t:*`);
    expect(after.sort()).toStrictEqual(before.sort());
  });

  it('a username differing only in case is a different (unknown) user, answered the same way', async () => {
    const r = await postJson(stack.base, '/api/token', { username: 'SAMPLEUSER', password: 'userpassword123' });
    expectAnswer(r, 401, BAD_CREDENTIALS.simplejwt.body);
  });
});
