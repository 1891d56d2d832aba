/**
 * Node flags every launcher of the ingress passes (`tessera up`, the benchmark, the Dockerfile's CMD;
 * a test keeps the Dockerfile equal to this list).
 *
 * `--max-semi-space-size=4`: V8's young generation grows to 3 x 16 MiB under load by default; the
 * ingress's garbage is short-lived (a request's objects), so 4 MiB semi-spaces keep the benchmark's
 * max RSS ~21 MB lower (146 -> 125 MB, 2 cores) with introspection and logins as fast (2 MiB: 120 MB,
 * but introspection ~6 % slower).
 *
 * `--max-old-space-size=128`: under a stream of Redis lookups (distinct tokens, revocations) V8
 * let the old generation grow to ~120 MiB of mostly garbage before collecting it (RSS 210 MB);
 * capped, the heap stays under ~60 MiB (RSS 123 MB) at some 20 % more CPU on those requests. The
 * live heap is small: the token memory (~0.7 KB per entry, 20 000 by default) and requests in
 * flight. Raise it with TESSERA_TOKEN_CACHE_ENTRIES.
 */
export const INGRESS_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--max-old-space-size=128'];
