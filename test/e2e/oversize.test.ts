import { aroundAll, describe, expect, it } from 'vitest';
import { exchange } from '../support/raw-http.ts';
import { RUNTIMES, type Stack, startStack } from '../support/stack.ts';

describe.each(RUNTIMES)('a body declared over the limit on %s', (runtime) => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack({}, { runtime });
    stack = started;
    await runSuite();
  });

  it('is answered in dialect at once, without waiting for the upload, and the connection closed (on Node)', async () => {
    const r = await exchange(
      stack.port,
      ['POST /api/token/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{"username":'],
      { expect: 1, waitMs: 3000 },
    );
    expect(r.ms).toBeLessThan(2500);
    expect(r.answers.map((a) => [a.status, a.text])).toStrictEqual([[413, '{"detail":"Request body exceeded the maximum allowed size."}']]);
    // Deno answers as soon, with `Connection: close`, but keeps the connection open and reads the
    // rest of the upload (docs/security.md, "HTTP parsing"): closing it is Node's alone.
    if (runtime === 'node') expect(r.closed).toBe(true);
  });
});
