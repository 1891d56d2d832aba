// Prints "tests: N passed, M failed" from the Vitest JSON report and the Deno JUnit report.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
if (existsSync('test-results/vitest.json')) {
  const r = JSON.parse(readFileSync('test-results/vitest.json', 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
}
if (existsSync('test-results/deno.xml')) {
  const xml = readFileSync('test-results/deno.xml', 'utf8');
  const cases = (xml.match(/<testcase\b/g) ?? []).length;
  const bad = (xml.match(/<failure\b/g) ?? []).length;
  passed += cases - bad;
  failed += bad;
}
console.log(`tests: ${passed} passed, ${failed} failed`);
