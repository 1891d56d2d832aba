import type { Settings } from '@tessera/config';
import { keyLayout, LoginGate, outboxBacklog, type TesseraRedis } from '@tessera/store';
import type { Queue } from 'bullmq';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** The worker's Prometheus metrics, served at GET /metrics on the ops port. */
export interface WorkerMetrics {
  readonly registry: Registry;
  processed(type: string): void;
}

export function createWorkerMetrics(settings: Settings, redis: TesseraRedis, queue: Queue): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tessera_worker_' });
  const processed = new Counter({
    name: 'tessera_events_processed_total',
    help: 'Audit events processed, by type',
    labelNames: ['type'],
    registers: [registry],
  });
  const keys = keyLayout(settings.redisPrefix, settings.accountShards);
  new Gauge({
    name: 'tessera_queue_jobs',
    help: 'Jobs of the audit queue, by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'tessera_outbox_length',
    help: 'Events committed but not yet handed to the queue (all outboxes)',
    registers: [registry],
    async collect() {
      this.set((await outboxBacklog(redis, keys)).length);
    },
  });
  new Gauge({
    name: 'tessera_outbox_lag_seconds',
    help: 'Age of the oldest event still in an outbox',
    registers: [registry],
    async collect() {
      const { oldestMs } = await outboxBacklog(redis, keys);
      this.set(oldestMs === null ? 0 : Math.max(0, (Date.now() - oldestMs) / 1000));
    },
  });
  const gate = new LoginGate(redis, keys, settings.lockout);
  new Gauge({
    name: 'tessera_lockouts_active',
    help: 'Identifiers locked now',
    registers: [registry],
    async collect() {
      this.set((await gate.locked()).length);
    },
  });
  return { registry, processed: (type) => processed.inc({ type }) };
}
