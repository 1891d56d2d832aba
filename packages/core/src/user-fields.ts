import type { UserProfile } from './types.ts';

/*
 * What a user record may hold, in one place: the store writes it, the importer and the upstream
 * codecs read it from outside.
 */

/**
 * The largest user id: ids are kept from other systems (imports, SimpleJWT's `user_id`), and Redis
 * scripts see numbers as Lua doubles written with 14 significant digits, so an id of 10^14 or more
 * would be written as `1e+14` and read back as another number.
 */
export const MAX_USER_ID = 99_999_999_999_999;

/** A user id (a positive whole number up to MAX_USER_ID, as a number or its digits), or undefined. */
export function userIdOf(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d{1,16}$/.test(v.trim()) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 && n <= MAX_USER_ID ? n : undefined;
}

/** What `validUsername` accepts, as error messages say it. */
export const USERNAME_RULE = '1-150 letters, digits or @.+-_';

/** Usernames as Django allows them: 1–150 of letters, digits and @.+-_ */
export function validUsername(username: string): boolean {
  return /^[\p{L}\p{N}@.+\-_]{1,150}$/u.test(username);
}

/** The ministry profile fields kept as text. */
export const PROFILE_TEXT_FIELDS = ['persCode', 'civilId', 'userMobile'] as const satisfies readonly (keyof UserProfile)[];

/** The ministry profile fields kept as JSON (`userIntitutes` a list). */
export const PROFILE_JSON_FIELDS = [
  'userIntitutes',
  'firstLogin',
  'loggedInUser',
  'userDetails',
] as const satisfies readonly (keyof UserProfile)[];

/** The most a JSON profile field may take, as JSON text: a profile is a few hundred bytes. */
export const MAX_PROFILE_JSON_BYTES = 8192;

/** A JSON profile value as stored (its JSON text), or null when it is not JSON a record can hold. */
export function profileJson(value: unknown): string | null {
  try {
    const text = JSON.stringify(value);
    return typeof text === 'string' && text.length <= MAX_PROFILE_JSON_BYTES ? text : null;
  } catch {
    // cyclic, too deep for the stack, a BigInt
    return null;
  }
}
