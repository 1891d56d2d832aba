export { createLogger, type Logger } from '@tessera/config/log';
export { readRequest, writeAnswer } from './adapter/node-http.ts';
export { createServer, type Ingress, listen } from './app.ts';
export { type OpenDeps, openDeps, openTokenCache } from './deps.ts';
export { createHandler, type Handler, type HandlerDeps } from './handler.ts';
export { type JwtKeyRing, openJwtKeys, settingsKek } from './jwt-keys.ts';
export * from './openapi/index.ts';
export { type Deps, loginPolicy, loginPorts } from './ports.ts';
export { Upstreams } from './upstream.ts';
