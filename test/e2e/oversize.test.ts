import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../support/stack.ts';

/** Sends raw bytes and resolves with what comes back before the server closes or `ms` pass. */
function exchange(port: number, request: string, ms: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let text = '';
    let closed = false;
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    socket.on('close', () => {
      closed = true;
      resolve({ text, closed });
    });
    socket.on('error', () => {});
    socket.write(request);
    setTimeout(() => {
      socket.destroy();
      resolve({ text, closed });
    }, ms);
  });
}

describe('a body declared over the limit', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  it('is answered in dialect at once, without waiting for the upload, and the connection closed', async () => {
    const port = Number(new URL(stack.base).port);
    const started = Date.now();
    const { text, closed } = await exchange(
      port,
      'POST /api/token/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{"username":',
      3000,
    );
    expect(Date.now() - started).toBeLessThan(2500);
    expect(text.startsWith('HTTP/1.1 413')).toBe(true);
    expect(text).toContain('{"detail":"Request body exceeded the maximum allowed size."}');
    expect(closed).toBe(true);
  });
});
