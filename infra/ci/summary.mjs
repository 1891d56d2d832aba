// Prints "tests: N passed, M failed" from the Vitest JSON reports (the run on one Redis and, when
// it ran, the run on a cluster: npm run test:cluster) and the Deno JUnit report, each run's share
// in parentheses.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
const parts = [];
for (const [name, file] of [
  ['one Redis', 'test-results/vitest.json'],
  ['cluster', 'test-results/vitest-cluster.json'],
]) {
  if (!existsSync(file)) continue;
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const ok = r.numPassedTests ?? 0;
  const bad = (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
  passed += ok;
  failed += bad;
  parts.push(`${name}: ${ok}/${ok + bad}`);
}
if (existsSync('test-results/deno.xml')) {
  const xml = readFileSync('test-results/deno.xml', 'utf8');
  const cases = (xml.match(/<testcase\b/g) ?? []).length;
  const bad = (xml.match(/<failure\b/g) ?? []).length;
  passed += cases - bad;
  failed += bad;
  parts.push(`Deno: ${cases - bad}/${cases}`);
}
console.log(`tests: ${passed} passed, ${failed} failed${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`);
