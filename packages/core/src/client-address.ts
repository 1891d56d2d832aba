/**
 * The client address behind trusted proxies, and the rate limit's grouping of addresses. Runtime
 * free: each adapter hands over the peer address and a way to read a header; everything deciding
 * lives here.
 *
 * Addresses are held as 8 16-bit words, IPv4 as IPv4-mapped IPv6 (`::ffff:a.b.c.d`), so one
 * comparison serves IPv4, IPv6 and an IPv4 client seen on a dual-stack socket.
 */

/** The header a trusted proxy writes the client into. */
export type ProxyHeader = 'x-forwarded-for' | 'forwarded';

export const PROXY_HEADERS: readonly ProxyHeader[] = ['x-forwarded-for', 'forwarded'];

type Words = readonly number[];

/** An address range: its first address and prefix length, both in IPv6 terms. */
export interface Cidr {
  readonly words: Words;
  readonly bits: number;
}

const IPV4 = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Dotted-quad IPv4 (no leading zeros: `010.0.0.1` means 8.0.0.1 to some parsers) as two words. */
function ipv4Words(text: string): [number, number] | null {
  const m = IPV4.exec(text);
  if (m === null) return null;
  const b = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
  if (b.some((x) => x > 255)) return null;
  return [((b[0] as number) << 8) | (b[1] as number), ((b[2] as number) << 8) | (b[3] as number)];
}

/** Groups of one side of `::`; a dotted IPv4 tail only where `v4Tail` allows it. */
function hexGroups(text: string, v4Tail: boolean): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    if (HEX_GROUP.test(p)) out.push(Number.parseInt(p, 16));
    else if (v4Tail && i === parts.length - 1) {
      const v4 = ipv4Words(p);
      if (v4 === null) return null;
      out.push(...v4);
    } else return null;
  }
  return out;
}

