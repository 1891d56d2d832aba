// The ingress's entry (`npm start`, the images, `TESSERA_INGRESS_PROCESSES` siblings): libuv's
// pool sized from the cores first (threadpool.cjs says why from here), then the ingress.
'use strict';
require('./threadpool.cjs').sizeThreadpool();
import('../dist/main.js');
