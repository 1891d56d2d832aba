// Ingress on Deno: `npm run start:deno` (needs `npm run build` and REDIS_URL, TESSERA_JWT_SIGNING_KEY).
// The same handler as on Node; ioredis and @node-rs/argon2 load from node_modules.
import { loadSettings } from '@tessera/config';
import { createHandler, createLogger } from '@tessera/ingress/portable';
import { PasswordHasher } from '@tessera/passwords';
import { connectRedis, keyLayout, TokenRepository, UserRepository } from '@tessera/store';
import { toRawRequest, toResponse } from './adapter.ts';

const settings = loadSettings(Deno.env.toObject());
const log = createLogger('ingress-deno', settings.logLevel, (line) => console.log(line.trimEnd()));
const redis = await connectRedis({
  url: settings.redisUrl,
  commandTimeoutMs: settings.redisCommandTimeoutMs,
  connectionName: 'tessera-ingress-deno',
});
const keys = keyLayout(settings.redisPrefix);
const hasher = new PasswordHasher(settings.argon2);
await hasher.dummyHash();
const handle = createHandler(settings, {
  users: new UserRepository(redis, keys),
  tokens: new TokenRepository(redis, keys),
  hasher,
  log,
  ping: () => redis.ping(),
});
Deno.serve(
  { port: settings.port, hostname: settings.host, onListen: ({ port }) => log.info('ingress listening', { port, runtime: 'deno' }) },
  async (req, info) => toResponse(await handle(await toRawRequest(req, info as Deno.ServeHandlerInfo<Deno.NetAddr>, settings.bodyLimit))),
);
