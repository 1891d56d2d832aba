import type { VerifyPool } from '@tessera/passwords';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RequestObserver } from './handler.ts';

/** The ingress's Prometheus metrics (prom-client), served at GET /metrics. */
export interface IngressMetrics extends RequestObserver {
  readonly registry: Registry;
  argon2Wait(seconds: number, admitted: boolean): void;
}

export function createIngressMetrics(pool: VerifyPool): IngressMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tessera_ingress_' });
  const requests = new Counter({
    name: 'tessera_requests_total',
    help: 'Answered requests by route, dialect, outcome and HTTP status',
    labelNames: ['route', 'dialect', 'outcome', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'tessera_request_duration_seconds',
    help: 'Time from request to answer, by route and outcome',
    labelNames: ['route', 'outcome'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
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
      requests.inc({ route, dialect, outcome, status: String(status) });
      latency.observe({ route, outcome }, seconds);
      if (outcome === 'unavailable') redisErrors.inc();
    },
    argon2Wait(seconds, admitted) {
      wait.observe({ admitted: admitted ? 'yes' : 'no' }, seconds);
    },
  };
}
