import type { Problem } from '../outcome.ts';
import type { HttpAnswer } from '../types.ts';
import { type Dialect, jsonAnswer, retryAfterHeader } from './dialect.ts';
import { ministryDialect, ministryUpstream } from './envelope.ts';

/**
 * `nehr` failure messages. 401 and 500 are document 001's words; the rest follow its
 * "<Reason Phrase>: <explanation>" pattern.
 */
export const NEHR_MESSAGES = {
  unauthorized: 'Unauthorized: Access is denied due to invalid credentials.',
  internalError: 'Internal Server Error: Unable to process the request due to server error.',
  methodNotAllowed: 'Method Not Allowed: Only POST is allowed.',
  locked: 'Too Many Requests: The account is temporarily locked after repeated failed logins.',
  throttled: 'Too Many Requests: Too many login attempts from this client.',
  unavailable: 'Service Unavailable: The service is temporarily unable to process the request.',
  tooLarge: 'Bad Request: The request body is too large.',
  unsupportedMediaType: 'Bad Request: Unsupported content type.',
  unparseable: 'Bad Request: The request body could not be parsed.',
  invalidToken: 'Unauthorized: The token is invalid or expired.',
} as const;

type NehrMessage = keyof typeof NEHR_MESSAGES;

/** The 400 messages naming a field; the first problem, in field order, is the one answered. */
export const NEHR_FIELD_MESSAGES = {
  missing: (field: string) => `Bad Request: Required field '${field}' is missing.`,
  blank: (field: string) => `Bad Request: Required field '${field}' is empty.`,
  notString: (field: string) => `Bad Request: Field '${field}' must be a string.`,
  tooLong: (field: string) => `Bad Request: Field '${field}' is longer than 254 characters.`,
} as const;

/** When a NEHR_FIELD_MESSAGES message is given. */
export const NEHR_FIELD_WHEN = 'the first field problem (missing, empty, or not a string — null, number, object, file)';

/**
 * The HTTP status each message comes with (the body's `code` too), and when it is given: the
 * OpenAPI document quotes these. Messages that share a status with others (400, 429) have a
 * phrase the document lists under that status.
 */
export const NEHR_ANSWERS: Readonly<Record<NehrMessage, { readonly status: number; readonly when: string }>> = {
  unauthorized: { status: 401, when: 'Document 001: unknown user, wrong password or disabled account, byte-identical answers.' },
  internalError: { status: 500, when: 'Document 001: an unexpected error.' },
  methodNotAllowed: { status: 405, when: "Tessera's message, with `Allow: POST`." },
  locked: { status: 429, when: 'the identifier is locked after repeated failed logins' },
  throttled: { status: 429, when: 'the client address is throttled' },
  unavailable: {
    status: 503,
    when: "Tessera's message: Redis does not answer, or no argon2 slot freed up within TESSERA_ARGON2_MAX_WAIT_MS.",
  },
  tooLarge: { status: 400, when: 'a body over the limit' },
  unsupportedMediaType: { status: 400, when: 'an unsupported media type' },
  unparseable: { status: 400, when: 'an unparseable body' },
  invalidToken: {
    status: 401,
    when: "Tessera's message: the refresh token is unknown, expired, revoked, not a refresh token, or already used (reuse revokes its login family).",
  },
};

function badRequestMessage(problem: Problem): string {
  switch (problem.reason) {
    case 'too_large':
      return NEHR_MESSAGES.tooLarge;
    case 'unsupported_media_type':
      return NEHR_MESSAGES.unsupportedMediaType;
    case 'bad_json':
    case 'bad_encoding':
    case 'not_object':
      return NEHR_MESSAGES.unparseable;
    default: {
      const name = problem.fields?.[0]?.field ?? 'field';
      if (problem.reason === 'missing') return NEHR_FIELD_MESSAGES.missing(name);
      if (problem.reason === 'blank') return NEHR_FIELD_MESSAGES.blank(name);
      if (problem.reason === 'too_long') return NEHR_FIELD_MESSAGES.tooLong(name);
      return NEHR_FIELD_MESSAGES.notString(name);
    }
  }
}

function answer(status: number, message: string, extra?: Record<string, string>): HttpAnswer {
  return jsonAnswer(status, { code: status, message }, extra);
}

function failure(which: NehrMessage, extra?: Record<string, string>): HttpAnswer {
  return answer(NEHR_ANSWERS[which].status, NEHR_MESSAGES[which], extra);
}

/** The `nehr` dialect (document 001): the ministry envelope, real HTTP statuses on failure. */
export const nehr: Dialect = ministryDialect(
  'nehr',
  (which, outcome, allow) => {
    if (outcome.kind === 'malformed') return answer(400, badRequestMessage(outcome.problem));
    if (outcome.kind === 'locked' || outcome.kind === 'throttled') return failure(outcome.kind, retryAfterHeader(outcome.retryAfter));
    // every other name is a NEHR_MESSAGES key too ('invalidRequest' is malformed, answered above)
    return failure(which === 'badCredentials' ? 'unauthorized' : (which as NehrMessage), allow);
  },
  // As an upstream: 401 is its bad credentials.
  ministryUpstream((status) => status === 401),
);
