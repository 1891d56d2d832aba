import { Cluster, Redis, type RedisOptions } from 'ioredis';

/**
 * `redis-cluster://[user:password@]host:port,host:port` names a Redis Cluster by some of its
 * nodes; the credentials (percent-encoded, as in a `redis://` URL) are those of every node.
 */
export function isClusterUrl(url: string): boolean {
  return url.startsWith('redis-cluster://');
}

/** The nodes and credentials of a `redis-cluster://` URL. */
export function clusterConfig(url: string): { nodes: { host: string; port: number }[]; username?: string; password?: string } {
  const rest = url.slice('redis-cluster://'.length);
  const at = rest.lastIndexOf('@');
  const nodes = rest
    .slice(at + 1)
    .split(',')
    .map((hp) => {
      const [host, port] = hp.trim().split(':');
      return { host: host || '127.0.0.1', port: Number(port || 6379) };
    });
  if (at === -1) return { nodes };
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const password = colon === -1 ? '' : decode(userinfo.slice(colon + 1));
  return { nodes, ...(username === '' ? {} : { username }), ...(password === '' ? {} : { password }) };
}

/**
 * A client for a Redis URL, single node or cluster. Both expose the commands Tessera uses (a
 * Cluster lacks SCAN across nodes; Tessera's product code does not need it), so a Cluster is
 * returned under the Redis type.
 */
export function newRedisClient(url: string, options: RedisOptions = {}): Redis {
  if (!isClusterUrl(url)) return new Redis(url, options);
  const { enableAutoPipelining, autoPipeliningIgnoredCommands, enableOfflineQueue, lazyConnect, ...perNode } = options;
  const { nodes, ...credentials } = clusterConfig(url);
  return new Cluster(nodes, {
    ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
    ...(autoPipeliningIgnoredCommands === undefined ? {} : { autoPipeliningIgnoredCommands }),
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    redisOptions: { ...credentials, ...perNode },
  }) as unknown as Redis;
}
