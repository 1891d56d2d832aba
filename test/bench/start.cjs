// `npm run bench`: the raw argon2 ceiling runs in the benchmark's own process with as many
// verifications at once as the machine has cores (issue 14: logins against raw argon2id verify on
// every core), so this process's libuv pool holds a thread per core and one beside them, sized
// before anything starts it. The ingress sizes its own (services/ingress/bin/threadpool.cjs):
// UV_THREADPOOL_SIZE reaches it only when it was set before the bench started.
'use strict';
const { availableParallelism } = require('node:os');
if (!process.env.UV_THREADPOOL_SIZE) {
  process.env.UV_THREADPOOL_SIZE = String(availableParallelism() + 1);
  // run.mjs then leaves it out of the ingress's environment
  globalThis.benchSizedThreadpool = true;
}
import('./run.mjs');
