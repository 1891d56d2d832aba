import { isClusterUrl } from '@tessera/store';
import { aroundAll, expect, inject, it } from 'vitest';
import { masterConnections, type Stack, startStack } from '../support/stack.ts';
import { call, jwtLogin, ministryLogin } from './support.ts';

/**
 * Redis round trips of one request, counted where they happen: the writes on the ingress's own
 * connection (auto-pipelining sends a tick's commands as one write, answered as one). Node only:
 * on Deno the ingress is another process. Issue 14: a refresh in at most 2 on one Redis.
 *
 * On a cluster the ingress holds a connection per master and one step's commands go to several of
 * them at once, so a round trip there is a batch of writes issued together (in one turn of the
 * event loop), whichever masters take them. Its figures are those packages/store/src/tokens.ts
 * documents for a cluster: the family check and the event of a refresh are steps of their own
 * (saveRefreshed), and useRefresh does not read the owner (another slot).
 */
const ON_CLUSTER = isClusterUrl(inject('redisUrl'));

let stack: Stack;
aroundAll(async (run) => {
  await using started = await startStack();
  stack = started;
  await run();
});

async function roundTrips(request: () => Promise<unknown>): Promise<number> {
  const streams = masterConnections(stack.redis).map((c) => (c as unknown as { stream: { write: (...a: unknown[]) => boolean } }).stream);
  const writes = streams.map((s) => s.write);
  let count = 0;
  let batchOpen = false;
  for (const [i, stream] of streams.entries()) {
    const write = (writes[i] as (...a: unknown[]) => boolean).bind(stream);
    stream.write = (...a: unknown[]) => {
      if (!ON_CLUSTER) count++;
      else if (!batchOpen) {
        // the first write of a batch: the others of this turn of the event loop go with it
        count++;
        batchOpen = true;
        setImmediate(() => {
          batchOpen = false;
        });
      }
      return write(...a);
    };
  }
  try {
    await request();
    // whatever the request left to finish (an event, a revocation) is counted too
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    for (const [i, stream] of streams.entries()) stream.write = writes[i] as (...a: unknown[]) => boolean;
  }
  return count;
}

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
