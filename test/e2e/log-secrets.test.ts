import { aroundAll, describe, expect, it } from 'vitest';
import { call, jwtLogin, ministryLogin, pebLogin } from '../lifecycle/support.ts';
import { DEMO_PASSWORDS } from '../support/demo.ts';
import { RUNTIMES, type Stack, startStack } from '../support/stack.ts';

// A full run through every route, then a grep of every log line for every secret it used.
describe.each(RUNTIMES)('logs never hold a password, token or secret on %s', (runtime) => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack({ TESSERA_LOGIN_RATE_LIMIT: '0' }, { runtime });
    stack = started;
    await runSuite();
  });

  it('after logins, refreshes, introspection, revocation and bad input in every dialect', async () => {
    const secrets: string[] = [...DEMO_PASSWORDS, 'wrong-password-9f3k'];
    const moh = await ministryLogin(stack);
    const nehr = await ministryLogin(stack, '/nehrapi/login/getToken');
    const jwt = await jwtLogin(stack);
    const peb = await pebLogin(stack);
    secrets.push(moh.access, moh.refresh, nehr.access, nehr.refresh, jwt.access, jwt.refresh, peb);
    const refreshed = (await call(stack, '/refreshUserToken', { refresh_token: moh.refresh })).body.result as {
      access_token: string;
      refresh_token: string;
    };
    secrets.push(refreshed.access_token, refreshed.refresh_token);
    await call(stack, '/refreshUserToken', { refresh_token: moh.refresh }); // reuse: family revoked
    const jwtAccess = (await call(stack, '/api/token/refresh/', { refresh: jwt.refresh })).body.access as string;
    secrets.push(jwtAccess);
    await call(stack, '/api/token/verify/', { token: jwt.access });
    await call(stack, '/api/token/blacklist/', { refresh: jwt.refresh });
    const renewed = (await call(stack, '/v1/login/renew', { token: peb })).body.token as string;
    secrets.push(renewed);
    await call(stack, '/v1/login/check', { token: renewed });
    const clientSecret = await stack.clients.add('log-test');
    secrets.push(clientSecret);
    const auth = `Basic ${Buffer.from(`log-test:${clientSecret}`).toString('base64')}`;
    await stack.post('/oauth/introspect', new URLSearchParams({ token: nehr.access }), { authorization: auth });
    await stack.post('/oauth/revoke', new URLSearchParams({ token: nehr.refresh }), { authorization: auth });
    await stack.post('/oauth/introspect', new URLSearchParams({ token: nehr.access }), {
      authorization: `Basic ${Buffer.from('log-test:wrong-secret-x').toString('base64')}`,
    });
    // failures and malformed bodies that carry a password
    await call(stack, '/nehrapi/login/getToken', { username: 'MOH-90008', password: 'wrong-password-9f3k' });
    await stack.post('/api/token/', '{"username":"sampleUser","password":wrong-password-9f3k}', { 'content-type': 'application/json' });
    await stack.post('/v1/login', 'email=someone@example.com&password=wrong-password-9f3k', { 'content-type': 'text/plain' });

    await stack.settleLogs();
    const logs = stack.logs.join('');
    expect(stack.logs.length).toBeGreaterThan(15);
    for (const line of stack.logs) expect(() => JSON.parse(line)).not.toThrow();
    // every request line names its request id
    const requests = stack.logs.map((l) => JSON.parse(l) as { msg: string; reqId?: string }).filter((l) => l.msg === 'request');
    expect(requests.length).toBeGreaterThan(15);
    for (const r of requests) expect(r.reqId).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
    for (const s of secrets) expect(logs.includes(s), `a log line holds ${s.slice(0, 12)}…`).toBe(false);
    // nor the secret part of a JWT on its own
    for (const t of [jwt.access, jwt.refresh, jwtAccess]) expect(logs.includes(t.split('.')[2] as string)).toBe(false);
  });
});
