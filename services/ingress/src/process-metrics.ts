import type { ChildProcess } from 'node:child_process';
import { AggregatorRegistry, Gauge, type Registry } from 'prom-client';

/** What GET /metrics answers. */
export interface Exposition {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/**
 * Where /metrics gets its figures: given this process's registry (createServer calls it once),
 * the function that answers each scrape.
 */
export type MetricsSource = (local: Registry) => () => Promise<Exposition>;

/** One ingress process: its own registry. */
export const ownMetrics: MetricsSource = (local) => async () => ({
  status: 200,
  contentType: local.contentType,
  text: await local.metrics(),
});

/** How long the first process waits for a sibling's figures; a sibling that is later is left out. */
export const SIBLING_WAIT_MS = 1000;

// The IPC messages of /metrics between the ingress processes (main.ts's channel, JSON).
/** first → sibling: your registry, as JSON */
const COLLECT = 'tessera:metrics:collect';
/** sibling → first: `metrics`, its registry as JSON */
const COLLECTED = 'tessera:metrics:collected';
/** sibling → first: the whole ingress's exposition, for a scrape that came to the sibling */
const GATHER = 'tessera:metrics:gather';
/** first → sibling: `text`, that exposition */
const GATHERED = 'tessera:metrics:gathered';

interface MetricsMessage {
  readonly type: string;
  readonly id: number;
  readonly metrics?: unknown;
  readonly text?: string;
}

function asMessage(m: unknown): MetricsMessage | null {
  const o = m as Partial<MetricsMessage> | null;
  return typeof o === 'object' && o !== null && typeof o.type === 'string' && typeof o.id === 'number' ? (o as MetricsMessage) : null;
}

/** Sends over an IPC channel that may be closing (its process ending): a failed send is `failed()`. */
function send(to: Pick<NodeJS.Process | ChildProcess, 'send' | 'connected'>, message: MetricsMessage, failed = () => {}): void {
  if (!to.connected || to.send === undefined) {
    failed();
    return;
  }
  try {
    to.send(message, undefined, undefined, (err: Error | null) => {
      if (err !== null) failed();
    });
  } catch {
    failed();
  }
}

/** Replies by id: each waits at most `ms`, then gets `undefined`. */
class Replies<T> {
  private next = 0;
  private readonly waiting = new Map<number, (value: T | undefined) => void>();

  /** A new id, and the reply to it (undefined: none within `ms`, or `ask` failed). */
  expect(ms: number, ask: (id: number, failed: () => void) => void): Promise<T | undefined> {
    const id = this.next++;
    return new Promise((resolve) => {
      const done = (value: T | undefined) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(value);
      };
      const timer = setTimeout(() => done(undefined), ms);
      this.waiting.set(id, done);
      ask(id, () => done(undefined));
    });
  }

  settle(id: number, value: T): void {
    this.waiting.get(id)?.(value);
  }
}

/**
 * The default process metrics (`tessera_ingress_*`) carry a `process` label, one series per
 * process: nothing there to add up, so each is passed through as it is ('first' of one; prom-client
 * would drop the start time and average the event-loop lag). Every other metric is Tessera's own
 * (requests, latency, argon2 wait and pool, Redis errors): added up across the processes.
 */
function perProcess(metrics: readonly object[]): object[] {
  return metrics.map((m) =>
    (m as { name?: unknown }).name?.toString().startsWith('tessera_ingress_') ? { ...m, aggregator: 'first' } : m,
  );
}

/**
 * The first ingress process's /metrics: its own figures and those of every sibling it started,
 * asked over their IPC channels, added up (prom-client's AggregatorRegistry.aggregate). A sibling
 * that does not answer within SIBLING_WAIT_MS is left out; the gauge
 * `tessera_ingress_processes{metrics="answered"|"missing"}` and a comment line say so. A sibling's
 * own scrape comes here too (GATHER).
 */
export class FirstProcessMetrics {
  private readonly siblings = new Set<ChildProcess>();
  private readonly replies = new Replies<object[]>();
  private gather: () => Promise<Exposition> = () => Promise.reject(new Error('no registry yet'));

  constructor(private readonly waitMs = SIBLING_WAIT_MS) {}

  readonly source: MetricsSource = (local) => {
    this.gather = () => this.gatherFrom(local);
    return () => this.gather();
  };

  /** A sibling just started: asked at each scrape from now on, and answered when it asks. */
  adopt(child: ChildProcess): void {
    this.siblings.add(child);
    child.once('exit', () => this.siblings.delete(child));
    child.on('message', (raw) => {
      const m = asMessage(raw);
      if (m?.type === COLLECTED && Array.isArray(m.metrics)) this.replies.settle(m.id, m.metrics as object[]);
      else if (m?.type === GATHER)
        void this.gather().then(
          (e) => send(child, { type: GATHERED, id: m.id, text: e.text }),
          () => {},
        );
    });
  }

  private async gatherFrom(local: Registry): Promise<Exposition> {
    const asked = [...this.siblings].map((child) =>
      this.replies.expect(this.waitMs, (id, failed) => send(child, { type: COLLECT, id }, failed)),
    );
    const parts = await Promise.all([local.getMetricsAsJSON(), ...asked]);
    const answered = parts.filter((p) => p !== undefined);
    const missing = parts.length - answered.length;
    const total = AggregatorRegistry.aggregate(answered.map(perProcess));
    const processes = new Gauge({
      name: 'tessera_ingress_processes',
      help: 'Ingress processes whose figures these are (answered) and those that did not answer in time (missing)',
      labelNames: ['metrics'],
      registers: [total],
    });
    processes.set({ metrics: 'answered' }, answered.length);
    processes.set({ metrics: 'missing' }, missing);
    const text = await total.metrics();
    const note =
      missing === 0
        ? ''
        : `# ${missing} of ${parts.length} ingress processes did not answer within ${this.waitMs} ms: their figures are not in these\n`;
    return { status: 200, contentType: total.contentType, text: note + text };
  }
}

/**
 * A sibling's /metrics: asked of the first process, which gathers every process's figures (this
 * one's included: it answers COLLECT with its registry). If the first process does not answer
 * within twice SIBLING_WAIT_MS, 503: one process's figures alone would look like counters reset.
 */
export class SiblingMetrics {
  private readonly replies = new Replies<string>();

  constructor(private readonly waitMs = 2 * SIBLING_WAIT_MS) {}

  readonly source: MetricsSource = (local) => {
    process.on('message', (raw) => {
      const m = asMessage(raw);
      if (m?.type === COLLECT)
        void local.getMetricsAsJSON().then(
          (metrics) => send(process, { type: COLLECTED, id: m.id, metrics }),
          () => {},
        );
      else if (m?.type === GATHERED && typeof m.text === 'string') this.replies.settle(m.id, m.text);
    });
    return async () => {
      const text = await this.replies.expect(this.waitMs, (id, failed) => send(process, { type: GATHER, id }, failed));
      return text === undefined
        ? { status: 503, contentType: local.contentType, text: `# the first ingress process did not answer within ${this.waitMs} ms\n` }
        : { status: 200, contentType: local.contentType, text };
    };
  };
}
