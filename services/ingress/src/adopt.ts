import type { LoginCommand, LoginContext, MigrationPlan, UserRecord } from '@tessera/core';
import type { NewUser } from '@tessera/store';
import type { Deps } from './ports.ts';

/**
 * Takes over a user the old system vouched for (the plan is core's), in one step with its
 * user.migrated `event` (JSON): a pending user gets the password (if no one changed it meanwhile); an
 * unknown one is created. A user already here under that name, or holding the old id, is this
 * person only if the password verifies against it; an old id held by someone else is a conflict
 * for the operator, never renumbered silently (services reading SimpleJWT's user_id rely on it).
 */
export async function adoptUser(
  deps: Pick<Deps, 'users' | 'hasher' | 'gate' | 'log'>,
  plan: MigrationPlan,
  command: LoginCommand,
  pending: UserRecord | null,
  ctx: LoginContext,
  event: string,
): Promise<UserRecord | null | 'conflict'> {
  const { password } = command;
  const passwordHash = await deps.hasher.hash(password);
  // An account reached by another spelling than the one the attempt was counted on: its own lock
  // holds too (a locked account gives no token through a case variant of its username).
  const verified = async (user: UserRecord | null) =>
    user !== null && !user.disabled && !(await deps.gate.accountLocked(user)) && (await deps.hasher.verify(user.passwordHash, password))
      ? user
      : null;
  // An account already here is tried only when it is the login's own: a concurrent first login
  // made it, or it is the same name but for case. Any other is never tried with this password: the
  // lockout guards the login's identifier, not that account.
  const own = (user: UserRecord | null): user is UserRecord =>
    user !== null &&
    (command.identifier.by === 'email'
      ? user.email === plan.email
      : user.username.toLowerCase() === command.identifier.value.toLowerCase());
  if (pending !== null) {
    const set = await deps.users.setPasswordHash(pending.username, passwordHash, { expected: pending.passwordHash, event });
    return set ? deps.users.get(pending.username) : verified(await deps.users.get(pending.username));
  }
  const { emailLogin, ...fields } = plan;
  let user: NewUser = { ...fields, passwordHash };
  for (;;) {
    const r = await deps.users.put(user, { mode: 'create', event });
    if (r.status === 'created') return deps.users.get(plan.username);
    const there = r.status === 'exists' ? await deps.users.get(plan.username) : null;
    if (r.status === 'exists' && own(there)) return verified(there);
    const holder = r.status === 'id_taken' && plan.id !== undefined ? await deps.users.findById(plan.id) : null;
    if (r.status === 'id_taken' && own(holder)) return verified(holder);
    if (r.status === 'exists' || r.status === 'id_taken') {
      deps.log.error(`upstream user's ${r.status === 'exists' ? 'username' : 'id'} is another user here: not migrated`, {
        dialect: ctx.dialect,
        id: plan.id,
        username: plan.username,
      });
      return 'conflict';
    }
    // the old system's email is another user's here: the user comes over without it
    if (r.status === 'email_taken' && user.email !== null && !emailLogin) {
      user = { ...user, email: null };
      continue;
    }
    return null;
  }
}
