/**
 * Redis key layout. Users live under one hash tag, `{users}`: one Lua script can read a user and
 * its indexes in one slot, and login traffic is bounded by argon2, not by one Redis node. Tokens are
 * spread over the cluster, one slot per token hash.
 */
export interface KeyLayout {
  readonly prefix: string;
  readonly userSeq: string;
  readonly userPrefix: string;
  user(username: string): string;
  email(lowerEmail: string): string;
  userId(id: number): string;
  token(hash: string): string;
}

export function keyLayout(prefix: string): KeyLayout {
  const users = `${prefix}{users}:`;
  return {
    prefix,
    userSeq: `${users}seq`,
    userPrefix: `${users}u:`,
    user: (username) => `${users}u:${username}`,
    email: (lowerEmail) => `${users}email:${lowerEmail}`,
    userId: (id) => `${users}id:${id}`,
    token: (hash) => `${prefix}t:{${hash}}`,
  };
}
