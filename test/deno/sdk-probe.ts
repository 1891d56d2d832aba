// Run by sdk-on-deno.test.ts under Deno: the SDK's plain function, no Node API involved.
// deno run --node-modules-dir=manual --allow-net test/deno/sdk-probe.ts <base> <client id> <secret> <token>
// With <redis url> <prefix> after them (and --allow-env --allow-sys for ioredis): the offline check of
// SimpleJWT tokens too, from the JWKS of a Tessera that signs with an asymmetric key.
import { bearerAuthenticator, createIntrospector, createOfflineVerifier } from '@tessera/client';

const [baseUrl, clientId, clientSecret, token, redisUrl, prefix] = Deno.args as [string, string, string, string, string?, string?];
const introspector = createIntrospector({ baseUrl, clientId, clientSecret });
const authenticate = bearerAuthenticator(introspector);
const good = await authenticate(`Bearer ${token}`);
const bad = await authenticate('Bearer not-a-live-token');
const answer: Record<string, unknown> = { good: good.ok ? good.token.username : good.status, bad: bad.ok ? 'accepted' : bad.status };

if (redisUrl !== undefined) {
  // ioredis on first use only: the plain function above needs no more than --allow-net
  const { redisRevocations } = await import('@tessera/client/redis');
  const revocations = await redisRevocations({ url: redisUrl, ...(prefix === undefined ? {} : { prefix }) });
  const offline = createOfflineVerifier({ baseUrl, revocations });
  const withOffline = bearerAuthenticator(introspector, { offline });
  // a token issued once the verifier listens (iat is in whole seconds)
  await new Promise((r) => setTimeout(r, Math.max(0, Math.ceil(offline.trustedFrom / 1000) * 1000 - Date.now() + 10)));
  const login = await fetch(new URL('/api/token/', baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'sampleUser', password: 'userpassword123' }),
  });
  const { access } = (await login.json()) as { access: string };
  const calls = introspector.stats.calls;
  const accepted = await withOffline(`Bearer ${access}`);
  const [h, p, s] = access.split('.') as [string, string, string];
  const tampered = await withOffline(`Bearer ${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`);
  answer.offline = {
    sub: accepted.ok ? accepted.token.sub : accepted.status,
    tampered: tampered.ok ? 'accepted' : tampered.status,
    introspections: introspector.stats.calls - calls,
    stats: { active: offline.stats.active, inactive: offline.stats.inactive, asked: offline.stats.asked },
  };
  offline.close();
  await revocations.close();
}
console.log(JSON.stringify(answer));
