import { describe, expect, it } from 'vitest';
import { looksLikeEmail, MAX_IDENTIFIER_CHARS, normaliseEmail, readTextField, type TextFieldRules } from './fields.ts';

const STRICT: TextFieldRules = { trim: false, acceptNumbers: false, whitespaceIsBlank: true };
const DRF: TextFieldRules = { trim: true, acceptNumbers: true, whitespaceIsBlank: true };
const KEEP_SPACE: TextFieldRules = { trim: false, acceptNumbers: false, whitespaceIsBlank: false };

describe('readTextField', () => {
  it('reports an absent field as absent, including inherited names', () => {
    expect(readTextField({}, 'username', STRICT)).toStrictEqual({ ok: 'absent' });
    expect(readTextField({ password: 'x' }, 'username', DRF)).toStrictEqual({ ok: 'absent' });
    expect(readTextField({}, 'toString', STRICT)).toStrictEqual({ ok: 'absent' });
    expect(readTextField({}, 'constructor', DRF)).toStrictEqual({ ok: 'absent' });
  });

  it('reads a string as is', () => {
    expect(readTextField({ username: 'MOH-90008' }, 'username', STRICT)).toStrictEqual({ ok: true, value: 'MOH-90008' });
  });

  it('reads a lone surrogate as U+FFFD (as UTF-8 has it), and keeps surrogate pairs', () => {
    for (const rules of [STRICT, DRF]) {
      expect(readTextField({ u: '\ud800' }, 'u', rules)).toStrictEqual({ ok: true, value: '\ufffd' });
      expect(readTextField({ u: 'a\udfffb\ud83d' }, 'u', rules)).toStrictEqual({ ok: true, value: 'a\ufffdb\ufffd' });
      expect(readTextField({ u: 'x\ud83d\ude00' }, 'u', rules)).toStrictEqual({ ok: true, value: 'x\ud83d\ude00' });
    }
  });

  it('reports JSON null as null, whatever the rules', () => {
    for (const rules of [STRICT, DRF, KEEP_SPACE]) {
      expect(readTextField({ username: null }, 'username', rules)).toStrictEqual({
        ok: false,
        problem: { field: 'username', reason: 'null' },
      });
    }
  });

  it('turns finite numbers into strings only when numbers are accepted', () => {
    expect(readTextField({ u: 12345 }, 'u', DRF)).toStrictEqual({ ok: true, value: '12345' });
    expect(readTextField({ u: -1.5 }, 'u', DRF)).toStrictEqual({ ok: true, value: '-1.5' });
    expect(readTextField({ u: 0 }, 'u', DRF)).toStrictEqual({ ok: true, value: '0' });
    expect(readTextField({ u: 12345 }, 'u', STRICT)).toStrictEqual({ ok: false, problem: { field: 'u', reason: 'invalid_type' } });
    expect(readTextField({ u: Number.NaN }, 'u', DRF)).toStrictEqual({ ok: false, problem: { field: 'u', reason: 'invalid_type' } });
    expect(readTextField({ u: Number.POSITIVE_INFINITY }, 'u', DRF)).toStrictEqual({
      ok: false,
      problem: { field: 'u', reason: 'invalid_type' },
    });
  });

  it('refuses booleans, objects, arrays and uploaded files even when numbers are accepted', () => {
    const values: unknown[] = [true, false, {}, { a: 1 }, [], ['a'], { kind: 'file', filename: 'a.txt', size: 1 }];
    for (const v of values) {
      expect(readTextField({ u: v }, 'u', DRF)).toStrictEqual({ ok: false, problem: { field: 'u', reason: 'invalid_type' } });
      expect(readTextField({ u: v }, 'u', STRICT)).toStrictEqual({ ok: false, problem: { field: 'u', reason: 'invalid_type' } });
    }
  });

  it('reports the empty string as blank under every rule set', () => {
    for (const rules of [STRICT, DRF, KEEP_SPACE]) {
      expect(readTextField({ u: '' }, 'u', rules)).toStrictEqual({ ok: false, problem: { field: 'u', reason: 'blank' } });
    }
  });

  it('reports white space only as blank unless the rules keep white space', () => {
    for (const ws of [' ', '   ', '\t', '\r\n', ' \u00a0 ']) {
      expect(readTextField({ u: ws }, 'u', STRICT)).toStrictEqual({ ok: false, problem: { field: 'u', reason: 'blank' } });
      expect(readTextField({ u: ws }, 'u', DRF)).toStrictEqual({ ok: false, problem: { field: 'u', reason: 'blank' } });
      expect(readTextField({ u: ws }, 'u', KEEP_SPACE)).toStrictEqual({ ok: true, value: ws });
    }
  });

  it('trims surrounding white space only when the rules say so', () => {
    expect(readTextField({ u: '  a b \t' }, 'u', DRF)).toStrictEqual({ ok: true, value: 'a b' });
    expect(readTextField({ u: '  a b \t' }, 'u', STRICT)).toStrictEqual({ ok: true, value: '  a b \t' });
  });
});

