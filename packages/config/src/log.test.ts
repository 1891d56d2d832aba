import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createLogger } from './log.ts';

const LOG_MODULE = new URL('../dist/log.js', import.meta.url).href;

function parsed(lines: readonly string[]): Record<string, unknown>[] {
  return lines.map((l) => {
    expect(l.endsWith('\n')).toBe(true);
    expect(l.trimEnd().includes('\n')).toBe(false);
    return JSON.parse(l) as Record<string, unknown>;
  });
}

describe('createLogger', () => {
  it('writes one JSON object per line: level by name, ISO time, service, message, fields', () => {
    const lines: string[] = [];
    const log = createLogger('worker', 'info', (l) => lines.push(l));
    log.info('hello', { n: 1 });
    const [line] = parsed(lines);
    expect(Object.keys(line ?? {}).sort()).toStrictEqual(['level', 'msg', 'n', 'service', 'time']);
    expect(line).toMatchObject({ level: 'info', service: 'worker', msg: 'hello', n: 1 });
    expect(String(line?.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('writes nothing below its level', () => {
    const lines: string[] = [];
    const log = createLogger('worker', 'error', (l) => lines.push(l));
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(parsed(lines).map((l) => l.level)).toStrictEqual(['error']);
    expect(log.infoEnabled).toBe(false);
  });

  it('serialises an error under err into the one line, stack included', () => {
    const lines: string[] = [];
    createLogger('ingress', 'info', (l) => lines.push(l)).error('failed', { err: new TypeError('boom') });
    const [line] = parsed(lines);
    expect(line?.err).toMatchObject({ type: 'TypeError', message: 'boom' });
    expect(String((line?.err as { stack?: string } | undefined)?.stack)).toContain('TypeError: boom\n    at ');
  });
});

describe('routeProcessOutput', () => {
  /** Runs a Node script with its output routed; returns its output lines and exit code. */
  function run(script: string): { lines: string[]; stderr: string; status: number | null } {
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { createLogger, routeProcessOutput } from '${LOG_MODULE}';
         routeProcessOutput(createLogger('test', 'debug'));
         ${script}`,
      ],
      { encoding: 'utf8' },
    );
    return { lines: r.stdout.split('\n').filter((l) => l !== ''), stderr: r.stderr, status: r.status };
  }

  it('turns console output, Node warnings and an uncaught exception into JSON lines, then exits 1', () => {
    const r = run(`
      console.log('plain', 42);
      console.warn('IMPORTANT! Eviction policy is allkeys-lru');
      console.error(new Error('nobody listened'));
      process.emitWarning('old API', 'DeprecationWarning');
      setTimeout(() => { throw new RangeError('bug'); }, 10);`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    const lines = r.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.level, l.msg, l.source])).toStrictEqual([
      ['info', 'plain 42', 'console'],
      ['warn', 'IMPORTANT! Eviction policy is allkeys-lru', 'console'],
      ['error', 'nobody listened', 'console'],
      ['warn', 'old API', 'node'],
      ['error', 'uncaught exception; exiting', undefined],
    ]);
    expect(lines[2]?.err).toMatchObject({ type: 'Error', message: 'nobody listened' });
    expect(lines[3]?.name).toBe('DeprecationWarning');
    expect(lines[4]?.err).toMatchObject({ type: 'RangeError', message: 'bug' });
  });

  it('logs an unhandled rejection as an error and exits 1, as Node would', () => {
    const r = run(`Promise.reject(new Error('lost'));`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    const [line] = r.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(line).toMatchObject({ level: 'error', msg: 'unhandled promise rejection; exiting', err: { message: 'lost' } });
  });
});
