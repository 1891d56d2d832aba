// Run by sdk-on-deno.test.ts under Deno: the SDK's plain function, no Node API involved.
// deno run --node-modules-dir=manual --allow-net test/deno/sdk-probe.ts <base> <client id> <secret> <token>
import { bearerAuthenticator, createIntrospector } from '@tessera/client';

const [baseUrl, clientId, clientSecret, token] = Deno.args as [string, string, string, string];
const authenticate = bearerAuthenticator(createIntrospector({ baseUrl, clientId, clientSecret }));
const good = await authenticate(`Bearer ${token}`);
const bad = await authenticate('Bearer not-a-live-token');
console.log(JSON.stringify({ good: good.ok ? good.token.username : good.status, bad: bad.ok ? 'accepted' : bad.status }));
