/** Queue names and prefixes shared by producers (ingress, CLI) and the worker. */

/** The BullMQ queue that carries audit events to the worker. */
export const AUDIT_QUEUE = 'audit';

/**
 * BullMQ key prefix: the Redis prefix plus a `{…}` hash tag, so every key of a queue lands in one
 * slot and BullMQ's scripts run on Redis Cluster.
 */
export function queuePrefix(redisPrefix: string): string {
  return `${redisPrefix}{bull}`;
}
