import { aroundAll, describe, expect, it } from 'vitest';
import { loginAddresses, loginFrom } from '../support/proxied.ts';
import { RUNTIMES, type Stack, startStack, testKeys } from '../support/stack.ts';

// The ingress listens on 127.0.0.1; requests come from 127.0.0.1 (the "proxy") or 127.0.0.2 (a
// client reaching the ingress directly). Rate limit 3 a minute: the 4th attempt of a bucket is 429.
const RATE = { TESSERA_LOGIN_RATE_LIMIT: '3', TESSERA_LOGIN_RATE_WINDOW_S: '60' };

async function statuses(stack: Stack, username: string, headers: Record<string, string | string[]>, n: number, from?: string) {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await loginFrom(stack.base, username, { headers, from }));
  return out;
}

describe.each(RUNTIMES)('without TESSERA_TRUSTED_PROXIES (the default) on %s', (runtime) => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack(RATE, { seed: false, runtime });
    stack = started;
    await runSuite();
  });

  it('ignores X-Forwarded-For and Forwarded: the audit trail and the rate limit see the peer', async () => {
    expect(await statuses(stack, 'a', { 'x-forwarded-for': '203.0.113.7' }, 2)).toStrictEqual([401, 401]);
    expect(await statuses(stack, 'b', { forwarded: 'for=203.0.113.8' }, 1)).toStrictEqual([401]);
    // a fourth client's first attempt: the same bucket, the peer's
    expect(await statuses(stack, 'c', { 'x-forwarded-for': '198.51.100.1', forwarded: 'for=198.51.100.1' }, 1)).toStrictEqual([429]);
    expect(await loginAddresses(stack.redis, stack.settings.redisPrefix)).toStrictEqual({
      'u:a': ['127.0.0.1', '127.0.0.1'],
      'u:b': ['127.0.0.1'],
      'u:c': ['127.0.0.1'],
    });
  });
});

describe.each(RUNTIMES)('TESSERA_TRUSTED_PROXIES=127.0.0.1/32 (X-Forwarded-For) on %s', (runtime) => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack({ ...RATE, TESSERA_TRUSTED_PROXIES: '127.0.0.1/32' }, { seed: false, runtime });
    stack = started;
    await runSuite();
  });

  it('takes the client from the proxy: each client its own bucket and its own address in the audit trail', async () => {
    // what client A wrote itself stands left of what the proxy appended
    expect(await statuses(stack, 'a', { 'x-forwarded-for': '6.6.6.6, 203.0.113.7' }, 4)).toStrictEqual([401, 401, 401, 429]);
    expect(await statuses(stack, 'b', { 'x-forwarded-for': '203.0.113.8' }, 3)).toStrictEqual([401, 401, 401]);
    // the proxy's own field line after the client's: every line counts, the last one is nearest
    expect(await statuses(stack, 'c', { 'x-forwarded-for': ['203.0.113.7', '198.51.100.9'] }, 1)).toStrictEqual([401]);
    expect(await statuses(stack, 'd', { 'x-forwarded-for': ['198.51.100.10', '127.0.0.1'] }, 1)).toStrictEqual([401]);
    const seen = await loginAddresses(stack.redis, stack.settings.redisPrefix);
    expect(seen['u:a']).toStrictEqual(Array(4).fill('203.0.113.7'));
    expect(seen['u:b']).toStrictEqual(Array(3).fill('203.0.113.8'));
    expect(seen['u:c']).toStrictEqual(['198.51.100.9']);
    expect(seen['u:d']).toStrictEqual(['198.51.100.10']);
  });

  it('ignores the header of a peer that is not a trusted proxy', async () => {
    expect(await statuses(stack, 'e', { 'x-forwarded-for': '203.0.113.20' }, 4, '127.0.0.2')).toStrictEqual([401, 401, 401, 429]);
    // the spoofed address's bucket was never touched
    expect(await statuses(stack, 'f', { 'x-forwarded-for': '203.0.113.20' }, 1)).toStrictEqual([401]);
    const seen = await loginAddresses(stack.redis, stack.settings.redisPrefix);
    expect(seen['u:e']).toStrictEqual(Array(4).fill('127.0.0.2'));
    expect(seen['u:f']).toStrictEqual(['203.0.113.20']);
  });

  it('gives an IPv6 /64 one bucket, and keeps each full address in the audit trail', async () => {
    const from = (address: string) => ({ 'x-forwarded-for': address });
    expect(await statuses(stack, 'g', from('2001:db8:1:2::a'), 2)).toStrictEqual([401, 401]);
    expect(await statuses(stack, 'h', from('[2001:DB8:1:2:ffff:ffff:ffff:ffff]:4711'), 2)).toStrictEqual([401, 429]);
    expect(await statuses(stack, 'i', from('2001:db8:1:3::a'), 1)).toStrictEqual([401]);
    const seen = await loginAddresses(stack.redis, stack.settings.redisPrefix);
    expect(seen['u:g']).toStrictEqual(['2001:db8:1:2::a', '2001:db8:1:2::a']);
    expect(seen['u:h']).toStrictEqual(['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2:ffff:ffff:ffff:ffff']);
    expect(seen['u:i']).toStrictEqual(['2001:db8:1:3::a']);
    expect(await stack.redis.exists(testKeys(stack.settings.redisPrefix).rate('2001:db8:1:2::/64'))).toBe(1);
  });

  it('falls back to the proxy when the nearest hop names no address', async () => {
    expect(await statuses(stack, 'j', { 'x-forwarded-for': '203.0.113.30, unknown' }, 1)).toStrictEqual([401]);
    expect((await loginAddresses(stack.redis, stack.settings.redisPrefix))['u:j']).toStrictEqual(['127.0.0.1']);
  });
});

describe.each(RUNTIMES)('TESSERA_TRUSTED_PROXIES with TESSERA_PROXY_HEADER=forwarded on %s', (runtime) => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack(
      { ...RATE, TESSERA_TRUSTED_PROXIES: '10.0.0.0/8, ::1, 127.0.0.0/30', TESSERA_PROXY_HEADER: 'forwarded' },
      { runtime },
    );
    stack = started;
    await runSuite();
  });

  it("reads RFC 7239 Forwarded, and then X-Forwarded-For is not the proxy's word", async () => {
    const forwarded = 'for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https, for=10.1.2.3';
    expect(await statuses(stack, 'a', { forwarded, 'x-forwarded-for': '203.0.113.40' }, 1)).toStrictEqual([401]);
    expect(await statuses(stack, 'b', { 'x-forwarded-for': '203.0.113.40' }, 1)).toStrictEqual([401]);
    expect(await statuses(stack, 'c', { forwarded: 'for="_hidden"' }, 1)).toStrictEqual([401]);
    expect(await loginAddresses(stack.redis, stack.settings.redisPrefix)).toStrictEqual({
      'u:a': ['2001:db8:cafe::17'],
      'u:b': ['127.0.0.1'],
      'u:c': ['127.0.0.1'],
    });
  });
});
