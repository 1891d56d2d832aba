// The ingress's entry (`npm start`, the images, `TESSERA_INGRESS_PROCESSES` siblings).
//
// argon2 runs on libuv's thread pool, whose size is read once, when the pool first starts, and
// Node's ES module loader starts it before any module of ours runs. This file is CommonJS, which
// loads without the pool: it sizes the pool first, then starts the ingress (dist/main.js).
'use strict';
const { availableParallelism } = require('node:os');

// Unset: one thread per core for argon2 (TESSERA_ARGON2_CONCURRENCY defaults to the cores), and
// one beside them for what else runs there (JWT signing and verification, files), so that never
// waits behind a 19 MiB hash.
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(availableParallelism() + 1);

import('../dist/main.js');
