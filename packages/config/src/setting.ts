/**
 * The builders of SPEC (spec.ts): each declares one value of `Settings` — the variable it is read
 * from, what it accepts, its default and meaning — and knows how to read it. What a variable
 * accepts is written once: the problem line says `expected <accepts>`, and the docs table shows it.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadOptions {
  /** Which process reads them: the CLI needs no JWT key. Default 'service'. */
  readonly role?: 'service' | 'cli';
  /**
   * CPU cores the process may use: the default ingress processes, argon2 concurrency and libuv
   * threads (spec.ts, ingressProcesses and verifyPool). Unknown: one process, libuv's 4 threads.
   */
  readonly cpus?: number;
}

/** One row of docs/settings.md's table. */
export interface SettingDoc {
  readonly name: string;
  /** The default as the table shows it: the value, or words for one computed or generated elsewhere. */
  readonly default: string;
  /** What a value must be (the words after "expected" in a problem line). */
  readonly accepts: string;
  readonly meaning: string;
}

/** A URL safe to print: its password (if any) replaced by `***`. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

/** One environment's variables, trimmed (blank is unset), and the problem lines found reading them. */
export class Reader {
  readonly problems: string[] = [];
  constructor(
    private readonly env: Env,
    readonly options: LoadOptions,
  ) {}

  raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }
}

/** A value of `Settings`: the table rows of the variables it is read from, and how it is read. */
export class Setting<T> {
  constructor(
    readonly docs: readonly SettingDoc[],
    readonly read: (r: Reader) => T,
  ) {}
}

/** A default, or how to work it out from the other variables and the load options. */
type Fallback<T> = T | ((r: Reader) => T);

interface VariableOptions<T> {
  readonly accepts: string;
  /** The value of a trimmed, non-blank variable; undefined when it is not one `accepts` allows. */
  readonly parse: (v: string) => T | undefined;
  readonly fallback: Fallback<T>;
  readonly meaning: string;
  /** The default as the docs show it; needed when `fallback` is computed or not shown as itself. */
  readonly shown?: string | undefined;
  /** Applied before `parse` and the problem line (lower case for words, no trailing slash for a path). */
  readonly prepare?: (v: string) => string;
  /** Printed without its password (a URL). */
  readonly redact?: boolean;
  /** Never printed: the problem line is `NAME: must be <accepts>`. */
  readonly secret?: boolean;
  /** The problem line when the variable is unset and must not be. */
  readonly missing?: (r: Reader) => string | undefined;
}

function shownDefault(value: unknown): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (value === '') return '(empty)';
  if (typeof value === 'function' || value === undefined) throw new Error('a computed or absent default needs `shown`');
  return String(value);
}

function variable<T>(name: string, o: VariableOptions<T>): Setting<T> {
  const fallback = (r: Reader): T => (typeof o.fallback === 'function' ? (o.fallback as (r: Reader) => T)(r) : o.fallback);
  const doc = { name, default: o.shown ?? shownDefault(o.fallback), accepts: o.accepts, meaning: o.meaning };
  return new Setting([doc], (r) => {
    const raw = r.raw(name);
    if (raw === undefined) {
      const missing = o.missing?.(r);
      if (missing !== undefined) r.problems.push(missing);
      return fallback(r);
    }
    const v = o.prepare === undefined ? raw : o.prepare(raw);
    const value = o.parse(v);
    if (value !== undefined) return value;
    r.problems.push(
      o.secret ? `${name}: must be ${o.accepts}` : `${name}=${JSON.stringify(o.redact ? redactUrl(v) : v)}: expected ${o.accepts}`,
    );
    return fallback(r);
  });
}

const inRange = (n: number, min: number, max: number): boolean => n >= min && n <= max;

/** A whole number from min to max (digits only: no sign, point or exponent). */
export function int<F extends number | undefined = number>(
  name: string,
  fallback: Fallback<F>,
  min: number,
  max: number,
  meaning: string,
  shown?: string,
): Setting<number | F> {
  const parse = (v: string): number | undefined => (/^\d+$/.test(v) && inRange(Number(v), min, max) ? Number(v) : undefined);
  return variable<number | F>(name, { accepts: `a whole number from ${min} to ${max}`, parse, fallback, meaning, shown });
}

/** A whole number from min to max, or `auto` (any case): the loader works it out (index.ts). */
export function intOrAuto(name: string, min: number, max: number, meaning: string): Setting<number | 'auto'> {
  const parse = (v: string): number | 'auto' | undefined =>
    v === 'auto' ? 'auto' : /^\d+$/.test(v) && inRange(Number(v), min, max) ? Number(v) : undefined;
  const accepts = `a whole number from ${min} to ${max}, or auto`;
  return variable<number | 'auto'>(name, { accepts, parse, prepare: (v) => v.toLowerCase(), fallback: 'auto', meaning });
}

