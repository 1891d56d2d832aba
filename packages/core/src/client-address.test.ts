import { describe, expect, it } from 'vitest';
import { canonicalAddress, type ProxyHeader, parseCidr, rateGroup, TrustedProxies, trustedProxies } from './client-address.ts';

/** A header reader for one header; fails the test when the other header is asked for. */
const only =
  (header: ProxyHeader, value: string | null) =>
  (name: ProxyHeader): string | null => {
    if (name !== header) throw new Error(`read ${name}, expected ${header}`);
    return value;
  };

const never = (name: ProxyHeader): string | null => {
  throw new Error(`read ${name} of an untrusted peer`);
};

describe('addresses', () => {
  it('writes IPv6 as RFC 5952 and IPv4-mapped IPv6 as IPv4', () => {
    expect(canonicalAddress('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(canonicalAddress('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalAddress('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(canonicalAddress('0:0:0:0:0:0:0:0')).toBe('::');
    expect(canonicalAddress('fe80::')).toBe('fe80::');
    // uWebSockets.js on a dual-stack socket
    expect(canonicalAddress('0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe('127.0.0.1');
    expect(canonicalAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(canonicalAddress('0000:0000:0000:0000:0000:0000:0000:0001')).toBe('::1');
    expect(canonicalAddress('192.0.2.1')).toBe('192.0.2.1');
  });

  it('refuses what is not one address', () => {
    for (const bad of [
      '',
      'x',
      '1.2.3',
      '1.2.3.4.5',
      '256.0.0.1',
      '010.0.0.1',
      '1.2.3.4:80',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7::8',
      '12345::',
      '1.2.3.4::',
      'fe80::1%eth0',
      '[::1]',
      ':1::',
    ])
      expect(canonicalAddress(bad)).toBe(null);
  });

  it('parses CIDRs of both families, an address alone as its own range', () => {
    expect(parseCidr('10.0.0.0/8')).toStrictEqual({ words: [0, 0, 0, 0, 0, 0xffff, 0x0a00, 0], bits: 104 });
    expect(parseCidr('10.1.2.3/8')).toStrictEqual({ words: [0, 0, 0, 0, 0, 0xffff, 0x0a00, 0], bits: 104 });
    expect(parseCidr('192.0.2.1')).toStrictEqual({ words: [0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201], bits: 128 });
    expect(parseCidr('2001:db8:abcd::/36')).toStrictEqual({ words: [0x2001, 0xdb8, 0xa000, 0, 0, 0, 0, 0], bits: 36 });
    expect(parseCidr('::/0')).toStrictEqual({ words: [0, 0, 0, 0, 0, 0, 0, 0], bits: 0 });
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/', '/8', '10.0.0.0/08', '10.0.0.0/8/8', 'localhost', '10.0.0.0/-1'])
      expect(parseCidr(bad)).toBe(null);
  });

  it('groups IPv6 by /64 for the rate limit, IPv4 by address', () => {
    expect(rateGroup('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(rateGroup('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(rateGroup('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(rateGroup('::1')).toBe('::/64');
    expect(rateGroup('192.0.2.1')).toBe('192.0.2.1');
    expect(rateGroup('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(rateGroup('0000:0000:0000:0000:0000:ffff:c000:0201')).toBe('192.0.2.1');
    expect(rateGroup('')).toBe('');
  });
});

describe('TrustedProxies', () => {
  const xff = new TrustedProxies(['10.0.0.0/8', '2001:db8:ffff::/48', '127.0.0.1'], 'x-forwarded-for');
  const fwd = new TrustedProxies(['10.0.0.0/8', '2001:db8:ffff::/48', '127.0.0.1'], 'forwarded');

  it('is none without ranges', () => {
    expect(trustedProxies({ trusted: [], header: 'x-forwarded-for' })).toBe(null);
    expect(trustedProxies({ trusted: ['::1'], header: 'forwarded' })?.header).toBe('forwarded');
  });

  it('refuses an entry that is not an address or CIDR', () => {
    expect(() => new TrustedProxies(['10.0.0.0/8', '10.0.0.0/40'], 'forwarded')).toThrow('not an IP address or CIDR: "10.0.0.0/40"');
  });

  it('trusts addresses in its ranges, in any text form', () => {
    expect(xff.trusts('10.255.0.1')).toBe(true);
    expect(xff.trusts('::ffff:10.0.0.1')).toBe(true);
    expect(xff.trusts('0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe(true);
    expect(xff.trusts('2001:db8:ffff:1::1')).toBe(true);
    expect(xff.trusts('2001:db8:fffe::1')).toBe(false);
    expect(xff.trusts('11.0.0.1')).toBe(false);
    expect(xff.trusts('127.0.0.2')).toBe(false);
    expect(xff.trusts('')).toBe(false);
    expect(new TrustedProxies(['::/0'], 'forwarded').trusts('192.0.2.1')).toBe(true);
    expect(new TrustedProxies(['0.0.0.0/0'], 'forwarded').trusts('2001:db8::1')).toBe(false);
  });

  it('never reads a header of an untrusted peer, and gives the peer', () => {
    expect(xff.clientAddress('192.0.2.1', never)).toBe('192.0.2.1');
    expect(fwd.clientAddress('2001:0db8::1', never)).toBe('2001:db8::1');
    expect(xff.clientAddress('', never)).toBe('');
  });

  it('gives the peer when the header is missing or empty', () => {
    expect(xff.clientAddress('10.0.0.1', only('x-forwarded-for', null))).toBe('10.0.0.1');
    expect(xff.clientAddress('10.0.0.1', only('x-forwarded-for', ''))).toBe('10.0.0.1');
    expect(fwd.clientAddress('10.0.0.1', only('forwarded', ' , '))).toBe('10.0.0.1');
  });

  describe('X-Forwarded-For', () => {
    const client = (value: string, peer = '10.0.0.1') => xff.clientAddress(peer, only('x-forwarded-for', value));

    it('takes the rightmost address that is not a trusted proxy', () => {
      expect(client('203.0.113.7')).toBe('203.0.113.7');
      // what the client wrote itself stands left of it
      expect(client('6.6.6.6, 203.0.113.7')).toBe('203.0.113.7');
      expect(client('6.6.6.6,203.0.113.7, 10.0.0.2,10.9.9.9')).toBe('203.0.113.7');
      expect(client('garbage, "x, 203.0.113.7')).toBe('203.0.113.7');
      expect(client('203.0.113.7, 2001:db8:ffff::5')).toBe('203.0.113.7');
      expect(client('203.0.113.7,, ')).toBe('203.0.113.7');
    });

    it('reads ports, brackets and IPv6, and writes the address canonically', () => {
      expect(client('203.0.113.7:4711')).toBe('203.0.113.7');
      expect(client('[2001:DB8::1]:4711')).toBe('2001:db8::1');
      expect(client('[2001:db8::1]')).toBe('2001:db8::1');
      expect(client('2001:db8:0:0::1')).toBe('2001:db8::1');
      expect(client('::ffff:203.0.113.7')).toBe('203.0.113.7');
      expect(client('203.0.113.7', '0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe('203.0.113.7');
    });

    it('gives the peer when the nearest untrusted hop is not an address', () => {
      expect(client('203.0.113.7, unknown')).toBe('10.0.0.1');
      expect(client('203.0.113.7, _hidden')).toBe('10.0.0.1');
      expect(client('203.0.113.7, 10.0.0.2, 999.0.0.1')).toBe('10.0.0.1');
      expect(client('203.0.113.7, [2001:db8::1')).toBe('10.0.0.1');
      expect(client('203.0.113.7:port')).toBe('10.0.0.1');
      expect(client('fe80::1%eth0')).toBe('10.0.0.1');
    });

    it('gives the leftmost hop when every hop is trusted', () => {
      expect(client('10.0.0.3, 10.0.0.2')).toBe('10.0.0.3');
      expect(client('0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe('127.0.0.1');
    });
  });

  describe('Forwarded (RFC 7239)', () => {
    const client = (value: string, peer = '10.0.0.1') => fwd.clientAddress(peer, only('forwarded', value));

    it('reads the examples of RFC 7239 §4 and §7', () => {
      expect(client('for="_gazonk"')).toBe('10.0.0.1');
      expect(client('For="[2001:db8:cafe::17]:4711"')).toBe('2001:db8:cafe::17');
      expect(client('for=192.0.2.60;proto=http;by=203.0.113.43')).toBe('192.0.2.60');
      expect(client('for=192.0.2.43, for=198.51.100.17')).toBe('198.51.100.17');
      expect(client('for=192.0.2.43, for="[2001:db8:cafe::17]"')).toBe('2001:db8:cafe::17');
      expect(client('for=unknown')).toBe('10.0.0.1');
      expect(client('for="unknown:4711"')).toBe('10.0.0.1');
      expect(client('for=192.0.2.43,for="[2001:db8:cafe::17]", for=unknown')).toBe('10.0.0.1');
    });

    it('takes the rightmost address that is not a trusted proxy', () => {
      expect(client('for=6.6.6.6, for=203.0.113.7;proto=https, for=10.0.0.2;by=10.0.0.1')).toBe('203.0.113.7');
      expect(client('for="192.0.2.1:4711"')).toBe('192.0.2.1');
      expect(client('proto=https;for=203.0.113.7;host=example.org')).toBe('203.0.113.7');
      expect(client('for=203.0.113.7 ; proto=https')).toBe('203.0.113.7');
      expect(client('for=2001:db8::7')).toBe('2001:db8::7');
      expect(client('for="[::ffff:203.0.113.7]"')).toBe('203.0.113.7');
      expect(client('for=203.0.113.7, , for=10.0.0.2')).toBe('203.0.113.7');
      expect(client('for=10.0.0.3, for=10.0.0.2')).toBe('10.0.0.3');
    });

    it("splits from the right, so a broken element a client sent cannot swallow its proxy's", () => {
      expect(client('for="6.6.6.6, for=203.0.113.7')).toBe('203.0.113.7');
      expect(client('for="\\", for=203.0.113.7')).toBe('203.0.113.7');
      expect(client('for=", for="[2001:db8::7]:1"')).toBe('2001:db8::7');
      expect(client('host="a,b\\"c", for=203.0.113.7')).toBe('203.0.113.7');
      expect(client('for="6.6.6.6, for=10.0.0.2')).toBe('10.0.0.1');
    });

    it('gives the peer when the nearest untrusted element names no address or does not parse', () => {
      expect(client('for=203.0.113.7, proto=https')).toBe('10.0.0.1');
      expect(client('for=203.0.113.7, for=192.0.2.1;for=192.0.2.2')).toBe('10.0.0.1');
      expect(client('for=203.0.113.7, for')).toBe('10.0.0.1');
      expect(client('for=203.0.113.7, for=')).toBe('10.0.0.1');
      expect(client('for=203.0.113.7, for="192.0.2.1')).toBe('10.0.0.1');
      expect(client('for=203.0.113.7, for=192.0.2.1 x')).toBe('10.0.0.1');
      expect(client('for=203.0.113.7, for=_hidden')).toBe('10.0.0.1');
      expect(client('for=203.0.113.7, for="[2001:db8::1"')).toBe('10.0.0.1');
      expect(client('for=203.0.113.7, for="\\"192.0.2.1"')).toBe('10.0.0.1');
    });

    it('reads an escaped character in a quoted value as itself', () => {
      expect(client('for="\\192.0.2.1"')).toBe('192.0.2.1');
    });
  });
});
