export { createWorkerMetrics, type WorkerMetrics } from './metrics.ts';
export { createOpsServer, type OpsDeps } from './ops.ts';
export { auditFile, createProcessor, drainOutbox, type Pipeline, startPipeline } from './pipeline.ts';
export { createSummary, type Summary } from './summary.ts';
