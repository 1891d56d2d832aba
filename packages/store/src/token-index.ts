/** How the user's token index (indexTokens-1.lua) and the earlier layout's index write their entries. */

/** The hashes of a family's entry in the earlier index (dropLegacyFamily-1.lua): per token, its expiry (7 characters) and its name (22). */
export function splitHashes(entry: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + ENTRY_LENGTH <= entry.length; i += ENTRY_LENGTH) out.push(entry.slice(i + 7, i + ENTRY_LENGTH));
  return out;
}

const ENTRY_LENGTH = 29;

/** A family's score in the token index is end * 2^20 + alias (indexTokens-1.lua); token entries score below. */
export const FAMILY_SCORES = 2 ** 20;

/** When a family ends (ms), from its score in the token index. */
export function familyEnd(score: string): number {
  return Math.floor(Number(score) / FAMILY_SCORES) * 1000;
}

/**
 * The tokenHash of a token entry of the index: seq and expiry (each its digit count, then the
 * digits; entries written by d7be6cf have no expiry), kind, hash.
 */
export function entryHash(entry: string): string {
  const exp = Number(entry[0]) + 1;
  const digits = Number(entry[exp]);
  return entry.slice(exp + (Number.isNaN(digits) ? 0 : digits + 1) + 1);
}
