import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redactUrl } from '@tessera/config';
import { newRedisClient } from '@tessera/store';
import { expect, it } from 'vitest';
import { freePort, waitForPing } from '../support/redis-source.ts';

// A production cluster asks for a password: `redis-cluster://[user:password@]host:port,...` gives
// it to every node, as `redis://user:password@host` does to one. A one-node cluster (every slot on
// one master) with requirepass is enough to tell.
it('connects to a cluster that asks for a password, given in the URL (percent-encoded), and not without it', async () => {
  const password = 'p@ss:w/rd';
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cluster-auth-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--cluster-enabled',
    'yes',
    // a lone node never learns its own address otherwise, and names none in CLUSTER SLOTS
    '--cluster-announce-ip',
    '127.0.0.1',
    '--requirepass',
    password,
  ];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  try {
    await waitForPing(`redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`, 10_000);
    const admin = newRedisClient(`redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`);
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    for (let i = 0; i < 50 && !String(await admin.cluster('INFO')).includes('cluster_state:ok'); i++)
      await new Promise((r) => setTimeout(r, 100));
    admin.disconnect();

    const url = `redis-cluster://:${encodeURIComponent(password)}@127.0.0.1:${port}`;
    const cluster = newRedisClient(url);
    try {
      await cluster.set('{t}:k', 'v');
      expect(await cluster.get('{t}:k')).toBe('v');
    } finally {
      cluster.disconnect();
    }

    // without the password the client cannot even learn the slots
    const anonymous = newRedisClient(`redis-cluster://127.0.0.1:${port}`);
    const refused = await new Promise<string>((resolve) => anonymous.once('error', (err: Error) => resolve(err.message)));
    anonymous.disconnect();
    expect(refused).toMatch(/slots/);
    expect(redactUrl(url)).toBe(`redis-cluster://:***@127.0.0.1:${port}`);
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
