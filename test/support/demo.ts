// The documents' demo users and token formats, as the tests know them (independently of the
// product's own seed list, @tessera/cli DEMO_USERS, which startStack seeds).

/** Token formats, as docs/contract.md states them. */
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const HEX128 = /^[0-9a-f]{128}$/;
export const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** PEB `valid_till`: `2023-09-25T01:21:20` (ISO 8601, whole seconds, no offset). */
export const PEB_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

/** The credentials each document logs in with (document 003 has two users). */
export const DEMO = {
  /** Documents 000 and 001. */
  ministry: { username: 'MOH-90008', password: 'Moh@-90008' },
  /** Document 002. */
  simplejwt: { username: 'sampleUser', password: 'userpassword123' },
  /** Document 003, by email (the user's username is `someone`). */
  peb: { email: 'someone@example.com', password: 'Some3xtraLong4nd5afe9assword' },
  /** Document 003, by username. */
  pebByName: { username: 'someone.example', password: 'Some3xtraLong4nd5afe9assword4gain' },
} as const;

/** Every password of the demo users. */
export const DEMO_PASSWORDS: readonly string[] = [
  DEMO.ministry.password,
  DEMO.simplejwt.password,
  DEMO.peb.password,
  DEMO.pebByName.password,
];

/** The four login routes and a good request body for each. */
export const ROUTES = {
  moh: { path: '/getUserToken', creds: DEMO.ministry },
  nehr: { path: '/nehrapi/login/getToken', creds: DEMO.ministry },
  simplejwt: { path: '/api/token', creds: DEMO.simplejwt },
  peb: { path: '/v1/login', creds: DEMO.peb },
} as const;

export type RouteName = keyof typeof ROUTES;
