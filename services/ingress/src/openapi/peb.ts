/** The `peb` routes (document 003 and peb-reference.md): HTTP 200, the outcome in the body `status`. */
import { PEB_ERRORS, type PebError } from '@tessera/core';
import * as build from './build.ts';
import type { JsonSchema, PathItemObject, ResponseObject } from './types.ts';

/** What every PEB route may answer: the service's failures and a body it cannot read. */
const PEB_COMMON_ERRORS: readonly PebError[] = [
  PEB_ERRORS.unavailable,
  PEB_ERRORS.unspecified,
  PEB_ERRORS.missing,
  PEB_ERRORS.empty,
  PEB_ERRORS.badFormat,
  PEB_ERRORS.unsupportedMediaType,
  PEB_ERRORS.tooLarge,
];
const PEB_LOGIN_ERRORS = [...PEB_COMMON_ERRORS, PEB_ERRORS.badCredentials, PEB_ERRORS.locked, PEB_ERRORS.throttled];
const PEB_TOKEN_ERRORS = [...PEB_COMMON_ERRORS, PEB_ERRORS.invalidToken, PEB_ERRORS.expiredToken];

const PEB_SCHEMA_NAMES = new Map<PebError, string>(Object.entries(PEB_ERRORS).map(([key, e]) => [e, `PebError${build.capitalised(key)}`]));

/** The PEB error bodies of these errors, one component schema per error. */
function pebFailure(errors: readonly PebError[]): JsonSchema {
  const variants = errors.map((e) =>
    build.sharedSchema(PEB_SCHEMA_NAMES.get(e) ?? `PebError${e.id}`, {
      ...build.narrowed('PebError', {
        properties: { status: build.constant(e.status), message: build.constant(e.message), error_id: build.constant(e.id) },
      }),
      title: `error ${e.id}, status ${e.status}`,
      description: e.when,
    }),
  );
  return variants.length === 1 ? (variants[0] as JsonSchema) : build.oneOf(...variants);
}

/** With TESSERA_PEB_MIRROR_STATUS=1 the body's `status` is the HTTP status too: one response per status. */
function pebMirrored(errors: readonly PebError[], extra: build.HeaderMap = {}): Record<string, ResponseObject> {
  const byStatus = new Map<number, PebError[]>();
  for (const e of errors) byStatus.set(e.status, [...(byStatus.get(e.status) ?? []), e]);
  const out: Record<string, ResponseObject> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const retry: build.HeaderMap = status === 403 || status === 429 ? { 'Retry-After': build.header('RetryAfter') } : {};
    out[String(status)] = build.json(
      `Only with TESSERA_PEB_MIRROR_STATUS=1 (default 0: these bodies come with HTTP 200): the error body with its \`status\` as the HTTP status${
        status === 403 || status === 429 ? ', and `Retry-After`' : ''
      }.`,
      pebFailure(list),
      { ...retry, ...extra },
    );
  }
  return out;
}

type PebAction = 'login' | 'renew' | 'check';

export function pebItem(action: PebAction): PathItemObject {
  const id = { login: 'pebLogin', renew: 'pebRenew', check: 'pebCheck' }[action];
  const errors = action === 'login' ? PEB_LOGIN_ERRORS : PEB_TOKEN_ERRORS;
  const success = { login: 'PebSuccess', renew: 'PebRenew', check: 'PebCheck' }[action];
  const summaries: Record<PebAction, string> = {
    login: 'Trades an identifier (`email`, `username` or `user`) and password for a 128-hex token valid 30 days',
    renew: 'Trades a valid token for a new one; the old one stops working at once',
    check: 'Reports whether a token is valid, until when, and for which user',
  };
  return {
    summary: `peb ${action}`,
    description:
      'Document 003: the HTTP status is always 200 and the outcome is the body `status`. TESSERA_PEB_MIRROR_STATUS=1 sends the body `status` as the HTTP status too.',
    post: build.op(
      id,
      'peb',
      summaries[action],
      {
        '200': build.json(
          'By default every answer: the success body, or the error body `{"status","message","error_id"}` with the error ids of peb-reference.md.',
          build.oneOf(build.schema(success), pebFailure(errors)),
        ),
        ...pebMirrored(errors),
      },
      {
        requestBody: build.formBody(
          action === 'login' ? 'PebLogin' : 'PebToken',
          action === 'login'
            ? 'The identifier as `user` (an email when it holds `@`, else a username), `email` (trimmed and case-folded) or `username`, checked in that order; and `password`, taken as sent. Strings only.'
            : '`token`: a PEB token, 128 lowercase hex characters.',
          build.schema(action === 'login' ? 'PebLoginRequest' : 'PebTokenRequest'),
        ),
      },
    ),
    ...build.otherMethods(id, 'peb', {
      '200': build.sharedResponse(
        'PebWrongMethod',
        build.json('Document 003: error 5 with HTTP 200, and `Allow: POST`.', pebFailure([PEB_ERRORS.methodNotAllowed]), {
          Allow: build.header('AllowPost'),
        }),
      ),
      '405': build.sharedResponse(
        'PebWrongMethodMirrored',
        pebMirrored([PEB_ERRORS.methodNotAllowed], { Allow: build.header('AllowPost') })['405'] as ResponseObject,
      ),
    }),
  };
}
