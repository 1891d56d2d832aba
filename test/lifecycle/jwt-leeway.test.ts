import { aroundAll, expect, it } from 'vitest';
import { type Stack, startStack } from '../support/stack.ts';
import { call, claims, jwtLogin } from './support.ts';

/**
 * SimpleJWT's LEEWAY: a token still verifies that long past its `exp`. Tessera keeps every token
 * it issued in Redis (revocable): a JWT's record, and a blacklisted one's mark, must outlive `exp`
 * by the leeway too, or the token is refused inside it.
 */
let stack: Stack;
aroundAll(async (run) => {
  await using started = await startStack({ TESSERA_JWT_LEEWAY: '30', TESSERA_JWT_ACCESS_LIFETIME: '1' });
  stack = started;
  await run();
});

it('verifies a token past its exp within the leeway, its record kept exp + leeway', async () => {
  const { access, refresh } = await jwtLogin(stack);
  const exp = claims(access).exp as number;
  const until = await stack.redis.pexpiretime(stack.tokens.keyOf(access));
  expect(until).toBe(exp * 1000 + 30_000);
  // past exp (1 s lifetime), inside the 30 s leeway
  await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 200));
  expect((await call(stack, '/api/token/verify/', { token: access })).status).toBe(200);
  // the blacklist holds a refresh token as long as it would verify
  expect((await call(stack, '/api/token/blacklist/', { refresh })).status).toBe(200);
  const mark = await stack.redis.pexpiretime(`${stack.settings.redisPrefix}jb:{${claims(refresh).jti}}`);
  expect(mark).toBe((claims(refresh).exp as number) * 1000 + 30_000);
});
