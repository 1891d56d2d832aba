import type { Fields } from '../body.ts';
import { MAX_IDENTIFIER_CHARS, readTextField, type TextFieldRules } from '../fields.ts';
import type { FieldProblem } from '../outcome.ts';
import type { ParseResult, TokenParseResult } from './dialect.ts';

/**
 * Reads `username` and `password` the way a username/password form does: every field checked,
 * every problem reported, in field order.
 */
export function parseUsernamePassword(fields: Fields, username: TextFieldRules, password: TextFieldRules): ParseResult {
  const problems: FieldProblem[] = [];
  const u = readTextField(fields, 'username', { ...username, maxChars: MAX_IDENTIFIER_CHARS });
  const p = readTextField(fields, 'password', password);
  if (u.ok === 'absent') problems.push({ field: 'username', reason: 'missing' });
  else if (u.ok === false) problems.push(u.problem);
  if (p.ok === 'absent') problems.push({ field: 'password', reason: 'missing' });
  else if (p.ok === false) problems.push(p.problem);
  if (u.ok === true && p.ok === true) {
    return { ok: true, command: { identifier: { by: 'username', value: u.value }, password: p.value } };
  }
  const first = problems[0] as FieldProblem;
  return { ok: false, problem: { reason: first.reason, fields: problems } };
}

/** Reads the single token field of a token operation. */
export function parseTokenField(fields: Fields, name: string, rules: TextFieldRules): TokenParseResult {
  const r = readTextField(fields, name, rules);
  if (r.ok === true) return { ok: true, token: r.value };
  const problem = r.ok === 'absent' ? { field: name, reason: 'missing' as const } : r.problem;
  return { ok: false, problem: { reason: problem.reason, fields: [problem] } };
}
