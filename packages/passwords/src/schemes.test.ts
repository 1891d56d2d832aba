import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PasswordHasher, passwordScheme } from './index.ts';
import { COST_LIMITS, parseHash } from './schemes.ts';

/** Hashes made by the reference implementations (make-legacy-hashes.sh says how and with what). */
interface Fixture {
  readonly scheme: string;
  readonly tool: string;
  readonly password: string | null;
  readonly hash: string;
}
const FIXTURES = JSON.parse(readFileSync(new URL('../test/fixtures/legacy-hashes.json', import.meta.url), 'utf8')) as {
  hashes: Fixture[];
};

const utf8Length = (s: string) => new TextEncoder().encode(s).length;
/** bcrypt reads 72 bytes: a wrong password must differ inside them (the reference's own check does the same). */
const wrong = (p: string) => (utf8Length(p) > 72 ? `x${p}` : `${p}x`);
const CHEAP = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

const SCHEMES = [
  'argon2id',
  'argon2i',
  'bcrypt',
  'pbkdf2-sha256',
  'pbkdf2-sha512',
  'django-pbkdf2_sha256',
  'django-pbkdf2_sha1',
  'django-argon2',
  'django-bcrypt_sha256',
  'django-bcrypt',
  'django-sha1',
  'django-md5',
  'django-unsalted_sha1',
  'django-unsalted_md5',
  'unusable',
];

describe('legacy hashes made by their reference implementations', () => {
  const hasher = new PasswordHasher(CHEAP);

  it('cover every scheme the issue names, and every bcrypt and Django variant', () => {
    expect([...new Set(FIXTURES.hashes.map((f) => f.scheme))].sort()).toStrictEqual([...SCHEMES].sort());
    const hashes = FIXTURES.hashes.map((f) => f.hash);
    for (const prefix of [
      '$2a$',
      '$2b$',
      '$2y$',
      'argon2$argon2id$',
      'argon2$argon2i$',
      'md5$$',
      'sha1$$',
      'bcrypt_sha256$$2b$',
      'bcrypt$$2b$',
    ]) {
      expect(hashes.some((h) => h.startsWith(prefix))).toBe(true);
    }
    expect(hashes.some((h) => /^[0-9a-f]{32}$/.test(h))).toBe(true);
  });

  for (const f of FIXTURES.hashes) {
    const label = `${f.scheme}: ${f.tool} (${f.hash.slice(0, 24)}…)`;
    it(label, async () => {
      const p = parseHash(f.hash);
      expect(p).toMatchObject({ ok: true, hash: { scheme: f.scheme } });
      expect(passwordScheme(f.hash)).toBe(f.scheme);
      if (f.password === null) {
        expect(await hasher.verify(f.hash, '')).toBe(false);
        expect(await hasher.verify(f.hash, f.hash)).toBe(false);
        expect(hasher.needsRehash(f.hash)).toBe(false);
        return;
      }
      expect(await hasher.verify(f.hash, f.password)).toBe(true);
      expect(await hasher.verify(f.hash, wrong(f.password))).toBe(false);
      expect(await hasher.verify(f.hash, '')).toBe(false);
      expect(hasher.needsRehash(f.hash)).toBe(f.scheme !== 'argon2id');
    });
  }

  it('plain bcrypt reads the first 72 bytes, as python bcrypt and PHP do; Django bcrypt_sha256 reads them all', async () => {
    const long = FIXTURES.hashes.filter((f) => f.password !== null && utf8Length(f.password) > 72);
    expect(long.map((f) => f.scheme).sort()).toStrictEqual(['bcrypt', 'bcrypt', 'bcrypt', 'django-bcrypt', 'django-bcrypt_sha256']);
    for (const f of long) {
      const cut = `${(f.password as string).slice(0, 72)}anything after byte 72`;
      expect(await hasher.verify(f.hash, cut)).toBe(f.scheme !== 'django-bcrypt_sha256');
    }
  });
});

