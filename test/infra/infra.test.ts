import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, loadSettings } from '@tessera/config';
import { INGRESS_NODE_FLAGS } from '@tessera/ingress/flags';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Checks of infra/: the cluster scripts and redis.conf run against the real redis-server of this
// machine; compose, Kubernetes and Dockerfiles are checked by reading them (no Docker engine, no
// Kubernetes API and no YAML parser here: the YAML checks are line-based, not parsing).

const ROOT = new URL('../../', import.meta.url).pathname;
const INFRA = join(ROOT, 'infra');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program; never throws: a non-zero exit (or a kill at the timeout) is in `code`. */
function sh(cmd: string, args: readonly string[], timeout = 10_000, env: NodeJS.ProcessEnv = process.env): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout, env }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

const cli = (port: number, ...args: string[]) => sh('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);

/** Fields of CLUSTER INFO / INFO output. */
function fields(text: string): Map<string, string> {
  return new Map(
    text
      .split(/\r?\n/)
      .map((l) => /^([a-z_]+):(.*)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1] as string, m[2] as string]),
  );
}

/** Whether this process can bind 127.0.0.1:port right now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A base port in 20000-40000 whose 3 node ports and 3 cluster-bus ports (+10000) are free. */
async function freeBase(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + Math.floor(Math.random() * (20_000 - 3));
    const ports = [0, 1, 2].flatMap((d) => [base + d, base + d + 10_000]);
    if ((await Promise.all(ports.map(canListen))).every(Boolean)) return base;
  }
  throw new Error('no free base port found');
}

const BOOTSTRAP = join(INFRA, 'cluster/bootstrap.sh');
const STOP = join(INFRA, 'cluster/stop.sh');

