// libuv's thread pool for Tessera's processes that run argon2: its size is read once, when the
// pool first starts, and Node's ES module loader starts it before any module runs. So this is
// CommonJS, and it is called from the ingress's CommonJS entry first thing (bin/ingress.cjs).
'use strict';
const { availableParallelism } = require('node:os');

/**
 * The pool when UV_THREADPOOL_SIZE is unset, as the settings work it out (packages/config,
 * spec.ts verifyThreads): a thread for each argon2 verification this process runs at once (its
 * share of the cores among TESSERA_INGRESS_PROCESSES) and one beside them. The settings are an ES
 * module: require() loads it synchronously, without starting the pool. Bad settings: undefined
 * (the ingress then says which and stops).
 */
function threadpoolSize(env = process.env) {
  const { loadSettings } = require('@tessera/config');
  try {
    return loadSettings(env, { cpus: availableParallelism() }).verifyPool.threads;
  } catch (err) {
    if (err?.code === 'ERR_CONFIG') return undefined;
    throw err;
  }
}

/** Sets UV_THREADPOOL_SIZE to threadpoolSize() unless it is set: before anything starts the pool. */
function sizeThreadpool() {
  if (process.env.UV_THREADPOOL_SIZE) return;
  const size = threadpoolSize();
  if (size !== undefined) process.env.UV_THREADPOOL_SIZE = String(size);
}

module.exports = { threadpoolSize, sizeThreadpool };