/** A whole number of seconds, read as milliseconds. */
export function seconds(name: string, fallback: number, min: number, max: number, meaning: string): Setting<number> {
  const s = int(name, fallback, min, max, meaning);
  return new Setting(s.docs, (r) => s.read(r) * 1000);
}

/** A number from min to max, with a fraction if need be. */
export function num(name: string, fallback: number, min: number, max: number, meaning: string): Setting<number> {
  const parse = (v: string): number | undefined => (/^\d+(\.\d+)?$/.test(v) && inRange(Number(v), min, max) ? Number(v) : undefined);
  return variable(name, { accepts: `a number from ${min} to ${max}`, parse, fallback, meaning });
}

export const TRUE_WORDS = ['1', 'true', 'yes', 'on'];
export const FALSE_WORDS = ['0', 'false', 'no', 'off'];

/** On or off: any case of TRUE_WORDS or FALSE_WORDS. */
export function bool(name: string, fallback: Fallback<boolean>, meaning: string, shown?: string): Setting<boolean> {
  const parse = (v: string): boolean | undefined => (TRUE_WORDS.includes(v) ? true : FALSE_WORDS.includes(v) ? false : undefined);
  return variable(name, { accepts: '1 or 0', parse, prepare: (v) => v.toLowerCase(), fallback, meaning, shown });
}

/** "a, b or c" */
function alternatives(values: readonly string[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;
}

/** One of a few words (in any case when `ignoreCase`). */
export function oneOf<const V extends string>(
  name: string,
  values: readonly V[],
  fallback: NoInfer<V>,
  meaning: string,
  ignoreCase = false,
): Setting<V> {
  const parse = (v: string): V | undefined => values.find((w) => w === v);
  const prepare = ignoreCase ? (v: string) => v.toLowerCase() : undefined;
  return variable(name, { accepts: alternatives(values), parse, fallback, meaning, ...(prepare && { prepare }) });
}

/** Text, any, or what `check` allows. */
export function text(
  name: string,
  fallback: string,
  meaning: string,
  o: Partial<Pick<VariableOptions<string>, 'accepts' | 'shown' | 'prepare' | 'redact' | 'secret' | 'missing'>> & {
    readonly check?: (v: string) => boolean;
  } = {},
): Setting<string> {
  const { check, accepts = 'any text', ...rest } = o;
  return variable(name, { ...rest, accepts, parse: (v) => (check === undefined || check(v) ? v : undefined), fallback, meaning });
}

/** An http(s) URL without credentials (stored as `URL.href`), or unset. */
export function httpUrl(name: string, meaning: string): Setting<string | undefined> {
  const parse = (v: string): string | undefined => {
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      return undefined;
    }
    const http = url.protocol === 'http:' || url.protocol === 'https:';
    return http && url.username === '' && url.password === '' ? url.href : undefined;
  };
  const accepts = 'an http:// or https:// URL without credentials';
  return variable<string | undefined>(name, { accepts, parse, fallback: undefined, meaning, shown: '(none)', redact: true });
}

/** Entries separated by commas or white space; one problem line per entry `valid` refuses, the others kept. */
export function list(name: string, accepts: string, valid: (entry: string) => boolean, meaning: string): Setting<readonly string[]> {
  const doc = { name, default: '(none)', accepts: `${accepts}, several separated by commas or spaces`, meaning };
  return new Setting([doc], (r) => {
    const kept: string[] = [];
    for (const entry of (r.raw(name) ?? '').split(/[\s,]+/)) {
      if (entry === '') continue;
      if (valid(entry)) kept.push(entry);
      else r.problems.push(`${name}: ${JSON.stringify(entry)}: expected ${accepts}`);
    }
    return kept;
  });
}

type Values<P> = { -readonly [K in keyof P]: P[K] extends Setting<infer V> ? V : never };

/** One value read from several variables: each part is read (in order), then `combine` makes the value. */
export function combined<const P extends readonly Setting<unknown>[], T>(
  parts: P,
  combine: (values: Values<P>, r: Reader) => T,
): Setting<T> {
  return new Setting(
    parts.flatMap((p) => p.docs),
    (r) => combine(parts.map((p) => p.read(r)) as Values<P>, r),
  );
}

/** A group of settings, as `Settings` nests them. */
export interface SpecGroup {
  readonly [key: string]: Setting<unknown> | SpecGroup;
}

/** The values a spec reads. */
export type Infer<S> = { readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : Infer<S[K]> };

/** Reads every setting of the spec, in the spec's order. */
export function readSpec<S extends SpecGroup>(spec: S, r: Reader): Infer<S> {
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(spec)) out[key] = entry instanceof Setting ? entry.read(r) : readSpec(entry, r);
  return out as Infer<S>;
}

/** The table rows of every setting of the spec, in the spec's order. */
export function docsOf(spec: SpecGroup): SettingDoc[] {
  return Object.values(spec).flatMap((entry) => (entry instanceof Setting ? entry.docs : docsOf(entry)));
}
