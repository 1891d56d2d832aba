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
      const f = problem.fields?.[0];
      const name = f?.field ?? 'field';
      if (problem.reason === 'missing') return `Bad Request: Required field '${name}' is missing.`;
      if (problem.reason === 'blank') return `Bad Request: Required field '${name}' is empty.`;
      if (problem.reason === 'too_long') return `Bad Request: Field '${name}' is longer than 254 characters.`;
      return `Bad Request: Field '${name}' must be a string.`;
    }
  }
}

function failure(status: number, message: string, extra?: Record<string, string>): HttpAnswer {
  return jsonAnswer(status, { code: status, message }, extra);
}

/** The `nehr` dialect (document 001): the ministry envelope, real HTTP statuses on failure. */
export const nehr: Dialect = ministryDialect(
  'nehr',
  (outcome) => {
    switch (outcome.kind) {
      case 'token_invalid':
        return failure(401, NEHR_MESSAGES.invalidToken);
      case 'bad_credentials':
        return failure(401, NEHR_MESSAGES.unauthorized);
      case 'locked':
        return failure(429, NEHR_MESSAGES.locked, retryAfterHeader(outcome.retryAfter));
      case 'throttled':
        return failure(429, NEHR_MESSAGES.throttled, retryAfterHeader(outcome.retryAfter));
      case 'malformed':
        return failure(400, badRequestMessage(outcome.problem));
      case 'method_not_allowed':
        return failure(405, NEHR_MESSAGES.methodNotAllowed, { allow: outcome.allow.join(', ') });
      case 'unavailable':
        return failure(503, NEHR_MESSAGES.unavailable);
      case 'verified':
      case 'checked':
      case 'internal_error':
        return failure(500, NEHR_MESSAGES.internalError);
    }
  },
  // As an upstream: 401 is its bad credentials.
  ministryUpstream((status) => status === 401),
);
