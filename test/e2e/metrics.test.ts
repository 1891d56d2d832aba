import { aroundAll, describe, expect, it } from 'vitest';
import { DEMO } from '../support/demo.ts';
import { type Stack, startStack } from '../support/stack.ts';

// Node only: /metrics is served by the node:http server (services/ingress/src/app.ts, prom-client);
// the Deno ingress has no metrics endpoint.
describe('GET /metrics on the ingress (Prometheus text)', () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack();
    stack = started;
    await runSuite();
  });

  it('counts requests by route, dialect, outcome and status, with latency and argon2 wait', async () => {
    const post = (path: string, body: unknown) =>
      stack.post(path, JSON.stringify(body), { 'content-type': 'application/json' }).then((r) => r.arrayBuffer());
    await post('/nehrapi/login/getToken', DEMO.ministry);
    await post('/nehrapi/login/getToken', { username: 'MOH-90008', password: 'wrong' });
    await post('/nehrapi/login/getToken', { username: 'MOH-90008', password: 'wrong' });
    await post('/api/token/', {});
    const res = await fetch(`${stack.base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('tessera_requests_total{route="/nehrapi/login/getToken",dialect="nehr",outcome="issued",status="200"} 1');
    expect(text).toContain(
      'tessera_requests_total{route="/nehrapi/login/getToken",dialect="nehr",outcome="bad_credentials",status="401"} 2',
    );
    expect(text).toContain('tessera_requests_total{route="/api/token/",dialect="simplejwt",outcome="malformed",status="400"} 1');
    expect(text).toMatch(/tessera_request_duration_seconds_count\{route="\/nehrapi\/login\/getToken",outcome="bad_credentials"\} 2/);
    expect(text).toContain('# TYPE tessera_request_duration_seconds histogram');
    // buckets are cumulative and end in +Inf with the count
    const buckets = [
      ...text.matchAll(
        /tessera_request_duration_seconds_bucket\{route="\/nehrapi\/login\/getToken",outcome="bad_credentials",le="([^"]+)"\} (\d+)/g,
      ),
    ];
    expect(buckets.map((m) => m[1])).toStrictEqual([
      '0.0005',
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '+Inf',
    ]);
    const values = buckets.map((m) => Number(m[2]));
    expect(values).toStrictEqual([...values].sort((a, b) => a - b));
    expect(values.at(-1)).toBe(2);
    expect(text).toMatch(/tessera_request_duration_seconds_sum\{route="\/nehrapi\/login\/getToken",outcome="bad_credentials"\} 0\.\d+/);
    // a second scrape shows the same totals (counts are moved to prom-client once, not twice)
    const again = await (await fetch(`${stack.base}/metrics`)).text();
    expect(again).toContain(
      'tessera_requests_total{route="/nehrapi/login/getToken",dialect="nehr",outcome="bad_credentials",status="401"} 2',
    );
    expect(again).toMatch(/tessera_request_duration_seconds_count\{route="\/nehrapi\/login\/getToken",outcome="bad_credentials"\} 2/);
    expect(text).toMatch(/tessera_argon2_wait_seconds_count\{admitted="yes"\} 3/);
    expect(text).toMatch(/tessera_argon2_pool\{state="running"\} 0/);
    expect(text).toContain('tessera_ingress_process_resident_memory_bytes');
    // never a secret in the metrics
    expect(text).not.toContain(DEMO.ministry.password);
  });
});
