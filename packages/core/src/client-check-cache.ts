/**
 * What /oauth/introspect and /oauth/revoke learnt of a client credential moments ago, so that a
 * service calling with the same credential again costs no Redis round trip (and a remembered
 * token is answered without a promise). Runtime-free: the clock is passed in.
 *
 * Accepted and refused credentials are kept apart, each bounded (the oldest go first): only a
 * credential that verified can take room among the accepted, so a caller sending made-up secrets
 * cannot push the services' own credentials out (as one store cleared when full could be made to).
 * A refusal is remembered only for a credential of ordinary length, so the refusals held take a
 * bounded amount of memory whatever callers send.
 */
export interface ClientCheckLimits {
  /** How long a verdict is remembered, ms (a removed client or secret is refused within it). */
  readonly ttlMs: number;
  /** Most accepted credentials remembered (a deployment has a handful of clients). */
  readonly maxAccepted: number;
  /** Most refused credentials remembered. */
  readonly maxRefused: number;
  /** Longest credential (id and secret, characters) whose refusal is remembered. */
  readonly maxRefusedLength: number;
}

export const CLIENT_CHECK_LIMITS: ClientCheckLimits = { ttlMs: 5000, maxAccepted: 1000, maxRefused: 1000, maxRefusedLength: 256 };

export class ClientCheckCache {
  private readonly accepted = new Map<string, number>();
  private readonly refused = new Map<string, number>();

  constructor(
    /** Whether `secret` is the secret of client `id` (asks the store). */
    private readonly verify: (id: string, secret: string) => Promise<boolean>,
    private readonly now: () => number,
    readonly limits: ClientCheckLimits = CLIENT_CHECK_LIMITS,
  ) {}

  /** What was said of this credential moments ago, if it is still remembered. */
  known(id: string, secret: string): boolean | undefined {
    const key = `${id}\u0000${secret}`;
    if (this.fresh(this.accepted, key)) return true;
    if (this.fresh(this.refused, key)) return false;
    return undefined;
  }

  /** Whether `secret` is the secret of client `id`: remembered, or asked and remembered. */
  async check(id: string, secret: string): Promise<boolean> {
    const known = this.known(id, secret);
    if (known !== undefined) return known;
    const ok = await this.verify(id, secret);
    const key = `${id}\u0000${secret}`;
    const { ttlMs, maxAccepted, maxRefused, maxRefusedLength } = this.limits;
    if (ok) remember(this.accepted, maxAccepted, key, this.now() + ttlMs);
    else if (id.length + secret.length <= maxRefusedLength) remember(this.refused, maxRefused, key, this.now() + ttlMs);
    return ok;
  }

  /** Credentials remembered now, accepted and refused. */
  get size(): { readonly accepted: number; readonly refused: number } {
    return { accepted: this.accepted.size, refused: this.refused.size };
  }

  private fresh(map: Map<string, number>, key: string): boolean {
    const until = map.get(key);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    map.delete(key);
    return false;
  }
}

/** Remembers `key` until `until`; past `max` entries the oldest goes (a Map keeps insertion order). */
function remember(map: Map<string, number>, max: number, key: string, until: number): void {
  map.delete(key);
  if (map.size >= max) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  map.set(key, until);
}
