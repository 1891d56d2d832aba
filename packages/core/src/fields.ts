import type { Fields } from './body.ts';
import type { FieldProblem } from './outcome.ts';

export interface TextFieldRules {
  /** Strip surrounding white space from the value (DRF CharField's trim_whitespace). */
  readonly trim: boolean;
  /** Accept JSON numbers and turn them into strings (DRF CharField does; booleans it refuses). */
  readonly acceptNumbers: boolean;
  /** A value of only white space counts as blank (true unless the field keeps white space). */
  readonly whitespaceIsBlank: boolean;
  /** The most characters the value may have (identifiers: MAX_IDENTIFIER_CHARS). */
  readonly maxChars?: number;
  /**
   * Refuse a NUL or a lone surrogate in the value (`prohibited_character`), as DRF CharField's
   * ProhibitNullCharactersValidator and ProhibitSurrogateCharactersValidator do; otherwise a lone
   * surrogate reads as U+FFFD.
   */
  readonly prohibitNulAndSurrogates?: boolean;
}

/**
 * The longest login identifier, in characters: the longest valid email is 254. Identifiers are
 * kept in Redis (lockout state) before anyone knows whether they name a user, so a longer one is
 * refused as malformed before anything is written.
 */
export const MAX_IDENTIFIER_CHARS = 254;

/** Characters (code points) of a text: UTF-16 length, less its surrogate pairs. */
function chars(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) if ((text.charCodeAt(i) & 0xfc00) === 0xd800) n--;
  return n;
}

export type TextFieldResult =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly problem: FieldProblem }
  | { readonly ok: 'absent' };

/** A surrogate code unit not in a pair (`\p{Cs}` matches only those in a `u` pattern). */
const LONE_SURROGATE = /\p{Cs}/u;

/** The code units DRF's validators refuse in `text`, in their order: NUL (0), then the first lone surrogate. */
function prohibitedCharacters(text: string): number[] {
  const found: number[] = [];
  if (text.includes('\0')) found.push(0);
  const surrogate = LONE_SURROGATE.exec(text);
  if (surrogate !== null) found.push(surrogate[0].charCodeAt(0));
  return found;
}

/**
 * Reads one text field by the dialect's rules. A lone surrogate (a JSON `\ud800` escape) reads as
 * U+FFFD, as UTF-8 has it anyway: the value is the one its bytes in Redis, in argon2 and in the
 * audit trail stand for, and every JSON reader downstream (Redis's cjson among them) can read it;
 * unless the rules refuse it (`prohibitNulAndSurrogates`), after the blank and length checks.
 */
export function readTextField(fields: Fields, name: string, rules: TextFieldRules): TextFieldResult {
  if (!Object.hasOwn(fields, name)) return { ok: 'absent' };
  const raw = fields[name];
  if (raw === null) return { ok: false, problem: { field: name, reason: 'null' } };
  let text: string;
  if (typeof raw === 'string') text = !rules.prohibitNulAndSurrogates && LONE_SURROGATE.test(raw) ? raw.replace(/\p{Cs}/gu, '\ufffd') : raw;
  else if (rules.acceptNumbers && typeof raw === 'number' && Number.isFinite(raw)) text = String(raw);
  else return { ok: false, problem: { field: name, reason: 'invalid_type' } };
  if (text === '' || (rules.whitespaceIsBlank && text.trim() === '')) return { ok: false, problem: { field: name, reason: 'blank' } };
  const value = rules.trim ? text.trim() : text;
  if (rules.maxChars !== undefined && value.length > rules.maxChars && chars(value) > rules.maxChars)
    return { ok: false, problem: { field: name, reason: 'too_long' } };
  if (rules.prohibitNulAndSurrogates) {
    const characters = prohibitedCharacters(value);
    if (characters.length > 0) return { ok: false, problem: { field: name, reason: 'prohibited_character', characters } };
  }
  return { ok: true, value };
}

/**
 * A practical email check: one `@`, a non-empty local part, a dotted domain of valid labels. It
 * refuses `someone@example` as document 003 requires.
 */
export function looksLikeEmail(value: string): boolean {
  if (value.length > 254) return false;
  const at = value.lastIndexOf('@');
  if (at < 1 || at !== value.indexOf('@')) return false;
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (local.length > 64 || /[\s"(),:;<>[\\\]]/.test(local) || local.startsWith('.') || local.endsWith('.') || local.includes('..'))
    return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  const tld = labels[labels.length - 1] ?? '';
  if (!/^[a-z]{2,63}$/i.test(tld) && !/^xn--[a-z0-9-]{1,59}$/i.test(tld)) return false;
  return labels.every((l) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(l));
}

/** Case-folds an email for lookup and counting. */
export function normaliseEmail(value: string): string {
  return value.trim().toLowerCase();
}
