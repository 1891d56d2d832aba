// Writes the settings tables of docs/ (docs/settings.md, docs/simplejwt.md) from the settings'
// declarations (packages/config/src/spec.ts), leaving the pages' other text alone. Run through
// `npm run docs:settings`, which builds first.
import { readFileSync, writeFileSync } from 'node:fs';
import { GENERATED_PARTS, withGenerated } from '../dist/index.js';

for (const part of GENERATED_PARTS) {
  const page = new URL(`../../../${part.page}`, import.meta.url);
  const before = readFileSync(page, 'utf8');
  const after = withGenerated(before, part);
  if (after === before) console.log(`${part.page} is up to date`);
  else {
    writeFileSync(page, after);
    console.log(`${part.page}: table rewritten`);
  }
}
