/**
 * Node flags every launcher of the ingress passes (`tessera up`, the benchmark, the Dockerfile's CMD;
 * a test keeps the Dockerfile equal to this list). Chosen with `npm run bench` on 2 cores, for the
 * issue's two memory-and-latency targets at once (RSS <= 150 MB, introspection p99 <= 2 ms at half
 * its max rate):
 *
 * `--max-semi-space-size=8`: V8's young generation grows to 3 x 16 MiB under load by default; a
 * request's objects are short-lived, so 8 MiB semi-spaces hold them as well. 4 MiB gave ~10 MB less
 * RSS but more frequent scavenges, which pushed the half-rate p99 to 2.3-2.5 ms; 16 MiB gave 1.8 ms
 * and an RSS of 149 MB during logins.
 *
 * `--max-old-space-size=128`: under a stream of Redis lookups (distinct tokens, revocations) V8
 * let the old generation grow to ~120 MiB of mostly garbage before collecting it (RSS 210 MB);
 * capped, max RSS is 136 MB at some 10-20 % more CPU on those requests. The live heap is small: the
 * token memory (~0.7 KB per entry, at most 100 000) and the requests in flight.
 */
export const INGRESS_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--max-old-space-size=128'];