describe('parseHash refuses what it cannot verify, with the reason', () => {
  const reasons: [string, RegExp][] = [
    ['', /^unknown password hash format$/],
    ['plaintext-password', /^unknown password hash format$/],
    ['scrypt$16384$8$1$salt$hash', /^unknown password hash format "scrypt\$"$/],
    ['$5$rounds=5000$salt$hash', /^unknown password hash format "\$5\$"$/],
    ['$argon2d$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', /^unknown password hash format "\$argon2d\$"$/],
    ['pbkdf2_sha256$0$salt$kaT5rmGJV2sRyQ4ak3xWrdNhqRagb9BI+D7BxSmncH0=', /iteration count "0"/],
    ['pbkdf2_sha256$10000001$salt$kaT5rmGJV2sRyQ4ak3xWrdNhqRagb9BI+D7BxSmncH0=', /over the limit of 10000000/],
    ['pbkdf2_sha256$1000$salt$c2hvcnQ=', /not 32 bytes of base64/],
    ['pbkdf2_sha256$1000$$kaT5rmGJV2sRyQ4ak3xWrdNhqRagb9BI+D7BxSmncH0=', /empty salt/],
    ['pbkdf2_sha256$1000$salt', /expected <algorithm>\$<iterations>\$<salt>\$<hash>/],
    ['$pbkdf2-sha256$1000$$abc', /salt is not adapted base64/],
    [`$2b$17$${'a'.repeat(53)}`, /bcrypt cost 17 is not 4-16/],
    ['$2b$10$tooshort', /not a bcrypt string/],
    [`bcrypt$$2b$03$${'a'.repeat(53)}`, /bcrypt cost 3/],
    ['$argon2id$v=19$m=524288,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', /memory 524288 KiB is over 262144/],
    ['$argon2id$v=19$m=1024,t=33,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', /time cost 33/],
    ['$argon2id$v=18$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', /version 18/],
    ['$argon2id$v=19$m=19456,t=2,p=1$AAAA$aGFzaGhhc2hoYXNo', /argon2 salt of 3 bytes is under 8/],
    ['$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$AA', /argon2 hash of 1 bytes is under 4/],
    ['sha1$salt$abc', /not 40 hex digits/],
    ['md5$salt$zz', /not 32 hex digits/],
    ['md5$a$b$c', /expected md5\$<salt>\$<hex>/],
  ];
  for (const [stored, reason] of reasons) {
    it(JSON.stringify(stored), async () => {
      const p = parseHash(stored);
      expect(p.ok).toBe(false);
      expect(p.ok ? '' : p.reason).toMatch(reason);
      // and a login against it is a plain "no", at the dummy's cost
      expect(await new PasswordHasher(CHEAP).verify(stored, 'x')).toBe(false);
    });
  }

  it('states its limits', () => {
    expect(COST_LIMITS).toStrictEqual({
      pbkdf2Iterations: 10_000_000,
      bcryptCost: 16,
      argon2MemoryKiB: 262_144,
      argon2TimeCost: 32,
      argon2Parallelism: 16,
    });
  });
});

describe('timing', () => {
  /** Counts the verifications against the dummy hash (the work unknown users cost). */
  class CountingHasher extends PasswordHasher {
    dummyVerifies = 0;
    protected override dummyHashed() {
      return super.dummyHashed().then((d) => ({
        text: d.text,
        parsed: {
          ...d.parsed,
          verify: (p: string) => {
            this.dummyVerifies++;
            return d.parsed.verify(p);
          },
        },
      }));
    }
  }

  // real PBKDF2, bcrypt and argon2 work of every fixture, twice: minutes' worth on a loaded machine
  it("every hash that will be replaced also does the dummy's argon2 work, so none costs less than a current argon2id user", {
    timeout: 120_000,
  }, async () => {
    const seen = await Promise.all(
      FIXTURES.hashes
        .filter((x) => x.password !== null)
        .map(async (f) => {
          const h = new CountingHasher(CHEAP);
          const answers = [await h.verify(f.hash, wrong(f.password as string)), await h.verify(f.hash, f.password as string)];
          return [f.scheme, answers, h.dummyVerifies];
        }),
    );
    // all but argon2id at or above the settings (PHP's and passlib's m=65536 against 1024 here)
    expect(seen).toStrictEqual(
      FIXTURES.hashes.filter((x) => x.password !== null).map((f) => [f.scheme, [false, true], f.scheme === 'argon2id' ? 0 : 2]),
    );
    // argon2id at the current settings: its own work only
    const current = new CountingHasher(CHEAP);
    expect(await current.verify(await current.hash('pw'), 'pw')).toBe(true);
    expect(current.dummyVerifies).toBe(0);
    const h = new CountingHasher(CHEAP);
    await h.verify(null, 'x');
    await h.verify('!unusable', 'x');
    await h.verify('not a hash', 'x');
    expect(h.dummyVerifies).toBe(3);
  });
});

describe('rehash policy', () => {
  it('argon2id at the current cost or above stays; below it, or of version 16, is rehashed', async () => {
    const current = new PasswordHasher({ memoryCost: 2048, timeCost: 2, parallelism: 1 });
    expect(current.needsRehash(await current.hash('x'))).toBe(false);
    expect(current.needsRehash(await new PasswordHasher({ memoryCost: 4096, timeCost: 3, parallelism: 1 }).hash('x'))).toBe(false);
    expect(current.needsRehash(await new PasswordHasher({ memoryCost: 2048, timeCost: 2, parallelism: 2 }).hash('x'))).toBe(false);
    expect(current.needsRehash(await new PasswordHasher({ memoryCost: 1024, timeCost: 2, parallelism: 1 }).hash('x'))).toBe(true);
    expect(current.needsRehash(await new PasswordHasher({ memoryCost: 8192, timeCost: 1, parallelism: 1 }).hash('x'))).toBe(true);
    const v16 = (await current.hash('x')).replace('$v=19$', '$v=16$');
    expect(current.needsRehash(v16)).toBe(true);
    expect(current.needsRehash('not a hash')).toBe(false);
  });
});
