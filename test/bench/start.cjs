// `npm run bench`: the benchmark's own process runs the raw argon2 ceiling, with as many threads
// as the ingress has (libuv's pool sized as the ingress's entry sizes it, before anything starts it).
'use strict';
require('../../services/ingress/bin/threadpool.cjs').sizeThreadpool();
import('./run.mjs');