describe('looksLikeEmail', () => {
  it('accepts ordinary addresses', () => {
    for (const ok of [
      'someone@example.com',
      'Some.One+tag@Sub.Example.CO.uk',
      'a@b.io',
      'x_y-z@mail-server.example.org',
      'user@xn--80ak6aa92e.xn--p1ai',
    ]) {
      expect([ok, looksLikeEmail(ok)]).toStrictEqual([ok, true]);
    }
  });

  it('refuses someone@example (document 003) and other malformed addresses', () => {
    const bad = [
      'someone@example',
      'someone.example',
      '@example.com',
      'someone@',
      'a@@example.com',
      'a@b@example.com',
      'a b@example.com',
      '"a"@example.com',
      '.a@example.com',
      'a.@example.com',
      'a..b@example.com',
      'a@example.c',
      'a@example.123',
      'a@-example.com',
      'a@example-.com',
      'a@exa_mple.com',
      'a@example..com',
      'a@example.com.',
      'a@.example.com',
      '',
      `${'a'.repeat(65)}@example.com`,
      `a@${'b'.repeat(64)}.com`,
      `a@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(63)}.com`,
    ];
    for (const b of bad) expect([b, looksLikeEmail(b)]).toStrictEqual([b, false]);
  });

  it('accepts the longest local part and label', () => {
    expect(looksLikeEmail(`${'a'.repeat(64)}@example.com`)).toBe(true);
    expect(looksLikeEmail(`a@${'b'.repeat(63)}.com`)).toBe(true);
  });
});

describe('normaliseEmail', () => {
  it('trims and lower-cases', () => {
    expect(normaliseEmail('  Someone@Example.COM \t')).toBe('someone@example.com');
  });
});

describe('readTextField: maxChars (identifiers)', () => {
  const rules = { trim: false, acceptNumbers: false, whitespaceIsBlank: true, maxChars: MAX_IDENTIFIER_CHARS };
  it('counts characters, not UTF-16 units: 254 emoji pass, 255 are too long; the bound is 254', () => {
    expect(MAX_IDENTIFIER_CHARS).toBe(254);
    expect(readTextField({ u: '🔑'.repeat(254) }, 'u', rules)).toStrictEqual({ ok: true, value: '🔑'.repeat(254) });
    expect(readTextField({ u: '🔑'.repeat(255) }, 'u', rules)).toStrictEqual({ ok: false, problem: { field: 'u', reason: 'too_long' } });
    expect(readTextField({ u: 'x'.repeat(255) }, 'u', rules)).toStrictEqual({ ok: false, problem: { field: 'u', reason: 'too_long' } });
    expect(readTextField({ u: 'x'.repeat(255) }, 'u', { ...rules, maxChars: undefined })).toStrictEqual({
      ok: true,
      value: 'x'.repeat(255),
    });
  });
});

describe('readTextField: prohibitNulAndSurrogates (DRF CharField validators)', () => {
  const rules: TextFieldRules = { trim: true, acceptNumbers: true, whitespaceIsBlank: true, prohibitNulAndSurrogates: true };
  const refused = (characters: number[]) => ({ ok: false, problem: { field: 'u', reason: 'prohibited_character', characters } });
  it('refuses a NUL, then names the first lone surrogate; a surrogate pair is one character', () => {
    expect(readTextField({ u: 'a\u0000b' }, 'u', rules)).toStrictEqual(refused([0]));
    expect(readTextField({ u: ' \u0000 ' }, 'u', rules)).toStrictEqual(refused([0]));
    expect(readTextField({ u: 'a\ud800b\udfff' }, 'u', rules)).toStrictEqual(refused([0xd800]));
    expect(readTextField({ u: 'x\udc00\u0000\ud801' }, 'u', rules)).toStrictEqual(refused([0, 0xdc00]));
    expect(readTextField({ u: 'x\ud83d\ude00' }, 'u', rules)).toStrictEqual({ ok: true, value: 'x\ud83d\ude00' });
  });

  it('checks after blank and type, as DRF runs validators on a value that passed them', () => {
    expect(readTextField({ u: '  ' }, 'u', rules)).toStrictEqual({ ok: false, problem: { field: 'u', reason: 'blank' } });
    expect(readTextField({ u: 0 }, 'u', rules)).toStrictEqual({ ok: true, value: '0' });
    expect(readTextField({ u: ['\u0000'] }, 'u', rules)).toStrictEqual({ ok: false, problem: { field: 'u', reason: 'invalid_type' } });
  });
});
