/**
 * The framing checks both runtime adapters add to their HTTP parser's own (docs/security.md,
 * "HTTP parsing"): what a proxy in front could read differently from Tessera.
 */

/** More header lines than this: 431. */
export const MAX_HEADER_LINES = 100;
/** Largest request head (request line and header lines): 431 past it. */
export const MAX_HEADER_BYTES = 16 * 1024;

/**
 * 431 for more than MAX_HEADER_LINES header lines; 400 for a Transfer-Encoding other than exactly
 * one `chunked` (any other coding, a list, another spelling); else 0.
 */
export function framingRefusal(headerLines: number, transferEncoding: string | null | undefined): number {
  if (headerLines > MAX_HEADER_LINES) return 431;
  if (transferEncoding != null && transferEncoding !== 'chunked') return 400;
  return 0;
}
