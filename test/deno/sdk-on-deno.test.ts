import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { promisify } from 'node:util';
import { aroundAll, describe, expect, inject, it } from 'vitest';
import { claims, jwtLogin, ministryLogin } from '../lifecycle/support.ts';
import { type Stack, startStack } from '../support/stack.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

/** The probe under Deno; its one line of JSON. */
async function probe(permissions: string[], args: string[]): Promise<unknown> {
  // asynchronously: the Tessera under test runs in this very process
  const run = await promisify(execFile)(
    `${ROOT}node_modules/.bin/deno`,
    ['run', '--node-modules-dir=manual', ...permissions, `${ROOT}test/deno/sdk-probe.ts`, ...args],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  expect(run.stderr).not.toContain('error');
  return JSON.parse(run.stdout);
}

describe('@tessera/client on Deno', () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack();
    stack = started;
    await runSuite();
  });

  it('authenticates a live bearer token and refuses a dead one with the plain function', async () => {
    const secret = await stack.clients.add('deno-service');
    const { access } = await ministryLogin(stack);
    expect(await probe(['--allow-net'], [stack.base, 'deno-service', secret, access])).toStrictEqual({ good: 'MOH-90008', bad: 401 });
  }, 60_000);
});

describe('@tessera/client offline check on Deno', () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    await using started = await startStack({ TESSERA_JWT_ALGORITHM: 'EdDSA', TESSERA_JWT_SIGNING_KEY: pem.replaceAll('\n', '\\n') });
    stack = started;
    await runSuite();
  });

  it('verifies an EdDSA token from the JWKS with the revocation push from Redis, without introspection', async () => {
    const secret = await stack.clients.add('deno-service');
    const { access } = await jwtLogin(stack);
    const answer = await probe(
      ['--allow-net', '--allow-env', '--allow-sys'],
      [stack.base, 'deno-service', secret, access, inject('redisUrl'), stack.settings.redisPrefix],
    );
    expect(answer).toStrictEqual({
      good: 'sampleUser',
      bad: 401,
      offline: { sub: String(claims(access).user_id), tampered: 401, introspections: 0, stats: { active: 1, inactive: 1, asked: 0 } },
    });
  }, 60_000);
});
