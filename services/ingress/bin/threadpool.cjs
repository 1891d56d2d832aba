// libuv's thread pool for Tessera's processes that run argon2: its size is read once, when the
// pool first starts, and Node's ES module loader starts it before any module runs. So this is
// CommonJS, and it is called from CommonJS entries first thing (bin/ingress.cjs, the bench's).
'use strict';
const { availableParallelism } = require('node:os');

/**
 * The pool when UV_THREADPOOL_SIZE is unset: one thread per core for argon2 (TESSERA_ARGON2_CONCURRENCY
 * defaults to the cores) and one beside them for what else runs there (JWT signing and
 * verification, files), so that never waits behind a 19 MiB hash.
 */
function threadpoolSize() {
  return availableParallelism() + 1;
}

/** Sets UV_THREADPOOL_SIZE to threadpoolSize() unless it is set: before anything starts the pool. */
function sizeThreadpool() {
  if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(threadpoolSize());
}

module.exports = { threadpoolSize, sizeThreadpool };
