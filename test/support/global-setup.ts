import type { TestProject } from 'vitest/node';
import { obtainRedis } from './redis-source.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    redisKind: string;
  }
}

/** One Redis for the whole run (each test isolates itself with its own key prefix). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const source = await obtainRedis();
  process.stdout.write(`tests use Redis from ${source.kind}: ${source.url}\n`);
  // a private cluster's URL, as REDIS_URL would give it, for whatever reads the environment
  if (source.kind === 'cluster') process.env.REDIS_URL = source.url;
  project.provide('redisUrl', source.url);
  project.provide('redisKind', source.kind);
  return () => source.stop();
}
