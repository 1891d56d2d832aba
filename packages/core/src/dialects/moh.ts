import type { HttpAnswer } from '../types.ts';
import { type Dialect, jsonAnswer } from './dialect.ts';
import { ministryDialect, ministryUpstream } from './envelope.ts';

/**
 * `moh` result codes. Document 000 fixes 0 and 3; the others are Tessera's, documented in the
 * docs/api.md and the OpenAPI document (which takes them, with MOH_WHEN, from here). HTTP status
 * is always 200.
 */
export const MOH_CODES = {
  ok: { code: 0, message: '1 Records found' },
  invalidRequest: { code: 1, message: 'Invalid Request' },
  badCredentials: { code: 3, message: 'Bad Credentials' },
  locked: { code: 4, message: 'Account Locked' },
  throttled: { code: 5, message: 'Too Many Requests' },
  methodNotAllowed: { code: 6, message: 'Method Not Allowed' },
  unavailable: { code: 7, message: 'Service Unavailable' },
  internalError: { code: 8, message: 'Internal Server Error' },
  invalidToken: { code: 9, message: 'Invalid Token' },
} as const;

export type MohFailure = Exclude<keyof typeof MOH_CODES, 'ok'>;

/** When each failure code is given: the catalogue's explanations, quoted by the OpenAPI document. */
export const MOH_WHEN: Readonly<Record<MohFailure, string>> = {
  invalidRequest:
    "Tessera's code: the request could not be read — a field missing, blank, null or not a string, a body that is not a JSON object or a form, an unsupported media type, or a body over the limit.",
  badCredentials: 'Document 000: unknown user, wrong password or disabled account, byte-identical answers.',
  locked: "Tessera's code: the identifier is locked after repeated failed logins (TESSERA_LOCKOUT_*).",
  throttled: "Tessera's code: the client address exceeded TESSERA_LOGIN_RATE_LIMIT.",
  methodNotAllowed: "Tessera's code: any method but POST; the answer carries `Allow: POST`.",
  unavailable: "Tessera's code: Redis does not answer, or no argon2 slot freed up within TESSERA_ARGON2_MAX_WAIT_MS.",
  internalError: "Tessera's code: an unexpected error.",
  invalidToken:
    "Tessera's code: the refresh token is unknown, expired, revoked, not a refresh token, or already used (a used one presented again also revokes its whole login family).",
};

function failure(which: MohFailure, extra?: Record<string, string>): HttpAnswer {
  const { code, message } = MOH_CODES[which];
  return jsonAnswer(200, { version: 'v2', code, message, result: null }, extra);
}

/** The `moh` dialect (document 000): HTTP 200 always, outcome in the envelope's `code`. */
export const moh: Dialect = ministryDialect(
  'moh',
  (which, _outcome, allow) => failure(which, allow),
  // As an upstream: HTTP 200 always; code 3 is its "Bad Credentials".
  ministryUpstream((status, code) => status === 200 && code === MOH_CODES.badCredentials.code),
);
