import { aroundAll, describe, expect, it } from 'vitest';
import { type Reply, rawRequest } from '../support/http.ts';
import { type IngressProcess, spawnIngress } from '../support/processes.ts';
import { freePort } from '../support/redis-source.ts';
import { serviceEnv, testPrefix } from '../support/stack.ts';

/** Which process answered: the request id is `<process id>-<counter>`. */
const processOf = (a: Reply): string => (a.headers.get('x-request-id') ?? '').split('-')[0] ?? '';

/** The figure of one series in a Prometheus text, or undefined when it is not there. */
const figure = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

const MALFORMED = 'tessera_requests_total{route="/api/token/",dialect="simplejwt",outcome="malformed",status="400"}';

// Node only: sibling processes sharing one listening socket are the Node ingress's
// (services/ingress/src/main.ts); the Deno ingress is one process without /metrics.
// TESSERA_INGRESS_PROCESSES=2: /metrics answers for the whole ingress, whichever process takes the
// scrape (services/ingress/src/process-metrics.ts).
describe('/metrics of several ingress processes', () => {
  let ingress: IngressProcess;
  let pids: number[];

  aroundAll(async (runSuite) => {
    const port = await freePort();
    await using started = await spawnIngress(serviceEnv(testPrefix(), { TESSERA_PORT: String(port), TESSERA_INGRESS_PROCESSES: '2' }));
    ingress = started;
    pids = ingress.lines.filter((l) => l.includes('"ingress listening"')).map((l) => (JSON.parse(l) as { pid: number }).pid);
    expect(pids).toHaveLength(2);
    await runSuite();
  });

  /**
   * At least `least` requests, each on a connection of its own, 10 at a time, and more until both
   * processes have taken some (the kernel hands a connection to whichever process accepts first: a
   * busy machine can give one process a long run of them); at most `most`.
   */
  const fresh = async (least: number, most: number, path: string, method = 'GET', body?: string): Promise<Reply[]> => {
    const replies: Reply[] = [];
    const each = () => {
      const by = new Map<string, number>();
      for (const r of replies) by.set(processOf(r), (by.get(processOf(r)) ?? 0) + 1);
      return by.size < 2 ? 0 : Math.min(...by.values());
    };
    while (replies.length < most && (replies.length < least || each() < 1)) {
      const batch = Array.from({ length: 10 }, () =>
        rawRequest(ingress.base, method, path, body, body === undefined ? {} : { 'content-type': 'application/json' }),
      );
      replies.push(...(await Promise.all(batch)));
    }
    return replies;
  };

  it('adds up every process: each scrape, through either process, counts all N requests', async () => {
    const sent = await fresh(60, 600, '/api/token/', 'POST', '{}');
    const N = sent.length;
    expect(sent.map((r) => r.status)).toStrictEqual(Array(N).fill(400));
    expect(new Set(sent.map(processOf)).size, 'both processes took some of the requests').toBe(2);
    const scrapes = await fresh(30, 300, '/metrics');
    expect(new Set(scrapes.map(processOf)).size, 'both processes took some of the scrapes').toBe(2);
    for (const s of scrapes) {
      expect(s.status).toBe(200);
      expect(figure(s.text, MALFORMED)).toBe(N);
      expect(figure(s.text, 'tessera_ingress_processes{metrics="answered"}')).toBe(2);
      expect(figure(s.text, 'tessera_ingress_processes{metrics="missing"}')).toBe(0);
      // the process metrics stay one series per process
      for (const p of ['0', '1']) {
        expect(figure(s.text, `tessera_ingress_process_resident_memory_bytes{process="${p}"}`)).toBeGreaterThan(0);
        expect(figure(s.text, `tessera_ingress_process_start_time_seconds{process="${p}"}`)).toBeGreaterThan(0);
      }
      expect(s.text).toContain('# TYPE tessera_request_duration_seconds histogram');
      expect(figure(s.text, 'tessera_request_duration_seconds_count{route="/api/token/",outcome="malformed"}')).toBe(N);
    }
  }, 30_000);

  /** A scrape while process `pid` is stopped (SIGSTOP: alive, its channel open, answering nothing), and how long it took. */
  const scrapeWhileStopped = async (pid: number): Promise<{ readonly reply: Reply; readonly ms: number }> => {
    process.kill(pid, 'SIGSTOP');
    try {
      // only the other process accepts meanwhile
      const started = Date.now();
      const reply = await rawRequest(ingress.base, 'GET', '/metrics');
      return { reply, ms: Date.now() - started };
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  };

  it('leaves out a process that does not answer within a second, and says so', async () => {
    const before = figure((await rawRequest(ingress.base, 'GET', '/metrics')).text, MALFORMED) as number;
    const { reply: s, ms } = await scrapeWhileStopped(pids.find((p) => p !== ingress.child.pid) as number);
    expect(ms).toBeLessThan(3000);
    expect(s.status).toBe(200);
    expect(s.text).toContain('# 1 of 2 ingress processes did not answer within 1000 ms: their figures are not in these');
    expect(figure(s.text, 'tessera_ingress_processes{metrics="answered"}')).toBe(1);
    expect(figure(s.text, 'tessera_ingress_processes{metrics="missing"}')).toBe(1);
    expect(figure(s.text, MALFORMED)).toBeLessThan(before);
  }, 20_000);

  it('answers 503 through a sibling when the first process does not answer', async () => {
    const { reply: s, ms } = await scrapeWhileStopped(ingress.child.pid as number);
    expect(ms).toBeLessThan(4000);
    expect(s.status).toBe(503);
    expect(s.text).toBe('# the first ingress process did not answer within 2000 ms\n');
  }, 20_000);
});
