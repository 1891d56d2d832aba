export { auditFile, createProcessor, drainOutbox, type Pipeline, startPipeline } from './pipeline.ts';
