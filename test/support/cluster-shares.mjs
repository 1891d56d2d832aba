// @ts-check
// How load and data spread over the masters of a Redis Cluster: per master, the keys under a prefix
// (SCAN on that master alone) and the commands it ran (INFO commandstats since CONFIG RESETSTAT).
// Plain JavaScript so that a benchmark (test/bench/*.mjs) imports it as the tests do.
import { Redis } from 'ioredis';

/**
 * Commands a client or a node runs to keep itself going rather than for Tessera's work: slot maps,
 * statistics, health checks, connection set-up, subscriptions.
 */
export const BOOKKEEPING = [
  'auth',
  'client',
  'cluster',
  'command',
  'config',
  'hello',
  'info',
  'ping',
  'psubscribe',
  'punsubscribe',
  'readonly',
  'scan',
  'select',
  'ssubscribe',
  'subscribe',
  'sunsubscribe',
  'unsubscribe',
];

/**
 * @typedef {object} Master
 * @property {string} id     the node id
 * @property {string} address  host:port
 * @property {Redis} redis   a connection to this node alone
 */

/**
 * The masters of the cluster `url` (`redis-cluster://h:p,h:p`) names, as CLUSTER NODES of the
 * first of its nodes that answers lists them (never a replica, never a node marked failed),
 * whichever slots each holds. Each gets a connection of its own: close them with `closeMasters`.
 * @param {string} url
 * @returns {Promise<Master[]>}
 */
export async function clusterMasters(url) {
  const seeds = url.replace(/^redis-cluster:\/\//, '').split(',');
  let lastError;
  for (const seed of seeds) {
    const [host, port] = seed.split(':');
    const probe = new Redis({ host, port: Number(port), lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      const text = /** @type {string} */ (await probe.call('CLUSTER', 'NODES'));
      return text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => line.split(' '))
        .filter(([, , flags]) => {
          const f = (flags ?? '').split(',');
          return f.includes('master') && !f.includes('fail') && !f.includes('noaddr');
        })
        .map(([id, addr]) => {
          // ip:port@busport[,hostname]
          const address = /** @type {string} */ (addr).split('@')[0] ?? '';
          const [h, p] = address.split(':');
          const redis = new Redis({ host: h === '' ? host : h, port: Number(p), maxRetriesPerRequest: 1 });
          redis.on('error', () => {});
          return { id: /** @type {string} */ (id), address, redis };
        })
        .sort((a, b) => (a.address < b.address ? -1 : 1));
    } catch (err) {
      lastError = err;
    } finally {
      probe.disconnect();
    }
  }
  throw new Error(`no node of ${url} answered CLUSTER NODES: ${lastError}`);
}

/** @param {readonly Master[]} masters */
export function closeMasters(masters) {
  for (const m of masters) m.redis.disconnect();
}

/**
 * Keys matching `pattern` on each master (SCAN on that node: its own keys only).
 * @param {readonly Master[]} masters
 * @param {string} pattern
 * @returns {Promise<number[]>}
 */
export async function keysPerMaster(masters, pattern) {
  return Promise.all(
    masters.map(async (m) => {
      let cursor = '0';
      let count = 0;
      do {
        const [next, batch] = await m.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        count += batch.length;
      } while (cursor !== '0');
      return count;
    }),
  );
}

/**
 * Zeroes every master's command statistics (CONFIG RESETSTAT): `commandsPerMaster` counts from here.
 * @param {readonly Master[]} masters
 */
export async function resetCommandStats(masters) {
  await Promise.all(masters.map((m) => m.redis.config('RESETSTAT')));
}

/**
 * Calls per command name on one node since its last RESETSTAT (INFO commandstats; a subcommand
 * such as `client|setname` under its command, `client`).
 * @param {Redis} redis
 * @returns {Promise<Map<string, number>>}
 */
export async function commandCalls(redis) {
  const calls = new Map();
  for (const m of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:|]+)(?:\|[^:]*)?:calls=(\d+)/gm)) {
    const name = /** @type {string} */ (m[1]);
    calls.set(name, (calls.get(name) ?? 0) + Number(m[2]));
  }
  return calls;
}

/**
 * Per master, the commands it ran since `resetCommandStats` by name, most called first,
 * bookkeeping (BOOKKEEPING) left out.
 * @param {readonly Master[]} masters
 * @returns {Promise<[string, number][][]>}
 */
export async function commandsByMaster(masters) {
  return Promise.all(
    masters.map(async (m) =>
      [...(await commandCalls(m.redis))].filter(([name]) => !BOOKKEEPING.includes(name)).sort((a, b) => b[1] - a[1]),
    ),
  );
}

/**
 * Per master, how many commands `commandsByMaster` found.
 * @param {readonly [string, number][][]} byMaster
 * @returns {number[]}
 */
export function totals(byMaster) {
  return byMaster.map((calls) => calls.reduce((sum, [, n]) => sum + n, 0));
}

/**
 * Each count as a share of their sum (0 to 1; all 0 when the sum is 0).
 * @param {readonly number[]} counts
 * @returns {number[]}
 */
export function shares(counts) {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total === 0 ? 0 : c / total));
}

/**
 * A table of counts and shares per master, one line a master, for a test's or a benchmark's output.
 * @param {readonly Master[]} masters
 * @param {Record<string, readonly number[]>} columns  counts per master, by column title
 * @returns {string}
 */
export function sharesTable(masters, columns) {
  const titles = Object.keys(columns);
  const cells = (/** @type {number} */ i) =>
    titles.map((t) => {
      const counts = /** @type {readonly number[]} */ (columns[t]);
      return `${counts[i]} (${((shares(counts)[i] ?? 0) * 100).toFixed(1)} %)`;
    });
  const rows = [['master', ...titles], ...masters.map((m, i) => [m.address, ...cells(i)])];
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ')).join('\n');
}
