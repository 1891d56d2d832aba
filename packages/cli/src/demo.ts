import type { PasswordHasher } from '@tessera/passwords';
import { type NewUser, UserExistsError, type UserRepository } from '@tessera/store';

/** The users the four documents log in with. Seeded by `npm start` on the embedded Redis. */
export const DEMO_USERS: ReadonlyArray<Omit<NewUser, 'passwordHash'> & { readonly password: string }> = [
  { username: 'MOH-90008', password: 'Moh@-90008', profile: { persCode: '-90008' } },
  { username: 'sampleUser', password: 'userpassword123' },
  { username: 'someone', email: 'someone@example.com', password: 'Some3xtraLong4nd5afe9assword' },
  { username: 'someone.example', password: 'Some3xtraLong4nd5afe9assword4gain' },
];

/** Creates each demo user that does not exist yet; returns the usernames created. */
export async function seedDemoUsers(users: UserRepository, hasher: PasswordHasher): Promise<string[]> {
  const created: string[] = [];
  for (const { password, ...user } of DEMO_USERS) {
    if ((await users.get(user.username)) !== null) continue;
    try {
      await users.create({ ...user, passwordHash: await hasher.hash(password) });
      created.push(user.username);
    } catch (err) {
      if (!(err instanceof UserExistsError)) throw err;
    }
  }
  return created;
}
