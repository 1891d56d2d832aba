// Writes docs/settings.md's table from the settings' declarations (packages/config/src/spec.ts),
// leaving the page's other text alone. Run through `npm run docs:settings`, which builds first.
import { readFileSync, writeFileSync } from 'node:fs';
import { withSettingsTable } from '../dist/index.js';

const page = new URL('../../../docs/settings.md', import.meta.url);
const before = readFileSync(page, 'utf8');
const after = withSettingsTable(before);
if (after === before) console.log('docs/settings.md is up to date');
else {
  writeFileSync(page, after);
  console.log('docs/settings.md: table rewritten');
}
