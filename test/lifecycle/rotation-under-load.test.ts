import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { tessera } from '../support/cli.ts';
import { type Stack, startStack, testPrefix } from '../support/stack.ts';
import { call, jwtLogin } from './support.ts';

const kidOf = (jwt: string): string =>
  (JSON.parse(Buffer.from(jwt.split('.')[0] as string, 'base64url').toString('utf8')) as { kid?: string }).kid ?? 'settings';

/**
 * Two ingress processes under login and verification load while the keys rotate twice (a new key
 * added and activated, then another, the first retired for later): every token issued verifies on
 * both processes, whichever key signed it.
 */
it('rotates the signing key under load with no failed verification of a live token', async () => {
  const prefix = testPrefix();
  const env = {
    TESSERA_KEK: randomBytes(32).toString('base64'),
    TESSERA_STATE_DIR: mkdtempSync(join(tmpdir(), 'tessera-')),
    TESSERA_JWKS_MAX_AGE_S: '0',
    TESSERA_LOGIN_RATE_LIMIT: '0',
  };
  const a = await startStack(env, { prefix });
  const b = await startStack(env, { prefix, seed: false });
  const stacks: readonly Stack[] = [a, b];
  const failures: string[] = [];
  const signedBy = new Map<string, number>();
  let running = true;
  const worker = async (n: number) => {
    for (let i = n; running; i++) {
      const tokens = await jwtLogin(stacks[i % 2] as Stack);
      if (tokens.access === undefined) {
        failures.push(`login: ${JSON.stringify(tokens)}`);
        continue;
      }
      signedBy.set(kidOf(tokens.access), (signedBy.get(kidOf(tokens.access)) ?? 0) + 1);
      for (const [where, token] of [
        [stacks[(i + 1) % 2], tokens.access],
        [stacks[i % 2], tokens.refresh],
      ] as const) {
        const r = await call(where as Stack, '/api/token/verify/', { token });
        if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(r.body)} (${kidOf(token)})`);
      }
    }
  };
  const keys = async (...args: string[]) => (await tessera(['keys', ...args], prefix, '', env)).stdout.trim().split('\n').at(-1) as string;
  try {
    const load = [0, 1, 2, 3].map(worker);
    await new Promise((r) => setTimeout(r, 500));
    const first = await keys('add', '--algorithm', 'ES256');
    await keys('activate', first);
    await new Promise((r) => setTimeout(r, 1000));
    const second = await keys('add', '--algorithm', 'EdDSA');
    await keys('activate', second);
    await new Promise((r) => setTimeout(r, 1000));
    await keys('retire', first, '--at', new Date(Date.now() + 3_600_000).toISOString());
    await new Promise((r) => setTimeout(r, 1000));
    running = false;
    await Promise.all(load);
    expect(failures).toStrictEqual([]);
    // the load saw all three keys sign, each many times
    expect([...signedBy.keys()].sort()).toStrictEqual([first, second, 'settings'].sort());
    for (const [kid, count] of signedBy) expect(count, kid).toBeGreaterThan(10);
  } finally {
    running = false;
    await b.close();
    await a.close();
  }
});
