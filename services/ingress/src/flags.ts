/**
 * Node flags every launcher of the ingress passes (`tessera up`, the benchmark, the Dockerfile's CMD;
 * a test keeps the Dockerfile equal to this list).
 *
 * `--max-semi-space-size=4`: V8's young generation grows to 3 x 16 MiB under load by default; the
 * ingress's garbage is short-lived (a request's objects), so 4 MiB semi-spaces keep the benchmark's
 * max RSS ~21 MB lower (146 -> 125 MB, 2 cores) with introspection and logins as fast (2 MiB: 120 MB,
 * but introspection ~6 % slower).
 */
export const INGRESS_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];
