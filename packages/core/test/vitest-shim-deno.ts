/**
 * The subset of Vitest's API the core tests use, for running the same test files under Deno.
 * `packages/core/deno.json` maps the `vitest` import to this file; under Node, Vitest itself runs
 * them. Test infrastructure only: it may use `node:assert` and the `Deno` global.
 *
 * Supported: describe (nested, plus describe.skip), it/test (plus .skip/.todo), expect(x) with
 * .not / .resolves / .rejects and the matchers listed in `Matchers`. Nothing else: no hooks
 * (beforeEach...), no vi, no it.each, no asymmetric matchers, no snapshots. Add here what a test
 * needs, keeping Vitest's semantics.
 */
import { AssertionError, deepStrictEqual } from 'node:assert/strict';

type TestFn = () => void | Promise<void>;

const suites: string[] = [];
let skipping = 0;

function fullName(name: string): string {
  return [...suites, name].join(' > ');
}

function register(name: string, fn: TestFn, ignore: boolean): void {
  Deno.test({
    name: fullName(name),
    ignore: ignore || skipping > 0,
    async fn() {
      await fn();
    },
  });
}

interface DescribeFn {
  (name: string, fn: () => void): void;
  skip(name: string, fn: () => void): void;
}

interface ItFn {
  (name: string, fn: TestFn): void;
  skip(name: string, fn: TestFn): void;
  todo(name: string): void;
}

function runSuite(name: string, fn: () => void, skip: boolean): void {
  suites.push(name);
  if (skip) skipping++;
  try {
    fn();
  } finally {
    if (skip) skipping--;
    suites.pop();
  }
}

export const describe: DescribeFn = Object.assign((name: string, fn: () => void) => runSuite(name, fn, false), {
  skip: (name: string, fn: () => void) => runSuite(name, fn, true),
});

export const it: ItFn = Object.assign((name: string, fn: TestFn) => register(name, fn, false), {
  skip: (name: string, fn: TestFn) => register(name, fn, true),
  todo: (name: string) => register(name, () => {}, true),
});

export const test: ItFn = it;

/** Vitest's `toEqual`: recursive, ignores prototypes and properties whose value is undefined. */
function looseEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && Object.is(a.getTime(), b.getTime());
  if (a instanceof RegExp || b instanceof RegExp) return a instanceof RegExp && b instanceof RegExp && String(a) === String(b);
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b) || a.constructor !== b.constructor) return false;
    const x = a as unknown as ArrayLike<unknown>;
    const y = b as unknown as ArrayLike<unknown>;
    return x.length === y.length && Array.from(x).every((v, i) => Object.is(v, y[i]));
  }
  if (a instanceof Map || b instanceof Map || a instanceof Set || b instanceof Set) {
    throw new Error('vitest shim: toEqual on Map/Set is not implemented');
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  if (Array.isArray(a) && (a as unknown[]).length !== (b as unknown[]).length) return false;
  const keysA = Object.keys(ra).filter((k) => ra[k] !== undefined);
  const keysB = Object.keys(rb).filter((k) => rb[k] !== undefined);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((k) => Object.hasOwn(rb, k) && looseEqual(ra[k], rb[k]));
}

