/**
 * Pins the matcher semantics the core tests rely on. It runs under Vitest and, through
 * `test/vitest-shim-deno.ts`, under Deno: a shim that drifted from Vitest (or a matcher that
 * could never fail) breaks this file in one of the two runs.
 */
import { describe, expect, it } from 'vitest';

const fails = (fn: () => void) => expect(fn).toThrow();
const passes = (fn: () => void) => expect(fn).not.toThrow();

describe('expect parity: equality', () => {
  it('toBe is Object.is', () => {
    passes(() => expect(Number.NaN).toBe(Number.NaN));
    passes(() => expect('a').toBe('a'));
    fails(() => expect(0).toBe(-0));
    fails(() => expect({}).toBe({}));
    fails(() => expect(1).toBe('1'));
    passes(() => expect(1).not.toBe(2));
    fails(() => expect(1).not.toBe(1));
  });

  it('toEqual recurses, ignores undefined properties and prototypes', () => {
    passes(() => expect({ a: 1, b: undefined }).toEqual({ a: 1 }));
    passes(() => expect(Object.assign(Object.create(null), { a: [1, { b: 'c' }] })).toEqual({ a: [1, { b: 'c' }] }));
    passes(() => expect(new Uint8Array([1, 2])).toEqual(new Uint8Array([1, 2])));
    fails(() => expect(new Uint8Array([1, 2])).toEqual(new Uint8Array([1, 3])));
    fails(() => expect({ a: 1 }).toEqual({ a: '1' }));
    fails(() => expect({ a: { b: 1 } }).toEqual({ a: { b: 2 } }));
    fails(() => expect([1, 2]).toEqual([1, 2, 3]));
    fails(() => expect([1, 2]).toEqual({ 0: 1, 1: 2 }));
    fails(() => expect({ a: 1 }).toEqual({ a: 1, b: 2 }));
    fails(() => expect(null).toEqual({}));
    fails(() => expect({ a: 1 }).not.toEqual({ a: 1 }));
  });

  it('toStrictEqual also counts undefined properties and prototypes', () => {
    passes(() => expect({ a: [1, { b: null }] }).toStrictEqual({ a: [1, { b: null }] }));
    fails(() => expect({ a: 1, b: undefined }).toStrictEqual({ a: 1 }));
    fails(() => expect(Object.assign(Object.create(null), { a: 1 })).toStrictEqual({ a: 1 }));
    fails(() => expect([1]).toStrictEqual(['1']));
    passes(() => expect({ a: 1 }).not.toStrictEqual({ a: 2 }));
  });
});

describe('expect parity: other matchers', () => {
  it('toMatch takes a regex or a substring', () => {
    passes(() => expect('abc-123').toMatch(/^[a-c]+-\d+$/));
    passes(() => expect('abc-123').toMatch('c-1'));
    fails(() => expect('abc').toMatch(/^b/));
    fails(() => expect('abc').toMatch('abcd'));
    passes(() => expect('abc').not.toMatch(/z/));
  });

  it('toContain looks into strings and arrays', () => {
    passes(() => expect('hello').toContain('ell'));
    passes(() => expect(['a', 'b']).toContain('b'));
    fails(() => expect(['a', 'b']).toContain('c'));
    fails(() => expect([{ a: 1 }]).toContain({ a: 1 }));
    passes(() => expect('hello').not.toContain('z'));
  });

  it('toHaveLength, toBeNull, toBeUndefined, toBeDefined, toBeInstanceOf', () => {
    passes(() => expect([1, 2]).toHaveLength(2));
    passes(() => expect('abc').toHaveLength(3));
    fails(() => expect([1, 2]).toHaveLength(3));
    passes(() => expect(null).toBeNull());
    fails(() => expect(undefined).toBeNull());
    passes(() => expect(undefined).toBeUndefined());
    fails(() => expect(null).toBeUndefined());
    passes(() => expect(0).toBeDefined());
    fails(() => expect(undefined).toBeDefined());
    passes(() => expect(new TypeError('x')).toBeInstanceOf(Error));
    fails(() => expect({}).toBeInstanceOf(Error));
  });

  it('ordering matchers', () => {
    passes(() => expect(2).toBeGreaterThan(1));
    fails(() => expect(1).toBeGreaterThan(1));
    passes(() => expect(1).toBeGreaterThanOrEqual(1));
    passes(() => expect(1).toBeLessThan(2));
    fails(() => expect(2).toBeLessThan(2));
    passes(() => expect(2).toBeLessThanOrEqual(2));
    fails(() => expect(3).toBeLessThanOrEqual(2));
  });

  it('toThrow matches by substring, regex or class', () => {
    const thrower = () => {
      throw new TypeError('bad thing happened');
    };
    passes(() => expect(thrower).toThrow());
    passes(() => expect(thrower).toThrow('thing'));
    passes(() => expect(thrower).toThrow(/^bad/));
    passes(() => expect(thrower).toThrow(TypeError));
    fails(() => expect(thrower).toThrow('other'));
    fails(() => expect(thrower).toThrow(RangeError));
    fails(() => expect(() => {}).toThrow());
    passes(() => expect(() => {}).not.toThrow());
    fails(() => expect(thrower).not.toThrow());
  });
});

describe('expect parity: promises', () => {
  it('resolves and rejects', async () => {
    await expect(Promise.resolve(5)).resolves.toBe(5);
    await expect(Promise.resolve({ a: 1 })).resolves.toStrictEqual({ a: 1 });
    await expect(Promise.reject(new RangeError('out of range'))).rejects.toThrow('out of range');
    await expect(Promise.reject(new RangeError('out of range'))).rejects.toThrow(RangeError);
    await expect(Promise.resolve(5)).resolves.not.toBe(6);
  });

  it('fails when the promise settles the other way or the value differs', async () => {
    await expect(expect(Promise.resolve(1)).rejects.toThrow()).rejects.toThrow();
    await expect(expect(Promise.reject(new Error('x'))).resolves.toBe(1)).rejects.toThrow();
    await expect(expect(Promise.resolve(1)).resolves.toBe(2)).rejects.toThrow();
    await expect(expect(Promise.reject(new Error('x'))).rejects.toThrow('y')).rejects.toThrow();
  });
});
