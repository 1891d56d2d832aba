import { setTimeout as sleep } from 'node:timers/promises';
import { aroundAll, describe, expect, it } from 'vitest';
import { DEMO, HEX128 } from '../support/demo.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { call, pebLogin } from './support.ts';

const INVALID = { status: 401, message: 'Invalid API token.', error_id: 9 };

describe('PEB renew and check', () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack();
    stack = started;
    await runSuite();
  });

  it('renew answers token and new_token (the same new value) and the old token dies at once', async () => {
    const old = await pebLogin(stack);
    const r = await call(stack, '/v1/login/renew', { token: old });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body)).toStrictEqual(['status', 'token', 'new_token', 'valid_till', 'valid_till_unix']);
    expect(r.body.status).toBe(200);
    expect(r.body.token).toMatch(HEX128);
    expect(r.body.new_token).toBe(r.body.token);
    expect(r.body.token).not.toBe(old);
    expect(r.body.valid_till).toBe(new Date((r.body.valid_till_unix as number) * 1000).toISOString().slice(0, 19));
    expect((await call(stack, '/v1/login/check', { token: old })).body).toStrictEqual(INVALID);
    expect((await call(stack, '/v1/login/renew', { token: old })).body).toStrictEqual(INVALID);
  });

  it('check reports validity, expiry and owner', async () => {
    const token = await pebLogin(stack);
    const r = await call(stack, '/v1/login/check', { token });
    expect(r.status).toBe(200);
    const user = await stack.users.get('someone');
    expect(r.body).toMatchObject({ status: 200, valid: true, user_id: user?.id, username: 'someone', email: 'someone@example.com' });
    expect(Math.abs((r.body.valid_till_unix as number) - (Math.floor(Date.now() / 1000) + 2_592_000))).toBeLessThanOrEqual(2);
  });

  it('answers missing, empty and malformed tokens with error ids 6, 7 and 8 (HTTP 200)', async () => {
    const missing = await call(stack, '/v1/login/check', {});
    expect(missing.status).toBe(200);
    expect(missing.body).toStrictEqual({ status: 400, message: 'One of required fields is missing.', error_id: 6 });
    expect((await call(stack, '/v1/login/renew', { token: '' })).body).toStrictEqual({
      status: 400,
      message: 'One of required fields is empty.',
      error_id: 7,
    });
    expect((await call(stack, '/v1/login/check', { token: 'abc' })).body).toStrictEqual({
      status: 400,
      message: 'One of fields is improperly formatted.',
      error_id: 8,
    });
    expect((await call(stack, '/v1/login/check', { token: 'A'.repeat(128) })).body.error_id).toBe(8);
    expect((await call(stack, '/v1/login/check', { token: 'a'.repeat(128) })).body).toStrictEqual(INVALID);
  });

  it('a ministry or JWT token is not a PEB token', async () => {
    const moh = await call(stack, '/getUserToken', DEMO.ministry);
    const access = (moh.body.result as { access_token: string }).access_token;
    expect((await call(stack, '/v1/login/check', { token: access })).body.error_id).toBe(8);
  });
});

describe('PEB expiry', () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack({ TESSERA_PEB_LIFETIME: '1' });
    stack = started;
    await runSuite();
  });

  it('an expired token answers error 10, a renewed one error 9', async () => {
    const token = await pebLogin(stack);
    expect((await call(stack, '/v1/login/check', { token })).body.valid).toBe(true);
    await sleep(1600);
    expect((await call(stack, '/v1/login/check', { token })).body).toStrictEqual({
      status: 401,
      message: 'API token expired.',
      error_id: 10,
    });
    expect((await call(stack, '/v1/login/renew', { token })).body.error_id).toBe(10);
  });
});
