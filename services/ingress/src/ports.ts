import type { Settings } from '@tessera/config';
import type { LoginPolicy, LoginPorts } from '@tessera/core';
import { jwtSigner } from '@tessera/core';
import type { PasswordHasher } from '@tessera/passwords';
import type { TokenRepository, UserRepository } from '@tessera/store';
import type { Logger } from './log.ts';

export interface Deps {
  readonly users: UserRepository;
  readonly tokens: TokenRepository;
  readonly hasher: PasswordHasher;
  readonly log: Logger;
}

/** Wires the login handler's ports to the store and the password hasher. */
export function loginPorts(deps: Deps): LoginPorts {
  return {
    findUser: (id) => deps.users.find(id),
    verifyPassword: (hash, password) => deps.hasher.verify(hash, password),
    saveTokens: (grants, record) => deps.tokens.save(grants, record),
    now: () => Date.now(),
    newFamilyId: () => crypto.randomUUID(),
    onError: (err, context) => deps.log.error('unexpected error', { context, err }),
  };
}

export function loginPolicy(settings: Settings): LoginPolicy {
  return { bodyLimit: settings.bodyLimit, lifetimes: settings.lifetimes, signer: jwtSigner(settings.jwtSigningKey) };
}
