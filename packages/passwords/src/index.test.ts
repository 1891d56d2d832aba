import { describe, expect, it } from 'vitest';
import { OWASP_ARGON2ID, PasswordHasher } from './index.ts';

const B64 = '[A-Za-z0-9+/]';
/** argon2id PHC string: version 19, the given cost, 16-byte salt, 32-byte hash (unpadded base64). */
function phc(m: number, t: number, p: number): RegExp {
  return new RegExp(`^\\$argon2id\\$v=19\\$m=${m},t=${t},p=${p}\\$${B64}{22}\\$${B64}{43}$`);
}

const CHEAP = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

describe('PasswordHasher defaults', () => {
  it('uses OWASP argon2id parameters: m=19456 KiB, t=2, p=1', () => {
    expect(OWASP_ARGON2ID).toStrictEqual({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    expect(Object.isFrozen(OWASP_ARGON2ID)).toBe(true);
    expect(new PasswordHasher().params).toStrictEqual({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
  });

  it('hashes to an argon2id PHC string with m=19456,t=2,p=1, salted afresh each time', async () => {
    const h = new PasswordHasher();
    const a = await h.hash('Moh@-90008');
    const b = await h.hash('Moh@-90008');
    expect(a).toMatch(phc(19_456, 2, 1));
    expect(b).toMatch(phc(19_456, 2, 1));
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
    expect(a.includes('Moh@-90008')).toBe(false);
  });

  it('writes configured parameters into the PHC string', async () => {
    expect(await new PasswordHasher(CHEAP).hash('x')).toMatch(phc(1024, 1, 1));
    expect(await new PasswordHasher({ memoryCost: 2048, timeCost: 3, parallelism: 2 }).hash('x')).toMatch(phc(2048, 3, 2));
  });
});

describe('PasswordHasher.verify', () => {
  const h = new PasswordHasher(CHEAP);

  it('is true for the right password, false for any other', async () => {
    const stored = await h.hash('userpassword123');
    expect(await h.verify(stored, 'userpassword123')).toBe(true);
    expect(await h.verify(stored, 'userpassword124')).toBe(false);
    expect(await h.verify(stored, 'userpassword123 ')).toBe(false);
    expect(await h.verify(stored, 'USERPASSWORD123')).toBe(false);
    expect(await h.verify(stored, '')).toBe(false);
  });

  it('handles non-ASCII passwords byte-exactly', async () => {
    const stored = await h.hash('pässwörd-密码-🔑');
    expect(await h.verify(stored, 'pässwörd-密码-🔑')).toBe(true);
    expect(await h.verify(stored, 'passwörd-密码-🔑')).toBe(false);
  });

  it('reads the cost from the hash, so a hash made with other parameters still verifies', async () => {
    const other = await new PasswordHasher({ memoryCost: 2048, timeCost: 2, parallelism: 1 }).hash('s3cret');
    expect(await h.verify(other, 's3cret')).toBe(true);
    expect(await h.verify(other, 's3cre')).toBe(false);
  });

  it('is false for a null hash (unknown user), whatever the password', async () => {
    expect(await h.verify(null, 'anything')).toBe(false);
    expect(await h.verify(null, '')).toBe(false);
    expect(await h.verify(null, 'tessera-dummy-')).toBe(false);
  });

  it('is false, never a throw, for a malformed hash', async () => {
    for (const bad of ['', 'not-a-hash', '$argon2id$v=19$m=1024,t=1,p=1$short$short', '$2b$12$abcdefghijklmnopqrstuv']) {
      await expect(h.verify(bad, 'x')).resolves.toBe(false);
    }
  });
});

describe('dummy hash', () => {
  it('is made once per hasher, with the configured parameters', async () => {
    const h = new PasswordHasher(CHEAP);
    const a = await h.dummyHash();
    expect(a).toMatch(phc(1024, 1, 1));
    expect(await h.dummyHash()).toBe(a);
    const d = await new PasswordHasher().dummyHash();
    expect(d).toMatch(phc(19_456, 2, 1));
  });

  it('a null-hash verify costs about as much as a real one (>= 30% of it, median of several runs)', async () => {
    const h = new PasswordHasher();
    const stored = await h.hash('Some3xtraLong4nd5afe9assword');
    await h.dummyHash();
    // Warm both paths once.
    await h.verify(stored, 'wrong');
    await h.verify(null, 'wrong');
    const real: number[] = [];
    const dummy: number[] = [];
    for (let i = 0; i < 7; i++) {
      let t = performance.now();
      expect(await h.verify(stored, 'wrong-password')).toBe(false);
      real.push(performance.now() - t);
      t = performance.now();
      expect(await h.verify(null, 'wrong-password')).toBe(false);
      dummy.push(performance.now() - t);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    expect(median(dummy)).toBeGreaterThanOrEqual(0.3 * median(real));
    // And a real verify is real work (argon2id at 19 MiB is not free).
    expect(median(real)).toBeGreaterThan(1);
  });
});
