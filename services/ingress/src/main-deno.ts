// Ingress on Deno: `npm run start:deno` (needs REDIS_URL and TESSERA_JWT_SIGNING_KEY).
// The same handler as on Node; ioredis and @node-rs/argon2 load from node_modules.
import { loadSettings } from '@tessera/config';
import { createLogger } from '@tessera/config/log';
import { trustedProxies } from '@tessera/core';
import { refusal, toRawRequest, toResponse } from './adapter/deno.ts';
import { openDeps } from './deps.ts';
import { createHandler, INTERNAL_ERROR } from './handler.ts';

// one process (TESSERA_INGRESS_PROCESSES is the Node ingress's): argon2 on every core
const settings = loadSettings({ ...Deno.env.toObject(), TESSERA_INGRESS_PROCESSES: '1' }, { cpus: navigator.hardwareConcurrency });
const log = createLogger('ingress-deno', settings.logLevel, (line) => console.log(line.trimEnd()));
const handle = createHandler(settings, await openDeps(settings, log, 'tessera-ingress-deno'));
const proxies = trustedProxies(settings.proxies);
Deno.serve(
  {
    port: settings.port,
    hostname: settings.host,
    onListen: ({ port }) => log.info('ingress listening', { port, runtime: 'deno' }),
    onError: (err) => {
      log.error('unhandled error', { err });
      return toResponse(INTERNAL_ERROR);
    },
  },
  async (req, info) =>
    refusal(req) ??
    toResponse(await handle(await toRawRequest(req, info as Deno.ServeHandlerInfo<Deno.NetAddr>, settings.bodyLimit, proxies))),
);