function strictEqual(a: unknown, b: unknown): boolean {
  try {
    deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

const show = (v: unknown): string => Deno.inspect(v, { depth: 8, colors: false, strAbbreviateSize: 400 });

type ThrowExpectation = string | RegExp | (abstract new (...args: never[]) => unknown) | undefined;

function thrownMatches(err: unknown, expected: ThrowExpectation): boolean {
  if (expected === undefined) return true;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof expected === 'string') return message.includes(expected);
  if (expected instanceof RegExp) return expected.test(message);
  return err instanceof expected;
}

type Numeric = number | bigint;

export interface Matchers<R> {
  /** Object.is */
  toBe(expected: unknown): R;
  /** Recursive equality ignoring prototypes and undefined-valued properties. */
  toEqual(expected: unknown): R;
  /** node:assert deepStrictEqual: prototypes and undefined-valued properties count. */
  toStrictEqual(expected: unknown): R;
  /** Regex test, or substring for a string, on a string actual. */
  toMatch(expected: string | RegExp): R;
  /** Substring of a string, or an element (Object.is) of an array or typed array. */
  toContain(expected: unknown): R;
  toHaveLength(expected: number): R;
  toBeNull(): R;
  toBeUndefined(): R;
  toBeDefined(): R;
  toBeInstanceOf(expected: abstract new (...args: never[]) => unknown): R;
  toBeGreaterThan(expected: Numeric): R;
  toBeGreaterThanOrEqual(expected: Numeric): R;
  toBeLessThan(expected: Numeric): R;
  toBeLessThanOrEqual(expected: Numeric): R;
  /** Sync: the actual is a function that must throw. Under `.rejects`: checks the rejection reason. */
  toThrow(expected?: ThrowExpectation): R;
}

type Check = (actual: unknown, thrown: { value: unknown } | null) => { pass: boolean; message: string };

function checks(name: keyof Matchers<void>, args: unknown[]): Check {
  const [expected] = args;
  switch (name) {
    case 'toBe':
      return (a) => ({ pass: Object.is(a, expected), message: `expected ${show(a)} to be ${show(expected)}` });
    case 'toEqual':
      return (a) => ({ pass: looseEqual(a, expected), message: `expected ${show(a)} to equal ${show(expected)}` });
    case 'toStrictEqual':
      return (a) => ({ pass: strictEqual(a, expected), message: `expected ${show(a)} to strictly equal ${show(expected)}` });
    case 'toMatch':
      return (a) => {
        if (typeof a !== 'string') throw new TypeError(`toMatch needs a string, got ${show(a)}`);
        const pass = typeof expected === 'string' ? a.includes(expected) : (expected as RegExp).test(a);
        return { pass, message: `expected ${show(a)} to match ${show(expected)}` };
      };
    case 'toContain':
      return (a) => {
        let pass: boolean;
        if (typeof a === 'string') pass = a.includes(String(expected));
        else if (Array.isArray(a) || ArrayBuffer.isView(a)) pass = Array.from(a as ArrayLike<unknown>).some((v) => Object.is(v, expected));
        else throw new TypeError(`toContain needs a string or an array, got ${show(a)}`);
        return { pass, message: `expected ${show(a)} to contain ${show(expected)}` };
      };
    case 'toHaveLength':
      return (a) => {
        const len = (a as { length?: unknown } | null | undefined)?.length;
        if (typeof len !== 'number') throw new TypeError(`toHaveLength needs a value with a length, got ${show(a)}`);
        return { pass: len === expected, message: `expected length ${len} to be ${show(expected)}` };
      };
    case 'toBeNull':
      return (a) => ({ pass: a === null, message: `expected ${show(a)} to be null` });
    case 'toBeUndefined':
      return (a) => ({ pass: a === undefined, message: `expected ${show(a)} to be undefined` });
    case 'toBeDefined':
      return (a) => ({ pass: a !== undefined, message: `expected ${show(a)} to be defined` });
    case 'toBeInstanceOf':
      return (a) => ({
        pass: a instanceof (expected as abstract new (...args: never[]) => unknown),
        message: `expected ${show(a)} to be an instance of ${(expected as { name?: string }).name}`,
      });
    case 'toBeGreaterThan':
    case 'toBeGreaterThanOrEqual':
    case 'toBeLessThan':
    case 'toBeLessThanOrEqual':
      return (a) => {
        if (typeof a !== 'number' && typeof a !== 'bigint') throw new TypeError(`${name} needs a number, got ${show(a)}`);
        const e = expected as Numeric;
        const pass =
          name === 'toBeGreaterThan' ? a > e : name === 'toBeGreaterThanOrEqual' ? a >= e : name === 'toBeLessThan' ? a < e : a <= e;
        return { pass, message: `expected ${show(a)} ${name} ${show(e)}` };
      };
    case 'toThrow':
      return (a, thrown) => {
        let outcome = thrown;
        if (outcome === null) {
          if (typeof a !== 'function') throw new TypeError(`toThrow needs a function, got ${show(a)}`);
          try {
            a();
          } catch (err) {
            outcome = { value: err };
          }
        }
        const pass = outcome !== null && thrownMatches(outcome.value, expected as ThrowExpectation);
        const what = outcome === null ? 'nothing was thrown' : `threw ${show(outcome.value)}`;
        return { pass, message: `expected a throw matching ${show(expected)}; ${what}` };
      };
  }
}

const MATCHER_NAMES: readonly (keyof Matchers<void>)[] = [
  'toBe',
  'toEqual',
  'toStrictEqual',
  'toMatch',
  'toContain',
  'toHaveLength',
  'toBeNull',
  'toBeUndefined',
  'toBeDefined',
  'toBeInstanceOf',
  'toBeGreaterThan',
  'toBeGreaterThanOrEqual',
  'toBeLessThan',
  'toBeLessThanOrEqual',
  'toThrow',
];

function verdict(result: { pass: boolean; message: string }, negated: boolean): void {
  if (result.pass === negated) throw new AssertionError({ message: negated ? `NOT: ${result.message}` : result.message });
}

function syncMatchers(actual: unknown, negated: boolean): Matchers<void> {
  const m: Partial<Record<keyof Matchers<void>, (...args: unknown[]) => void>> = {};
  for (const name of MATCHER_NAMES) m[name] = (...args) => verdict(checks(name, args)(actual, null), negated);
  return m as Matchers<void>;
}

function asyncMatchers(promise: unknown, mode: 'resolves' | 'rejects', negated: boolean): Matchers<Promise<void>> {
  const m: Partial<Record<keyof Matchers<void>, (...args: unknown[]) => Promise<void>>> = {};
  for (const name of MATCHER_NAMES) {
    m[name] = async (...args) => {
      if (!(promise instanceof Promise)) throw new TypeError(`.${mode} needs a promise, got ${show(promise)}`);
      let settled: { ok: true; value: unknown } | { ok: false; reason: unknown };
      try {
        settled = { ok: true, value: await promise };
      } catch (reason) {
        settled = { ok: false, reason };
      }
      if (mode === 'resolves' && !settled.ok)
        throw new AssertionError({ message: `expected the promise to resolve; it rejected with ${show(settled.reason)}` });
      if (mode === 'rejects' && settled.ok)
        throw new AssertionError({ message: `expected the promise to reject; it resolved to ${show(settled.value)}` });
      const check = checks(name, args);
      verdict(
        settled.ok ? check(settled.value, null) : check(settled.reason, name === 'toThrow' ? { value: settled.reason } : null),
        negated,
      );
    };
  }
  return m as Matchers<Promise<void>>;
}

export interface Assertion extends Matchers<void> {
  readonly not: Matchers<void>;
  readonly resolves: Matchers<Promise<void>> & { readonly not: Matchers<Promise<void>> };
  readonly rejects: Matchers<Promise<void>> & { readonly not: Matchers<Promise<void>> };
}

export function expect(actual: unknown): Assertion {
  return Object.assign(syncMatchers(actual, false), {
    not: syncMatchers(actual, true),
    resolves: Object.assign(asyncMatchers(actual, 'resolves', false), { not: asyncMatchers(actual, 'resolves', true) }),
    rejects: Object.assign(asyncMatchers(actual, 'rejects', false), { not: asyncMatchers(actual, 'rejects', true) }),
  });
}
