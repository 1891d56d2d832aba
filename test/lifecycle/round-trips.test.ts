import { isClusterUrl } from '@tessera/store';
import { aroundAll, expect, inject, it } from 'vitest';
import { countRoundTrips, type Stack, startStack } from '../support/stack.ts';
import { call, jwtLogin, ministryLogin } from './support.ts';

/**
 * Redis round trips of one request on the ingress's own connection(s) (countRoundTrips). Node
 * only: on Deno the ingress is another process. Issue 14: a refresh in at most 2 on one Redis. On
 * a cluster the figures are those packages/store/src/tokens.ts documents there: the family check
 * and the event of a refresh are steps of their own (saveRefreshed), useRefresh does not read the
 * owner (another slot), and a revocation deletes, then announces and records.
 */
const ON_CLUSTER = isClusterUrl(inject('redisUrl'));

let stack: Stack;
aroundAll(async (run) => {
  await using started = await startStack();
  stack = started;
  await run();
});

const roundTrips = (request: () => Promise<unknown>) => countRoundTrips(stack.redis, request);

it('refreshes a ministry token in 2 round trips: the token traded in with its owner, then the new pair with its event (a cluster: 5, the owner read, the pair, the family check and the event each a step)', async () => {
  const { refresh } = await ministryLogin(stack);
  let body: Record<string, unknown> = {};
  const trips = await roundTrips(async () => {
    body = (await call(stack, '/refreshUserToken', { refresh_token: refresh })).body;
  });
  expect([body.code, trips]).toStrictEqual([0, ON_CLUSTER ? 5 : 2]);
});

it('refreshes a SimpleJWT token in 2 round trips: the token and the blacklist read together, then the new token with its event (a cluster: 4, the family check and the event each a step)', async () => {
  const { refresh } = await jwtLogin(stack);
  let status = 0;
  const trips = await roundTrips(async () => {
    status = (await call(stack, '/api/token/refresh/', { refresh })).status;
  });
  expect([status, trips]).toStrictEqual([200, ON_CLUSTER ? 4 : 2]);
});

it('revokes an access token (RFC 7009) in 2 round trips: its record read, then deleted, announced and recorded in one script (a cluster: 3, the deletion, then the announcement and the event)', async () => {
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
  expect([status, trips, await after.json()]).toStrictEqual([200, ON_CLUSTER ? 3 : 2, { active: false }]);
});