describe('infra/cluster: a local 3-master Redis Cluster from redis-server', () => {
  let dir = '';
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-infra-cluster-'));
  });

  afterAll(async () => {
    for (const c of cleanups) await c().catch(() => {});
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('the scripts are executable bash with set -euo pipefail', async () => {
    for (const f of [BOOTSTRAP, STOP]) {
      expect(statSync(f).mode & 0o111, `${f} is not executable`).not.toBe(0);
      const text = readFileSync(f, 'utf8');
      expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
      expect(text).toMatch(/^set -euo pipefail$/m);
      const syntax = await sh('bash', ['-n', f]);
      expect(syntax.stderr).toBe('');
      expect(syntax.code).toBe(0);
    }
  });

  it('bootstrap.sh forms the cluster (state ok, 16384 slots), again is a no-op, and stop.sh shuts it down', async () => {
    const started = Date.now();
    let base = 0;
    let dataDir = '';
    let boot: Result | undefined;
    // Another process may take a port between the check and the start: the script then refuses it
    // and stops what it started; try another base.
    for (let attempt = 0; attempt < 3; attempt++) {
      base = await freeBase();
      dataDir = join(dir, `data-${attempt}`);
      boot = await sh(BOOTSTRAP, ['--base-port', String(base), '--data-dir', dataDir], 45_000);
      if (boot.code === 0) break;
    }
    if (boot === undefined) throw new Error('bootstrap.sh did not run');
    expect(boot.code, boot.stderr).toBe(0);
    const ports = [base, base + 1, base + 2];
    const [b, d] = [base, dataDir];
    cleanups.push(() => sh(STOP, ['--base-port', String(b), '--data-dir', d], 30_000));

    // The only stdout line names the nodes.
    expect(boot.stdout).toBe(`REDIS_CLUSTER_NODES=${ports.map((p) => `127.0.0.1:${p}`).join(',')}\n`);

    const runIds: string[] = [];
    for (const p of ports) {
      const info = fields((await cli(p, 'cluster', 'info')).stdout);
      expect(info.get('cluster_state'), `node ${p}`).toBe('ok');
      expect(info.get('cluster_slots_assigned')).toBe('16384');
      expect(info.get('cluster_slots_ok')).toBe('16384');
      expect(info.get('cluster_known_nodes')).toBe('3');
      expect(info.get('cluster_size')).toBe('3');
      // Each node runs the production-relevant settings the script promises, on loopback only.
      expect((await cli(p, 'config', 'get', 'maxmemory-policy')).stdout).toBe('maxmemory-policy\nnoeviction\n');
      expect((await cli(p, 'config', 'get', 'appendonly')).stdout).toBe('appendonly\nyes\n');
      expect((await cli(p, 'config', 'get', 'bind')).stdout).toBe('bind\n127.0.0.1\n');
      expect((await cli(p, 'config', 'get', 'dir')).stdout).toBe(`dir\n${join(dataDir, String(p))}\n`);
      runIds.push(fields((await cli(p, 'info', 'server')).stdout).get('run_id') ?? '');
    }
    // Three distinct masters each own a share of the slots.
    const masters = (await cli(base, 'cluster', 'nodes')).stdout.split('\n').filter((l) => /\bmaster\b/.test(l));
    expect(masters).toHaveLength(3);
    // The cluster serves keys: redis-cli -c follows MOVED to the owner of each slot.
    for (const tag of ['users', 'a', 'b', 'c']) {
      expect((await sh('redis-cli', ['-c', '-p', String(base), 'set', `{${tag}}:k`, tag])).stdout).toBe('OK\n');
      expect((await sh('redis-cli', ['-c', '-p', String(base + 2), 'get', `{${tag}}:k`])).stdout).toBe(`${tag}\n`);
    }

    // Idempotent: a second run reuses the running nodes (same run ids) and prints the same line.
    const again = await sh(BOOTSTRAP, ['--base-port', String(base), '--data-dir', dataDir], 45_000);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(boot.stdout);
    for (const [i, p] of ports.entries()) {
      expect(fields((await cli(p, 'info', 'server')).stdout).get('run_id')).toBe(runIds[i]);
    }

    const stop = await sh(STOP, ['--base-port', String(base), '--data-dir', dataDir], 30_000);
    expect(stop.code, stop.stderr).toBe(0);
    for (const p of ports) {
      expect(await accepts(p), `port ${p} still open`).toBe(false);
      expect(await accepts(p + 10_000), `bus port ${p + 10_000} still open`).toBe(false);
    }
    expect(existsSync(dataDir)).toBe(false);
    // Stopping again is a no-op that succeeds.
    expect((await sh(STOP, ['--base-port', String(base), '--data-dir', dataDir], 30_000)).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 90_000);

  it('bootstrap.sh refuses a port held by another process and starts no node', async () => {
    const base = await freeBase();
    // Another program on the second node's port (it answers like an HTTP server, then hangs up).
    const held = new Set<Socket>();
    const holder: Server = createServer((s) => {
      held.add(s);
      s.on('error', () => {});
      s.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((resolve) => holder.listen(base + 1, '127.0.0.1', resolve));
    try {
      const dataDir = join(dir, 'refused');
      const r = await sh(BOOTSTRAP, ['--base-port', String(base), '--data-dir', dataDir], 30_000);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`port ${base + 1} .*in use`));
      expect(r.stdout).toBe('');
      expect(await accepts(base)).toBe(false);
      expect(await accepts(base + 2)).toBe(false);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      for (const s of held) s.destroy();
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('stop.sh never deletes a data dir that bootstrap.sh did not create', async () => {
    const base = await freeBase();
    const dataDir = join(dir, 'foreign');
    mkdirSync(join(dataDir, String(base)), { recursive: true });
    writeFileSync(join(dataDir, String(base), 'keep.txt'), 'precious');
    const r = await sh(STOP, ['--base-port', String(base), '--data-dir', dataDir], 30_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no marker/);
    expect(readFileSync(join(dataDir, String(base), 'keep.txt'), 'utf8')).toBe('precious');
  });
});

describe('infra/redis/redis.conf', () => {
  const conf = read('infra/redis/redis.conf');
  let dir = '';
  const children: ChildProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-infra-redis-'));
  });

  afterAll(async () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((resolve) => c.once('exit', resolve));
        c.kill('SIGTERM');
        await exited;
      }
    }
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  /** redis-server with the committed file plus overrides; resolves once the port answers. */
  async function start(name: string, overrides: string[]): Promise<number> {
    const port = await freeBase();
    const data = join(dir, name);
    mkdirSync(data);
    const child = spawn('redis-server', [join(INFRA, 'redis/redis.conf'), '--port', String(port), '--dir', data, ...overrides], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let log = '';
    child.stdout?.on('data', (c: Buffer) => {
      log += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      log += c.toString();
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await cli(port, 'ping');
      if (/PONG|NOAUTH/.test(r.stdout)) return port;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start:\n${log}`);
      await sleep(50);
    }
  }

  it('is accepted by redis-server 7 and runs with AOF everysec, noeviction, no RDB, protected mode and keepalive', async () => {
    const auth = join(dir, 'auth.conf');
    writeFileSync(auth, 'requirepass test-only-password\n');
    // Exactly how compose and Kubernetes start it: the password comes from an included secret file.
    const port = await start('main', ['--bind', '127.0.0.1', '--include', auth]);
    expect((await cli(port, 'ping')).stdout).toMatch(/NOAUTH/);
    const env = { ...process.env, REDISCLI_AUTH: 'test-only-password' };
    const get = async (key: string) => (await sh('redis-cli', ['-p', String(port), 'config', 'get', key], 10_000, env)).stdout;
    expect(await get('maxmemory-policy')).toBe('maxmemory-policy\nnoeviction\n');
    expect(await get('appendonly')).toBe('appendonly\nyes\n');
    expect(await get('appendfsync')).toBe('appendfsync\neverysec\n');
    expect(await get('save')).toBe('save\n\n');
    expect(await get('protected-mode')).toBe('protected-mode\nyes\n');
    expect(await get('tcp-keepalive')).toBe('tcp-keepalive\n60\n');
    expect(await get('timeout')).toBe('timeout\n0\n');
    expect(await get('maxmemory')).toBe(`maxmemory\n${768 * 1024 * 1024}\n`);
    // A user record (with its ~97-byte argon2id hash) stays a compact listpack, as in npm start's Redis.
    expect(await get('hash-max-listpack-value')).toBe('hash-max-listpack-value\n128\n');
    const { EMBEDDED_REDIS_TUNING } = await import('@tessera/cli');
    for (const key of ['maxmemory-policy', 'appendonly', 'appendfsync', 'hash-max-listpack-value']) {
      const at = EMBEDDED_REDIS_TUNING.indexOf(`--${key}`);
      expect(await get(key)).toBe(`${key}\n${EMBEDDED_REDIS_TUNING[at + 1]}\n`);
    }
    // The AOF is really written.
    expect(readdirSync(join(dir, 'main'))).toContain('appendonlydir');
  });

  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;

  it.skipIf(external === undefined)('without the password include, protected mode refuses clients that are not on loopback', async () => {
    const port = await start('open', ['--bind', '127.0.0.1', String(external)]);
    expect((await cli(port, 'ping')).stdout).toBe('PONG\n');
    const remote = await sh('redis-cli', ['-h', String(external), '-p', String(port), 'ping']);
    expect(`${remote.stdout}${remote.stderr}`).toMatch(/DENIED/);
  });

  it('explains noeviction and holds no password', () => {
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
    expect(conf).toMatch(/BullMQ requires noeviction/);
    expect(conf).toMatch(/silently/);
    expect(conf).not.toMatch(/^\s*requirepass\s/m);
    expect(conf).not.toMatch(/^\s*(masterauth|user)\s/m);
    // Every directive is preceded by a comment line (or another directive of the same block).
    const lines = conf.split('\n');
    for (const [i, line] of lines.entries()) {
      if (/^[a-z]/.test(line)) {
        expect(/^(#|[a-z])/.test(lines[i - 1] ?? ''), `no comment above: ${line}`).toBe(true);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// YAML: line-based checks only. No YAML parser is a dependency of this repository, so these tests
// do NOT parse YAML; they check the lines that matter (a `yaml` devDependency would allow parsing).

interface Doc {
  readonly file: string;
  readonly text: string;
  /** Top-level `key: value` pairs (value '' for a key that opens a block). */
  readonly top: Map<string, string>;
}

function yamlDocs(file: string): Doc[] {
  return read(file)
    .split(/^---[ \t]*$/m)
    .map((text) => ({
      file,
      text,
      top: new Map(
        [...text.matchAll(/^([A-Za-z][\w-]*):[ \t]*(.*)$/gm)].map((m) => [m[1] as string, (m[2] as string).replace(/\s+#.*$/, '').trim()]),
      ),
    }))
    .filter((d) => d.top.size > 0);
}

/** The value of `key:` at exactly `indent` spaces inside the block opened by top-level `block:`. */
function inBlock(doc: Doc, block: string, indent: number, key: string): string | undefined {
  const lines = doc.text.split('\n');
  const start = lines.indexOf(`${block}:`);
  if (start < 0) return undefined;
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line)) break;
    const m = new RegExp(`^ {${indent}}${key}:[ \\t]*(.*)$`).exec(line);
    if (m !== null) return (m[1] as string).replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

const K8S_FILES = readdirSync(join(INFRA, 'k8s'))
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => `infra/k8s/${f}`);
const k8s = K8S_FILES.flatMap(yamlDocs);
const byKind = (kind: string) => k8s.filter((d) => d.top.get('kind') === kind);
const named = (kind: string, name: string) => {
  const doc = byKind(kind).find((d) => inBlock(d, 'metadata', 2, 'name') === name);
  if (doc === undefined) throw new Error(`no ${kind} ${name} in infra/k8s`);
  return doc;
};

describe('infra/k8s manifests (line-based checks, not a YAML parse)', () => {
  it('use spaces only and give every document apiVersion, kind and metadata.name; all but the Namespace in namespace tessera', () => {
    expect(K8S_FILES.length).toBeGreaterThanOrEqual(5);
    for (const f of K8S_FILES) expect(read(f), `${f} has a tab`).not.toMatch(/\t/);
    for (const d of k8s) {
      expect(d.top.get('apiVersion'), d.text).toMatch(/^([a-z0-9.-]+\/)?v\d+((alpha|beta)\d+)?$/);
      expect(d.top.get('kind'), d.text).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(d.top.has('metadata'), d.text).toBe(true);
      expect(inBlock(d, 'metadata', 2, 'name'), `${d.file}: ${d.top.get('kind')} without metadata.name`).toMatch(
        /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
      );
      if (d.top.get('kind') !== 'Namespace') expect(inBlock(d, 'metadata', 2, 'namespace')).toBe('tessera');
    }
    const kinds = k8s.map((d) => d.top.get('kind'));
    for (const k of ['Namespace', 'ConfigMap', 'Secret', 'Deployment', 'Service', 'PodDisruptionBudget', 'StatefulSet']) {
      expect(kinds).toContain(k);
    }
    expect(named('Namespace', 'tessera').top.get('apiVersion')).toBe('v1');
    expect(named('PodDisruptionBudget', 'tessera-ingress').top.get('apiVersion')).toBe('policy/v1');
  });

  it('ingress: 2 replicas, readiness on /readyz, liveness on /healthz, resources, non-root read-only containers', () => {
    const ingress = named('Deployment', 'tessera-ingress');
    expect(ingress.top.get('apiVersion')).toBe('apps/v1');
    expect(ingress.text).toMatch(/^ {2}replicas: 2$/m);
    expect(ingress.text).toMatch(/readinessProbe:\n\s+httpGet:\n\s+path: \/readyz\n\s+port: http\n/);
    expect(ingress.text).toMatch(/livenessProbe:\n\s+httpGet:\n\s+path: \/healthz\n\s+port: http\n/);
    expect(ingress.text).toMatch(/- name: http\n\s+containerPort: 8080\n/);
    expect(ingress.text).toMatch(/image: tessera\/ingress:/);
    const worker = named('Deployment', 'tessera-worker');
    expect(worker.text).toMatch(/^ {2}replicas: [1-9]\d*$/m);
    expect(worker.text).toMatch(/livenessProbe:\n\s+httpGet:\n\s+path: \/healthz\n\s+port: ops\n/);
    expect(worker.text).toMatch(/- name: ops\n\s+containerPort: 8081\n/);
    for (const d of [ingress, worker]) {
      expect(d.text).toMatch(/runAsNonRoot: true/);
      expect(d.text).toMatch(/runAsUser: 1000\n/);
      expect(d.text).toMatch(/readOnlyRootFilesystem: true/);
      expect(d.text).toMatch(/allowPrivilegeEscalation: false/);
      expect(d.text).toMatch(/drop: \["ALL"\]/);
      expect(d.text).toMatch(
        /resources:\n(?:\s+#.*\n)*\s+requests:\n\s+cpu: \S+\n\s+memory: \S+\n\s+limits:\n\s+cpu: \S+\n\s+memory: \S+\n/,
      );
      // Service links would inject e.g. TESSERA_PORT=tcp://... from a Service named "tessera".
      expect(d.text).toMatch(/enableServiceLinks: false/);
    }
  });

  it('the Service and the PodDisruptionBudget select the ingress pods; the Service targets the http port', () => {
    const selector = 'app.kubernetes.io/name: tessera-ingress';
    const svc = named('Service', 'tessera-ingress');
    expect(svc.text).toMatch(new RegExp(`selector:\\n\\s+${selector}\\n`));
    expect(svc.text).toMatch(/targetPort: http\n/);
    const pdb = named('PodDisruptionBudget', 'tessera-ingress');
    expect(pdb.text).toMatch(/minAvailable: 1\n/);
    expect(pdb.text).toMatch(new RegExp(`matchLabels:\\n\\s+${selector}\\n`));
    expect(named('Deployment', 'tessera-ingress').text).toMatch(new RegExp(`template:\\n\\s+metadata:\\n\\s+labels:\\n\\s+${selector}\\n`));
  });

  it('every Secret and ConfigMap the workloads reference exists, with the referenced keys', () => {
    const refs = k8s
      .filter((d) => ['Deployment', 'StatefulSet'].includes(d.top.get('kind') ?? ''))
      .flatMap((d) => [
        ...[...d.text.matchAll(/secretKeyRef:\n\s+name: (\S+)\n\s+key: (\S+)\n/g)].map((m) => ['Secret', m[1], m[2]]),
        ...[...d.text.matchAll(/configMapRef:\n\s+name: (\S+)\n/g)].map((m) => ['ConfigMap', m[1], undefined]),
        ...[...d.text.matchAll(/secretName: (\S+)\n/g)].map((m) => ['Secret', m[1], undefined]),
        ...[...d.text.matchAll(/configMap:\n\s+name: (\S+)\n/g)].map((m) => ['ConfigMap', m[1], undefined]),
      ]);
    expect(refs.length).toBeGreaterThanOrEqual(6);
    for (const [kind, name, key] of refs) {
      const doc = named(kind as string, name as string);
      if (key !== undefined) expect(doc.text, `${kind} ${name} has no key ${key}`).toMatch(new RegExp(`^ {2}${key}: `, 'm'));
    }
  });

  it('the ConfigMap settings are accepted by the real settings loader (ports 8080 and 8081)', () => {
    const cm = named('ConfigMap', 'tessera-config');
    const env: Record<string, string> = {};
    for (const m of cm.text.matchAll(/^ {2}([A-Z][A-Z0-9_]*): (.*)$/gm)) env[m[1] as string] = (m[2] as string).replace(/^"(.*)"$/, '$1');
    expect(Object.keys(env)).toContain('TESSERA_PORT');
    const settings = loadSettings({ ...env, REDIS_URL: 'redis://:pw@redis:6379/0', TESSERA_JWT_SIGNING_KEY: 'k'.repeat(32) });
    expect(settings.port).toBe(8080);
    expect(settings.opsPort).toBe(8081);
    expect(settings.audit.dir).toBe('/var/lib/tessera/audit');
  });

  it('the placeholder Secret fails closed: its JWT key is refused by the settings loader; it is kept out of `apply -l`', () => {
    const secret = named('Secret', 'tessera-secrets');
    const key = /^ {2}TESSERA_JWT_SIGNING_KEY: "(.*)"$/m.exec(secret.text)?.[1];
    const url = /^ {2}REDIS_URL: "(.*)"$/m.exec(secret.text)?.[1];
    expect(key).toBeDefined();
    expect(() => loadSettings({ REDIS_URL: url, TESSERA_JWT_SIGNING_KEY: key })).toThrow(ConfigError);
    for (const s of byKind('Secret')) expect(s.text).toMatch(/tessera\.dev\/placeholder: "true"/);
  });

  it('the placeholder Redis password include makes redis-server refuse to start', async () => {
    const placeholder = /^ {2}redis-auth\.conf: "(.*)"$/m.exec(named('Secret', 'tessera-redis-auth').text)?.[1];
    expect(placeholder).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'tessera-infra-secret-'));
    try {
      writeFileSync(join(dir, 'redis-auth.conf'), `${placeholder}\n`);
      const port = await freeBase();
      const r = await sh(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--include', join(dir, 'redis-auth.conf')],
        5_000,
      );
      expect(`${r.stdout}${r.stderr}`).toMatch(/Bad directive/);
      expect(r.code).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("Redis's ConfigMap carries infra/redis/redis.conf unchanged", () => {
    const cm = named('ConfigMap', 'redis-config');
    const lines = cm.text.split('\n');
    const start = lines.indexOf('  redis.conf: |');
    expect(start).toBeGreaterThan(0);
    const body: string[] = [];
    for (const line of lines.slice(start + 1)) {
      if (line !== '' && !line.startsWith('    ')) break;
      body.push(line.slice(4));
    }
    expect(`${body.join('\n').trimEnd()}\n`).toBe(read('infra/redis/redis.conf'));
    const sts = named('StatefulSet', 'redis');
    expect(sts.text).toMatch(/"--include", "\/run\/secrets\/redis-auth\.conf"/);
    expect(sts.text).toMatch(/runAsNonRoot: true/);
    expect(sts.text).toMatch(/volumeClaimTemplates:/);
  });
});

describe('infra/compose.yaml (line-based checks, not a YAML parse)', () => {
  const compose = read('infra/compose.yaml');
  const lines = compose.split('\n');
  /** The lines of one service (2-space key under `services:`). */
  const service = (name: string): string => {
    const start = lines.indexOf(`  ${name}:`);
    if (start < 0 || lines.indexOf('services:') > start) throw new Error(`no service ${name}`);
    const end = lines.findIndex((l, i) => i > start && /^ {0,2}\S/.test(l));
    return lines.slice(start, end < 0 ? undefined : end).join('\n');
  };

  it('names the three services, with no tabs', () => {
    expect(compose).not.toMatch(/\t/);
    expect(compose).toMatch(/^services:$/m);
    const names = [...compose.slice(compose.indexOf('\nservices:\n')).matchAll(/^ {2}([a-z][\w-]*):$/gm)].map((m) => m[1]);
    expect(names.slice(0, 3)).toEqual(['redis', 'ingress', 'worker']);
  });

  it('runs Redis with infra/redis/redis.conf and its password from a secret', () => {
    const redis = service('redis');
    expect(redis).toMatch(/- \.\/redis\/redis\.conf:\/usr\/local\/etc\/redis\/redis\.conf:ro/);
    expect(redis).toMatch(
      /command: \["redis-server", "\/usr\/local\/etc\/redis\/redis\.conf", "--include", "\/run\/secrets\/redis-auth\.conf"\]/,
    );
    expect(redis).toMatch(/healthcheck:/);
    expect(existsSync(join(INFRA, 'redis/redis.conf'))).toBe(true);
    expect(compose).toMatch(/^secrets:\n {2}redis-auth:\n(?: {4}#.*\n)* {4}file: \.\/secrets\/redis-auth\.conf$/m);
  });

  it('builds ingress and worker from the container files, with env, health checks and depends_on healthy Redis', () => {
    const ingress = service('ingress');
    const worker = service('worker');
    expect(ingress).toMatch(/context: \.\.\n\s+dockerfile: infra\/docker\/ingress\.Dockerfile\n/);
    expect(worker).toMatch(/context: \.\.\n\s+dockerfile: infra\/docker\/worker\.Dockerfile\n/);
    for (const f of ['ingress', 'worker']) expect(existsSync(join(INFRA, `docker/${f}.Dockerfile`))).toBe(true);
    for (const s of [ingress, worker]) {
      expect(s).toMatch(/env_file: tessera\.env\n/);
      expect(s).toMatch(/depends_on:\n\s+redis:\n\s+condition: service_healthy\n/);
      expect(s).toMatch(/healthcheck:\n/);
    }
    expect(ingress).toMatch(/TESSERA_PORT: "8080"/);
    expect(ingress).toMatch(/"8080:8080"/);
    expect(worker).toMatch(/TESSERA_OPS_PORT: "8081"/);
    // The env file's example names the two secrets the services need.
    const example = read('infra/tessera.env.example');
    expect(example).toMatch(/^REDIS_URL=redis:\/\/:[^@\s]+@redis:6379\/0$/m);
    expect(example).toMatch(/^TESSERA_JWT_SIGNING_KEY=/m);
    expect(read('infra/.gitignore')).toMatch(/^\/tessera\.env$/m);
  });

  // The health checks run in the slim image with Node only: run them here against a stand-in server.
  const healthScript = (svc: string): string => {
    const m = /healthcheck:\n(?:\s+#.*\n)*\s+test:\n\s+- CMD\n\s+- node\n\s+- -e\n\s+- "([^"\\]*)"\n/.exec(service(svc));
    if (m === null) throw new Error(`no node health check in ${svc}`);
    return m[1] as string;
  };

  it('the ingress health check passes only when /healthz and /readyz answer 200; the worker one checks /healthz', async () => {
    const ingress = healthScript('ingress');
    const worker = healthScript('worker');
    expect(ingress).toContain("'/healthz','/readyz'");
    expect(ingress).toContain('http://127.0.0.1:8080');
    expect(worker).toContain('http://127.0.0.1:8081/healthz');
    let ready = true;
    const srv = await standIn((path) => (path === '/healthz' || (path === '/readyz' && ready) ? 200 : 503));
    try {
      const port = String(address(srv));
      const runCheck = (script: string, defaultPort: string) =>
        sh(process.execPath, ['-e', script.replace(`127.0.0.1:${defaultPort}`, `127.0.0.1:${port}`)]);
      expect((await runCheck(ingress, '8080')).code).toBe(0);
      expect((await runCheck(worker, '8081')).code).toBe(0);
      ready = false;
      expect((await runCheck(ingress, '8080')).code).toBe(1);
      expect((await runCheck(worker, '8081')).code).toBe(0);
    } finally {
      await new Promise((resolve) => srv.close(resolve));
    }
    // Nothing listening: unhealthy, not a hang or a crash with another code.
    expect((await sh(process.execPath, ['-e', worker.replace('127.0.0.1:8081', `127.0.0.1:${await freeBase()}`)])).code).toBe(1);
  });
});

function standIn(status: (path: string) => number): Promise<HttpServer> {
  return new Promise((resolve) => {
    const srv = createHttpServer((req, res) => {
      res.writeHead(status(req.url ?? '/'));
      res.end();
    });
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

function address(srv: HttpServer): number {
  const a = srv.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  return a.port;
}

// ---------------------------------------------------------------------------------------------
// Dockerfiles: a small parser of the instruction syntax (continuations, comments), then checks.

interface Instruction {
  readonly op: string;
  readonly args: string;
}

function instructions(file: string): Instruction[] {
  const out: Instruction[] = [];
  let current = '';
  for (const raw of read(file).split('\n')) {
    if (/^\s*#/.test(raw)) continue; // comments (and parser directives), also inside continuations
    if (raw.endsWith('\\')) {
      current += `${raw.slice(0, -1)} `;
      continue;
    }
    current += raw;
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(current);
    if (m !== null) out.push({ op: (m[1] as string).toUpperCase(), args: (m[2] as string).trim() });
    current = '';
  }
  return out;
}

/** Stages: the instructions after each FROM, with the FROM's image (ARG defaults resolved) and name. */
function stages(ins: Instruction[]) {
  const args = new Map<string, string>();
  const result: { image: string; name: string | undefined; body: Instruction[] }[] = [];
  for (const i of ins) {
    if (i.op === 'ARG' && result.length === 0) {
      const [k, v] = i.args.split('=');
      if (k !== undefined && v !== undefined) args.set(k, v);
    } else if (i.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args);
      if (m === null) throw new Error(`bad FROM ${i.args}`);
      const image = (m[1] as string).replace(/^\$\{(\w+)\}$|^\$(\w+)$/, (_, a, b) => args.get(a ?? b) ?? '');
      result.push({ image, name: m[2], body: [] });
    } else {
      result.at(-1)?.body.push(i);
    }
  }
  return result;
}

const workspaces = ['packages', 'services'].flatMap((top) =>
  readdirSync(join(ROOT, top))
    .filter((d) => existsSync(join(ROOT, top, d, 'package.json')))
    .map((d) => `${top}/${d}`),
);

describe.each([
  { service: 'ingress', port: 'TESSERA_PORT', portNumber: 8080 },
  { service: 'worker', port: 'TESSERA_OPS_PORT', portNumber: 8081 },
])('infra/docker/$service.Dockerfile', ({ service, port, portNumber }) => {
  const file = `infra/docker/${service}.Dockerfile`;
  const text = read(file);
  const ins = instructions(file);
  const st = stages(ins);
  const final = st.at(-1);

  it('is multi-stage from node:20-bookworm-slim (glibc, explained), never alpine', () => {
    expect(text).toMatch(/^FROM \S+ AS build$/m);
    expect(st.length).toBeGreaterThanOrEqual(2);
    expect(st[0]?.name).toBe('build');
    for (const s of st) expect(s.image).toBe('node:20-bookworm-slim');
    expect(ins.map((i) => i.args).join('\n')).not.toMatch(/alpine|musl/i);
    expect(text).toMatch(/#.*glibc/);
    expect(text).toMatch(/#.*(Alpine|musl)/);
  });

  it('installs and builds in the build stage, with every workspace manifest copied for npm ci', () => {
    const build = st[0]?.body ?? [];
    const runs = build.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm (ci|install)\b/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm run build\b/.test(r))).toBe(true);
    const copied = build.filter((i) => i.op === 'COPY').map((i) => i.args);
    for (const ws of workspaces) expect(copied, `${ws}/package.json not copied`).toContain(`${ws}/package.json ${ws}/`);
    // Every COPY source from the build context exists in the repository.
    for (const i of ins.filter((x) => x.op === 'COPY' && !x.args.startsWith('--from'))) {
      const sources = i.args.split(/\s+/).slice(0, -1);
      for (const s of sources) expect(existsSync(join(ROOT, s)), `${file}: COPY ${s} does not exist`).toBe(true);
    }
  });

  it('ships only production files in the final stage: no build, dist of the service and its @tessera dependencies', () => {
    const body = final?.body ?? [];
    expect(
      body
        .filter((i) => i.op === 'RUN')
        .map((i) => i.args)
        .join('\n'),
    ).not.toMatch(/npm (run build|ci|install)/);
    const copies = body.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies.every((c) => c.startsWith('--from='))).toBe(true);
    expect(copies).toContain(`--from=build /src/services/${service}/dist services/${service}/dist`);
    const pkg = JSON.parse(read(`services/${service}/package.json`)) as { dependencies: Record<string, string> };
    const internal = Object.keys(pkg.dependencies).filter((d) => d.startsWith('@tessera/'));
    expect(internal.length).toBeGreaterThan(0);
    for (const dep of internal) {
      const name = dep.slice('@tessera/'.length);
      expect(copies, `${dep} dist missing`).toContain(`--from=build /src/packages/${name}/dist packages/${name}/dist`);
      expect(copies, `${dep} package.json missing`).toContain(`--from=build /src/packages/${name}/package.json packages/${name}/`);
    }
    // Production dependencies come from a stage that installed with --omit=dev.
    const nm = copies.find((c) => c.endsWith(' ./node_modules'));
    const from = /^--from=(\S+)/.exec(nm ?? '')?.[1];
    const depsStage = st.find((s) => s.name === from);
    expect(depsStage?.body.some((i) => i.op === 'RUN' && /npm ci --omit=dev/.test(i.args))).toBe(true);
  });

  it('runs as a non-root user with the right CMD', () => {
    const body = final?.body ?? [];
    const user = body.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    const userIndex = body.findLastIndex((i) => i.op === 'USER');
    const cmdIndex = body.findLastIndex((i) => i.op === 'CMD');
    expect(cmdIndex).toBeGreaterThan(userIndex);
    const flags = service === 'ingress' ? INGRESS_NODE_FLAGS : [];
    // the ingress starts through its CommonJS entry, which sizes libuv's pool before Node's ESM loader starts it
    const entry = service === 'ingress' ? 'services/ingress/bin/ingress.cjs' : `services/${service}/dist/main.js`;
    expect(JSON.parse(body[cmdIndex]?.args ?? 'null')).toEqual(['node', ...flags, entry]);
    expect(existsSync(join(ROOT, `services/${service}/src/main.ts`))).toBe(true);
  });

  it('has a context filter that keeps every COPY source and drops node_modules and dist', () => {
    const ignore = read(`${file}.dockerignore`)
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    expect(ignore).toContain('**/node_modules');
    expect(ignore).toContain('**/dist');
    for (const i of ins.filter((x) => x.op === 'COPY' && !x.args.startsWith('--from'))) {
      for (const s of i.args.split(/\s+/).slice(0, -1)) {
        const top = s.split('/')[0] as string;
        expect(ignore.some((l) => l === `!${top}` || l === `!${top}/`)).toBe(true);
      }
    }
  });

  it('its HEALTHCHECK works with Node alone and follows the port setting', async () => {
    const hc = ins.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
    const cmd = JSON.parse(hc.slice(hc.indexOf('CMD') + 3).trim()) as string[];
    expect(cmd.slice(0, 2)).toEqual(['node', '-e']);
    expect(cmd[2]).toContain(String(portNumber));
    const srv = await standIn((path) => (path === '/healthz' ? 200 : 404));
    try {
      const ok = await sh(process.execPath, cmd.slice(1), 10_000, { ...process.env, [port]: String(address(srv)) });
      expect(ok.code).toBe(0);
    } finally {
      await new Promise((resolve) => srv.close(resolve));
    }
    const down = await sh(process.execPath, cmd.slice(1), 10_000, { ...process.env, [port]: String(await freeBase()) });
    expect(down.code).toBe(1);
  });
});

describe('infra YAML parses (the yaml package)', () => {
  it('every Kubernetes document parses, with apiVersion, kind and metadata.name', async () => {
    const { parseAllDocuments } = await import('yaml');
    let count = 0;
    for (const file of K8S_FILES) {
      for (const doc of parseAllDocuments(read(file))) {
        expect(doc.errors, `${file}: ${doc.errors.map((e) => e.message).join('; ')}`).toStrictEqual([]);
        const value = doc.toJS() as { apiVersion?: string; kind?: string; metadata?: { name?: string } } | null;
        if (value === null) continue;
        count++;
        expect(typeof value.apiVersion, file).toBe('string');
        expect(typeof value.kind, file).toBe('string');
        expect(typeof value.metadata?.name, file).toBe('string');
        if (value.kind === 'Deployment') {
          const container = (
            value as {
              spec: {
                template: {
                  spec: {
                    containers: { readinessProbe?: { httpGet?: { path?: string } }; livenessProbe?: { httpGet?: { path?: string } } }[];
                  };
                };
              };
            }
          ).spec.template.spec.containers[0];
          expect(container?.livenessProbe?.httpGet?.path, file).toBe('/healthz');
        }
      }
    }
    expect(count).toBeGreaterThanOrEqual(8);
  });

  it('the compose file parses and defines redis, ingress and worker with health checks', async () => {
    const { parse } = await import('yaml');
    const compose = parse(read('infra/compose.yaml')) as { services: Record<string, { healthcheck?: unknown }> };
    expect(Object.keys(compose.services).sort()).toStrictEqual(['ingress', 'redis', 'worker']);
    for (const name of ['redis', 'ingress', 'worker']) expect(compose.services[name]?.healthcheck, name).toBeDefined();
  });
});
