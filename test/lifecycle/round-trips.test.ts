import { aroundAll, expect, it } from 'vitest';
import { type Stack, startStack } from '../support/stack.ts';
import { call, jwtLogin, ministryLogin } from './support.ts';

/**
 * Redis round trips of one request, counted where they happen: the writes on the ingress's own
 * connection (auto-pipelining sends a tick's commands as one write, answered as one). Node only:
 * on Deno the ingress is another process. Issue 14: a refresh in at most 2 on one Redis.
 */
let stack: Stack;
aroundAll(async (run) => {
  await using started = await startStack();
  stack = started;
  await run();
});

async function roundTrips(request: () => Promise<unknown>): Promise<number> {
  const stream = (stack.redis as unknown as { stream: { write: (...a: unknown[]) => boolean } }).stream;
  const write = stream.write.bind(stream);
  let writes = 0;
  stream.write = (...a: unknown[]) => {
    writes++;
    return write(...a);
  };
  try {
    await request();
    // whatever the request left to finish (an event, a revocation) is counted too
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    stream.write = write;
  }
  return writes;
}

it('refreshes a ministry token in 2 round trips: the token traded in with its owner, then the new pair with its event', async () => {
  const { refresh } = await ministryLogin(stack);
  let body: Record<string, unknown> = {};
  const trips = await roundTrips(async () => {
    body = (await call(stack, '/refreshUserToken', { refresh_token: refresh })).body;
  });
  expect([body.code, trips]).toStrictEqual([0, 2]);
});

it('refreshes a SimpleJWT token in 2 round trips: the token and the blacklist read together, then the new token with its event', async () => {
  const { refresh } = await jwtLogin(stack);
  let status = 0;
  const trips = await roundTrips(async () => {
    status = (await call(stack, '/api/token/refresh/', { refresh })).status;
  });
  expect([status, trips]).toStrictEqual([200, 2]);
});

it('revokes an access token (RFC 7009) in 2 round trips: its record read, then deleted, announced and recorded in one script', async () => {
  const auth = `Basic ${Buffer.from(`round-trips:${await stack.clients.add('round-trips')}`).toString('base64')}`;
  const revoke = (token: string) => stack.post('/oauth/revoke', new URLSearchParams({ token }), { authorization: auth });
  // the client's credential is checked once, then remembered
  await revoke((await ministryLogin(stack)).access);
  const { access } = await ministryLogin(stack);
  let status = 0;
  const trips = await roundTrips(async () => {
    status = (await revoke(access)).status;
  });
  const after = await stack.post('/oauth/introspect', new URLSearchParams({ token: access }), { authorization: auth });
  expect([status, trips, await after.json()]).toStrictEqual([200, 2, { active: false }]);
});
