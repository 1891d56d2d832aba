import type { VerifyPool } from '@tessera/passwords';
import { Counter, collectDefaultMetrics, Gauge, Histogram, type Metric, Registry } from 'prom-client';
import type { RequestObserver } from './handler.ts';

/** The ingress's Prometheus metrics (prom-client), served at GET /metrics. */
export interface IngressMetrics extends RequestObserver {
  readonly registry: Registry;
  argon2Wait(seconds: number, admitted: boolean): void;
}

/**
 * `process`: which of the ingress's processes this is (0: the first), the label of its default
 * process metrics, so that they stay one series per process when /metrics adds up the processes
 * (process-metrics.ts).
 */
export function createIngressMetrics(pool: VerifyPool, process = 0): IngressMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tessera_ingress_', labels: { process: String(process) } });
  // The request path only bumps numbers in a Map; prom-client sees them when scraped (its own
  // inc/observe hash the label set on every call, which cost as much as an introspection).
  const counts = new Map<string, { readonly labels: Record<string, string>; n: number }>();
  new Counter({
    name: 'tessera_requests_total',
    help: 'Answered requests by route, dialect, outcome and HTTP status',
    labelNames: ['route', 'dialect', 'outcome', 'status'],
    registers: [registry],
    collect() {
      for (const c of counts.values()) {
        if (c.n > 0) this.inc(c.labels, c.n);
        c.n = 0;
      }
    },
  });
  const latency = new LatencyHistogram(
    'tessera_request_duration_seconds',
    'Time from request to answer, by route and outcome',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );
  registry.registerMetric(latency as unknown as Metric);
  const wait = new Histogram({
    name: 'tessera_argon2_wait_seconds',
    help: 'Time a login waited for an argon2 slot, by whether it got one',
    labelNames: ['admitted'],
    buckets: [0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
    registers: [registry],
  });
  const redisErrors = new Counter({
    name: 'tessera_redis_errors_total',
    help: 'Requests answered "unavailable" because Redis failed',
    registers: [registry],
  });
  new Gauge({
    name: 'tessera_argon2_pool',
    help: 'argon2 verifications running and waiting',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const load = pool.load;
      this.set({ state: 'running' }, load.running);
      this.set({ state: 'waiting' }, load.waiting);
    },
  });
  return {
    registry,
    request(route, dialect, outcome, status, seconds) {
      const key = `${route} ${dialect} ${outcome} ${status}`;
      const c = counts.get(key);
      if (c === undefined) counts.set(key, { labels: { route, dialect, outcome, status: String(status) }, n: 1 });
      else c.n++;
      latency.observe(route, outcome, seconds);
      if (outcome === 'unavailable') redisErrors.inc();
    },
    argon2Wait(seconds, admitted) {
      wait.observe({ admitted: admitted ? 'yes' : 'no' }, seconds);
    },
  };
}

interface Series {
  readonly labels: Readonly<Record<string, string>>;
  /** observations per bucket (not cumulative); the last one is +Inf */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram by route and outcome, kept in plain arrays and shown to prom-client's registry in
 * the shape its own histograms have (`get()`), so /metrics prints the usual _bucket, _sum and
 * _count lines.
 */
export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  observe(route: string, outcome: string, seconds: number): void {
    const key = `${route} ${outcome}`;
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels: { route, outcome }, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    let i = 0;
    while (i < this.bounds.length && seconds > (this.bounds[i] as number)) i++;
    (s.counts as Float64Array)[i] = ((s.counts as Float64Array)[i] as number) + 1;
    s.sum += seconds;
    s.count++;
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: object[] }> {
    const values: object[] = [];
    for (const s of this.series.values()) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += s.counts[i] as number;
        values.push({ labels: { ...s.labels, le }, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    this.series.clear();
  }
}
