// What a non-Node runtime adapter needs, without loading node:http.

export { createLogger, type Logger } from '@tessera/config/log';
export { type OpenDeps, openDeps } from './deps.ts';
export { framingRefusal, MAX_HEADER_BYTES } from './framing.ts';
export { createHandler, type Handler, type HandlerDeps, INTERNAL_ERROR, NOT_FOUND } from './handler.ts';
export { readLimited } from './read-limited.ts';
