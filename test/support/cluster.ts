import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);

/** A local 3-master Redis Cluster of infra/cluster/bootstrap.sh, private to one test file. */
export interface LocalCluster {
  /** `redis-cluster://127.0.0.1:p,127.0.0.1:p+1,127.0.0.1:p+2`, as REDIS_URL takes it. */
  readonly url: string;
  /** Stops its nodes (infra/cluster/stop.sh) and removes its data. */
  stop(): Promise<void>;
}

/**
 * Forms a cluster with infra/cluster/bootstrap.sh on a random base port (another try on another
 * port when that one is taken), its data in a temporary folder.
 */
export async function startCluster(): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cluster-'));
  const data = join(dir, 'data');
  for (let attempt = 0; ; attempt++) {
    const base = String(30_000 + Math.floor(Math.random() * 10_000));
    try {
      const { stdout } = await run(join(ROOT, 'infra/cluster/bootstrap.sh'), ['--base-port', base, '--data-dir', data], {
        timeout: 60_000,
      });
      const nodes = /REDIS_CLUSTER_NODES=(\S+)/.exec(stdout)?.[1];
      if (nodes === undefined) throw new Error(`no nodes in ${stdout}`);
      return {
        url: `redis-cluster://${nodes}`,
        stop: async () => {
          await run(join(ROOT, 'infra/cluster/stop.sh'), ['--base-port', base, '--data-dir', data], { timeout: 60_000 }).catch(() => {});
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}
