export { createWorkerMetrics, type WorkerMetrics } from './metrics.ts';
export { auditFile, createProcessor, drainOutbox, type Pipeline, startPipeline } from './pipeline.ts';
