import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { aroundAll, describe, expect, it } from 'vitest';
import { ministryLogin } from '../lifecycle/support.ts';
import { type Stack, startStack } from '../support/stack.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

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
    // asynchronously: the Tessera under test runs in this very process
    const run = await promisify(execFile)(
      `${ROOT}node_modules/.bin/deno`,
      ['run', '--node-modules-dir=manual', '--allow-net', `${ROOT}test/deno/sdk-probe.ts`, stack.base, 'deno-service', secret, access],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.stderr).not.toContain('error');
    expect(JSON.parse(run.stdout)).toStrictEqual({ good: 'MOH-90008', bad: 401 });
  }, 60_000);
});
