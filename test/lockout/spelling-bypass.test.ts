import { createServer, type IncomingMessage } from 'node:http';
import { aroundAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../support/stack.ts';

/*
 * An account's lock must hold for every spelling that reaches the account. An old SimpleJWT system
 * that matches usernames regardless of case (the case migrationPlan and adoptUser are written for:
 * "one account, whatever case the login typed") vouches for `alice.case` when the account here is
 * `Alice.Case`; adoptUser then takes the login to that account. Here the old system is a real
 * HTTP server on loopback.
 */

const ACCOUNT_ID = 4242;
const RIGHT = 'Right-pass-1';

function jwtWithUserId(id: number): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ token_type: 'access', user_id: id, exp: 4_000_000_000 })}.c2ln`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text;
}

describe('an account lock and the old system: case variants of the username', () => {
  let stack: Stack;
  let guessesUpstream = 0;
  const upstream = createServer((req, res) => {
    void readBody(req).then((text) => {
      guessesUpstream++;
      const { username, password } = JSON.parse(text) as { username: string; password: string };
      const yes = username.toLowerCase() === 'alice.case' && password === RIGHT;
      res
        .writeHead(yes ? 200 : 401, { 'content-type': 'application/json' })
        .end(
          JSON.stringify(
            yes
              ? { access: jwtWithUserId(ACCOUNT_ID), refresh: jwtWithUserId(ACCOUNT_ID) }
              : { detail: 'No active account found with the given credentials' },
          ),
        );
    });
  });

  aroundAll(async (runSuite) => {
    const port = await new Promise<number>((resolve) =>
      upstream.listen(0, '127.0.0.1', () => resolve((upstream.address() as { port: number }).port)),
    );
    try {
      await using started = await startStack(
        { TESSERA_UPSTREAM_SIMPLEJWT_URL: `http://127.0.0.1:${port}/api/token/`, TESSERA_LOGIN_RATE_LIMIT: '0' },
        { seed: false },
      );
      stack = started;
      // migrated earlier under the old system's spelling
      await stack.users.create({ id: ACCOUNT_ID, username: 'Alice.Case', passwordHash: await stack.hasher.hash(RIGHT) });
      await runSuite();
    } finally {
      upstream.close();
    }
  });

  const login = async (username: string, password: string) => {
    const res = await stack.post('/api/token/', JSON.stringify({ username, password }), { 'content-type': 'application/json' });
    await res.arrayBuffer();
    return res.status;
  };

  it('once the account is locked, no spelling of its username gets a token, and its password is never tried', async () => {
    for (let i = 0; i < 5; i++) expect(await login('Alice.Case', `wrong-${i}`)).toBe(401);
    expect(await login('Alice.Case', RIGHT)).toBe(429);
    const account = await stack.users.get('Alice.Case');
    const tried: string[] = [];
    const verify = stack.hasher.verify.bind(stack.hasher);
    stack.hasher.verify = (hash, password) => {
      if (hash === account?.passwordHash) tried.push(password);
      return verify(hash, password);
    };
    guessesUpstream = 0;
    const answers: number[] = [];
    for (const spelling of ['alice.case', 'ALICE.CASE', 'aLICE.CASE'])
      for (let i = 0; i < 5; i++) answers.push(await login(spelling, `wrong-${spelling}-${i}`));
    // the right password, through another spelling the old system vouches for: no token while locked
    answers.push(await login('alice.CASE', RIGHT));
    expect(answers.filter((s) => s === 200)).toStrictEqual([]);
    expect(tried).toStrictEqual([]);
    // each spelling is an identifier unknown here: the old system decides it, within its own count
    expect(guessesUpstream).toBe(16);
    stack.hasher.verify = verify;
    // a spelling is its own identifier until the old system vouches for it (each has its own count,
    // as any unknown identifier: the old system's lockout guards those guesses); once the operator
    // clears the account's lock, the vouched-for spelling is the account again
    await stack.gate.clear('Alice.Case', () => '{}');
    expect(await login('alice.Case', RIGHT)).toBe(200);
  });
});
