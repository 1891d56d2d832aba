import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { auditStreamKey, newEvent } from '@tessera/events';
import { connectRedis, type TesseraRedis } from '@tessera/store';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { outcome, startTessera, tessera } from '../../../../test/support/cli.ts';
import { waitForLine } from '../../../../test/support/processes.ts';
import { startRedisServer } from '../../../../test/support/redis-source.ts';
import { dropPrefix, testPrefix } from '../../../../test/support/stack.ts';

let redis: TesseraRedis;
const prefix = testPrefix();

beforeAll(async () => {
  redis = await connectRedis({ url: inject('redisUrl') });
});
afterAll(async () => {
  await dropPrefix(redis, prefix);
  await redis.quit();
});

describe('tessera audit tail', () => {
  it('prints the events and skips entries that are no audit event with a one-line warning each', async () => {
    const stream = auditStreamKey(prefix);
    const first = newEvent('login.failed', { dialect: 'nehr', identifier: 'u:alice', outcome: 'bad_credentials' });
    const last = newEvent('login.succeeded', { dialect: 'nehr', identifier: 'u:alice', outcome: 'success' });
    await redis.xadd(stream, '*', 'e', JSON.stringify(first));
    const notJson = await redis.xadd(stream, '*', 'e', 'not json {');
    const noEvent = await redis.xadd(stream, '*', 'e', JSON.stringify({ v: 1, type: 'made.up' }));
    await redis.xadd(stream, '*', 'e', JSON.stringify(last));
    const run = await tessera(['audit', 'tail'], prefix);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${JSON.stringify(first)}\n${JSON.stringify(last)}\n`);
    const warnings = run.stderr.trimEnd().split('\n');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(new RegExp(`^tessera: audit stream entry ${noEvent} skipped: .+`));
    expect(warnings[1]).toBe(`tessera: audit stream entry ${notJson} skipped: not JSON`);
  });
});

/**
 * A TCP relay on loopback to the Redis on `port` that relays every connection at once but the
 * second, which it holds (what its client sends waits in the relay) until `release` is called.
 */
async function relayHoldingSecond(port: number): Promise<{ port: number; second: Promise<() => void>; server: Server }> {
  const relay = (client: Socket) => {
    const upstream = connect(port, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  };
  let seen = 0;
  let arrived: (release: () => void) => void = () => {};
  const second = new Promise<() => void>((resolve) => {
    arrived = resolve;
  });
  const server = createServer((client) => {
    seen += 1;
    if (seen !== 2) return relay(client);
    client.pause();
    arrived(() => relay(client));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as { port: number }).port, second, server };
}

describe('tessera audit tail --follow', () => {
  it('goes on after the newest entry it read: an event appended while its reading connection comes up is printed', async () => {
    // A private redis-server whatever the run's Redis: a relay holds the command's second
    // connection, and a cluster client would bypass it for the node addresses the cluster names.
    await using server = await startRedisServer();
    const redis = await connectRedis({ url: server.url });
    const own = testPrefix();
    const stream = auditStreamKey(own);
    const before = newEvent('login.failed', { dialect: 'nehr', identifier: 'u:before', outcome: 'bad_credentials' });
    const meanwhile = newEvent('login.failed', { dialect: 'nehr', identifier: 'u:meanwhile', outcome: 'bad_credentials' });
    await redis.xadd(stream, '*', 'e', JSON.stringify(before));
    const relay = await relayHoldingSecond(server.port);
    try {
      // the command's first connection reads the history; its second, the reader, is held
      const child = startTessera(['audit', 'tail', '--follow', '-n', '1'], own, { REDIS_URL: `redis://127.0.0.1:${relay.port}` });
      child.stdin.end();
      const done = outcome(child, 30_000);
      const lines: string[] = [];
      createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
      await waitForLine(lines, 'u:before', 0);
      const release = await relay.second;
      await redis.xadd(stream, '*', 'e', JSON.stringify(meanwhile));
      release();
      await waitForLine(lines, 'u:meanwhile', 1, 5000);
      child.kill('SIGINT');
      expect((await done).code).toBe(0);
      expect(lines).toStrictEqual([JSON.stringify(before), JSON.stringify(meanwhile)]);
    } finally {
      relay.server.close();
      redis.disconnect();
    }
  });
});