function ipv6Words(text: string): number[] | null {
  // the longest text form: ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255
  if (text.length < 2 || text.length > 45) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  if (halves.length === 1) {
    const all = hexGroups(text, true);
    return all !== null && all.length === 8 ? all : null;
  }
  const head = hexGroups(halves[0] as string, false);
  const tail = hexGroups(halves[1] as string, true);
  if (head === null || tail === null || head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** An IPv4 or IPv6 address (no zone, no brackets, no port) as 8 words, or null. */
function addressWords(text: string): number[] | null {
  const v4 = ipv4Words(text);
  return v4 === null ? ipv6Words(text) : [0, 0, 0, 0, 0, 0xffff, ...v4];
}

const isMapped = (w: Words): boolean => w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff;

/** Text of an address: an IPv4(-mapped) one dotted, IPv6 as RFC 5952 (lower case, longest zero run as `::`). */
function formatWords(w: Words): string {
  if (isMapped(w)) {
    const hi = w[6] as number;
    const lo = w[7] as number;
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  let runAt = -1;
  let runLength = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > runLength) {
      runAt = i;
      runLength = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = (from: number, to: number) => w.slice(from, to).map((x) => x.toString(16));
  if (runAt < 0) return hex(0, 8).join(':');
  return `${hex(0, runAt).join(':')}::${hex(runAt + runLength, 8).join(':')}`;
}

/** The address in canonical text (IPv4-mapped IPv6 as IPv4, IPv6 as RFC 5952), or null if it is not one. */
export function canonicalAddress(text: string): string | null {
  const w = addressWords(text);
  return w === null ? null : formatWords(w);
}

/** `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or `x::/n` (host bits are ignored); null when invalid. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const v4 = ipv4Words(addr) !== null;
  const words = addressWords(addr);
  if (words === null) return null;
  let bits = 128;
  if (slash >= 0) {
    const n = text.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(n) || Number(n) > (v4 ? 32 : 128)) return null;
    bits = v4 ? 96 + Number(n) : Number(n);
  }
  return { words: words.map((x, i) => x & wordMask(bits, i)), bits };
}

/** The mask of word `i` under a prefix of `bits`. */
function wordMask(bits: number, i: number): number {
  const left = bits - 16 * i;
  return left >= 16 ? 0xffff : left <= 0 ? 0 : (0xffff << (16 - left)) & 0xffff;
}

function inCidr(w: Words, c: Cidr): boolean {
  for (let i = 0; i * 16 < c.bits; i++) if (((w[i] as number) & wordMask(c.bits, i)) !== c.words[i]) return false;
  return true;
}

/**
 * The rate limit's key for a client address: an IPv6 client by its /64 (one host is given a whole
 * /64, so per address it would have 2^64 buckets), an IPv4 one (or IPv4-mapped IPv6) by itself.
 * Text that is no address is its own key.
 */
export function rateGroup(address: string): string {
  const w = addressWords(address);
  if (w === null) return address;
  if (isMapped(w)) return formatWords(w);
  return `${formatWords([...w.slice(0, 4), 0, 0, 0, 0])}/64`;
}

const PORT = /^:(\d{1,5}|_[A-Za-z0-9._-]+)$/;

/**
 * The address a hop names: `a.b.c.d`, `a.b.c.d:port`, `[v6]`, `[v6]:port` or a bare IPv6 address
 * (X-Forwarded-For writers use them all). Null for anything else: RFC 7239's `unknown` and
 * obfuscated `_names`, or garbage.
 */
function hopWords(node: string): number[] | null {
  if (node.startsWith('[')) {
    const end = node.indexOf(']');
    if (end < 0) return null;
    const rest = node.slice(end + 1);
    return rest === '' || PORT.test(rest) ? ipv6Words(node.slice(1, end)) : null;
  }
  const direct = addressWords(node);
  if (direct !== null) return direct;
  const colon = node.lastIndexOf(':');
  if (colon < 0 || !PORT.test(node.slice(colon))) return null;
  const v4 = ipv4Words(node.slice(0, colon));
  return v4 === null ? null : [0, 0, 0, 0, 0, 0xffff, ...v4];
}

/** The hops of an X-Forwarded-For value, nearest (rightmost) first; empty list elements are skipped. */
function xForwardedForHops(value: string): string[] {
  const hops: string[] = [];
  const parts = value.split(',');
  for (let i = parts.length - 1; i >= 0; i--) {
    const hop = (parts[i] as string).trim();
    if (hop !== '') hops.push(hop);
  }
  return hops;
}

/**
 * The elements of a Forwarded value, nearest (rightmost) first, split at the commas outside quoted
 * strings. Split from the right, so that a broken element a client sent (an open quote) cannot
 * swallow the ones its proxies appended: it is given as null, and ends the list.
 */
function forwardedElements(value: string): (string | null)[] {
  const out: (string | null)[] = [];
  let end = value.length;
  let quoted = false;
  for (let i = value.length - 1; i >= 0; i--) {
    const c = value[i];
    if (c === '"') {
      if (!quoted) quoted = true;
      else {
        // inside a quoted string a quote is escaped by an odd number of backslashes
        let slashes = 0;
        while (value[i - 1 - slashes] === '\\') slashes++;
        if (slashes % 2 === 0) quoted = false;
      }
    } else if (c === ',' && !quoted) {
      out.push(value.slice(i + 1, end));
      end = i;
    }
  }
  out.push(quoted ? null : value.slice(0, end));
  return out;
}

const TCHAR = /^[!#$%&'*+.^_`|~0-9A-Za-z-]$/;
const isSpace = (c: string | undefined) => c === ' ' || c === '\t';

/**
 * The `for` parameter of one forwarded-element (RFC 7239 §4): its value, unquoted; '' when the
 * element is empty (skipped, as list syntax wants); null when it has no `for`, names it twice or
 * does not parse. Unquoted values may hold `:`, `[` and `]` too (a bare IPv6 address, as some
 * proxies write it).
 */
function forParameter(element: string): string | null {
  let found: string | null = null;
  let any = false;
  let i = 0;
  const n = element.length;
  for (;;) {
    while (isSpace(element[i]) || element[i] === ';') i++;
    if (i >= n) break;
    any = true;
    const nameAt = i;
    while (i < n && TCHAR.test(element[i] as string)) i++;
    if (i === nameAt || element[i] !== '=') return null;
    const name = element.slice(nameAt, i).toLowerCase();
    i++;
    let value = '';
    if (element[i] === '"') {
      for (i++; i < n && element[i] !== '"'; i++) {
        if (element[i] === '\\') i++;
        if (i >= n) return null;
        value += element[i];
      }
      if (i >= n) return null;
      i++;
    } else {
      const valueAt = i;
      while (i < n && (TCHAR.test(element[i] as string) || ':[]'.includes(element[i] as string))) i++;
      if (i === valueAt) return null;
      value = element.slice(valueAt, i);
    }
    if (name === 'for') {
      if (found !== null) return null;
      found = value;
    }
    while (isSpace(element[i])) i++;
    if (i < n && element[i] !== ';') return null;
  }
  return any ? found : '';
}

/**
 * The proxies whose word on the client address is taken (`TESSERA_TRUSTED_PROXIES`), and the one
 * header they write it into. Only when the peer is one of them is that header read; the client is
 * the rightmost address in it that is not itself a trusted proxy.
 */
export class TrustedProxies {
  readonly #ranges: readonly Cidr[];

  /** Throws TypeError for an entry that is not an address or CIDR (the settings refuse those first). */
  constructor(
    ranges: readonly string[],
    readonly header: ProxyHeader,
  ) {
    this.#ranges = ranges.map((text) => {
      const cidr = parseCidr(text);
      if (cidr === null) throw new TypeError(`not an IP address or CIDR: ${JSON.stringify(text)}`);
      return cidr;
    });
  }

  /** Whether the address (any text form, IPv4-mapped included) is one of the trusted proxies. */
  trusts(address: string): boolean {
    const w = addressWords(address);
    return w !== null && this.#trusts(w);
  }

  #trusts(w: Words): boolean {
    for (const c of this.#ranges) if (inCidr(w, c)) return true;
    return false;
  }

  /**
   * The client's address, in canonical text. `readHeader(name)` gives the header's value (every
   * field line of it, joined by commas) or null, and is called only when the peer is trusted.
   *
   * Walking the header from the right: a trusted address goes on to the next hop; the first
   * untrusted address is the client; a hop that names no address (`unknown`, an obfuscated name,
   * garbage) ends the walk at the peer, since what stands left of it was written by no one we
   * trust. When every hop is trusted, the leftmost is the client (a request from inside).
   */
  clientAddress(peer: string, readHeader: (name: ProxyHeader) => string | null): string {
    const peerWords = addressWords(peer);
    if (peerWords === null) return peer;
    const fallback = formatWords(peerWords);
    if (!this.#trusts(peerWords)) return fallback;
    const value = readHeader(this.header);
    if (value === null) return fallback;
    let client: Words = peerWords;
    if (this.header === 'x-forwarded-for') {
      for (const hop of xForwardedForHops(value)) {
        const w = hopWords(hop);
        if (w === null) return fallback;
        client = w;
        if (!this.#trusts(w)) break;
      }
    } else {
      for (const element of forwardedElements(value)) {
        const node = element === null ? null : forParameter(element);
        if (node === '') continue;
        const w = node === null ? null : hopWords(node);
        if (w === null) return fallback;
        client = w;
        if (!this.#trusts(w)) break;
      }
    }
    return formatWords(client);
  }
}

/** The trusted proxies of the settings, or null when there are none (the peer is the client, no header is read). */
export function trustedProxies(settings: { readonly trusted: readonly string[]; readonly header: ProxyHeader }): TrustedProxies | null {
  return settings.trusted.length === 0 ? null : new TrustedProxies(settings.trusted, settings.header);
}
