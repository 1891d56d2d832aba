// `npm run fuzz -- --minutes N`: the robustness suite (every file in test/robustness/) run for
// about N minutes from a fresh seed (FUZZ_SEED=<seed> repeats one), then the requests sent per
// route, read from test-results/robustness/*.json, as a table (also kept as
// test-results/robustness/summary.txt).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = new URL('../../', import.meta.url).pathname;
const OUT = join(ROOT, 'test-results', 'robustness');

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' } } });
const minutes = Number(values.minutes);
if (!(minutes > 0)) {
  process.stderr.write(`fuzz: --minutes must be a positive number, got ${JSON.stringify(values.minutes)}\n`);
  process.exit(2);
}

// one seed for every file, printed, so that a failure is repeated with FUZZ_SEED=<seed>
const seed = process.env.FUZZ_SEED || String((Date.now() ^ (Math.random() * 0x7fffffff)) | 0);
process.stdout.write(`fuzz: ${minutes} min, FUZZ_SEED=${seed}\n`);
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const started = Date.now();
const run = spawnSync(
  process.execPath,
  [
    join(ROOT, 'node_modules/vitest/vitest.mjs'),
    'run',
    'test/robustness/',
    '--reporter=default',
    // each file sizes its own tests from FUZZ_MINUTES; this bounds any that does not
    `--testTimeout=${Math.round(minutes * 60_000 + 300_000)}`,
  ],
  { cwd: ROOT, stdio: 'inherit', env: { ...process.env, FUZZ_MINUTES: String(minutes), FUZZ_SEED: seed } },
);

const requests = new Map();
const notes = new Map();
for (const file of existsSync(OUT) ? readdirSync(OUT).filter((f) => f.endsWith('.json')) : []) {
  const data = JSON.parse(readFileSync(join(OUT, file), 'utf8'));
  const source = file.replace(/\.json$/, '');
  for (const [route, n] of Object.entries(data.requests ?? {})) requests.set(`${source}  ${route}`, n);
  for (const [what, n] of Object.entries(data.notes ?? {})) notes.set(`${source}  ${what}`, n);
}
const table = (rows, head) => {
  const width = Math.max(head.length, ...[...rows.keys()].map((k) => k.length));
  const lines = [...rows.entries()].map(([k, n]) => `${k.padEnd(width)}  ${String(n).padStart(9)}`);
  const total = [...rows.values()].reduce((a, b) => a + b, 0);
  return [`${head.padEnd(width)}  ${'requests'.padStart(9)}`, ...lines, `${'total'.padEnd(width)}  ${String(total).padStart(9)}`].join(
    '\n',
  );
};
const summary = [
  `fuzz: FUZZ_SEED=${seed}, ${minutes} min asked, ${((Date.now() - started) / 60_000).toFixed(1)} min taken, vitest exit ${run.status}`,
  '',
  table(requests, 'file  route'),
  '',
  notes.size === 0 ? 'nothing noted on the way' : table(notes, 'file  noted on the way (allowed by the checks, worth a look)'),
  '',
].join('\n');
writeFileSync(join(OUT, 'summary.txt'), summary);
process.stdout.write(`\n${summary}`);
process.exit(run.status ?? 1);
