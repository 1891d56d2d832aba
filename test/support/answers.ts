import { routeTable } from '@tessera/core';

/** Who answers a path: a login dialect, the OAuth endpoints, or the ingress itself. */
export type Speaker = 'moh' | 'nehr' | 'simplejwt' | 'peb' | 'oauth' | 'ingress';

/**
 * The documented "unavailable" answer of each speaker (packages/core/src/dialects/*.ts,
 * packages/core/src/oauth.ts, /readyz): the one answer a Redis outage or a full verify pool may
 * give. moh and peb (without TESSERA_PEB_MIRROR_STATUS) say it with HTTP 200.
 */
export const UNAVAILABLE: Readonly<Record<Speaker, { readonly status: number; readonly body: string }>> = {
  moh: { status: 200, body: '{"version":"v2","code":7,"message":"Service Unavailable","result":null}' },
  nehr: { status: 503, body: '{"code":503,"message":"Service Unavailable: The service is temporarily unable to process the request."}' },
  simplejwt: { status: 503, body: '{"detail":"Service temporarily unavailable, try again later."}' },
  peb: { status: 200, body: '{"status":503,"message":"API is temporary unavailable.","error_id":3}' },
  oauth: { status: 503, body: '{"error":"temporarily_unavailable","error_description":"The service is temporarily unavailable."}' },
  ingress: { status: 503, body: '{"status":"unavailable","redis":"unreachable"}' },
};

const SPEAKERS = new Map<string, Speaker>(
  routeTable({ mohBase: '', peb: { mirrorStatus: false } }).map((r) => [r.path, r.dialect.name as Speaker]),
);

/** The speaker of a path (query ignored), with the default route settings. */
export function speakerOf(path: string): Speaker {
  const route = path.split('?')[0] ?? path;
  return SPEAKERS.get(route) ?? (route.startsWith('/oauth/') ? 'oauth' : 'ingress');
}

/**
 * Why an answer is a server failure, or null: any 5xx but the speaker's documented "unavailable",
 * and the internal errors the dialects say with HTTP 200 (moh code 8, peb error 4).
 */
export function serverFailure(path: string, status: number, body: string): string | null {
  const speaker = speakerOf(path);
  const unavailable = UNAVAILABLE[speaker];
  if (status >= 500) return status === unavailable.status && body === unavailable.body ? null : `HTTP ${status}`;
  if (speaker === 'moh' && body.includes('"code":8,')) return 'moh code 8 (Internal Server Error)';
  if (speaker === 'peb' && body.includes('"error_id":4}')) return 'peb error 4 (Unspecified error)';
  return null;
}

/**
 * Text that looks like a stack trace or a leaked runtime error, in an answer or a log line: stack
 * frames (raw or JSON-escaped), Node's internals, or a message starting `Error:`/`TypeError:`…
 * (not a dialect's own "Internal Server Error: …").
 */
export const STACK_TRACE =
  /\n\s+at |\\n\s+at |\bat [\w.<>]+ \(|node:internal|(?:^|["\n])(?:[A-Z][a-z]+)?Error: |\b(?:Type|Reference|Range|Syntax)Error\b/;
