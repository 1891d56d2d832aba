import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED_PARTS, SETTINGS_DOC, withGenerated, withSettingsTable } from './index.ts';

describe('docs/settings.md', () => {
  for (const part of GENERATED_PARTS)
    it(`${part.page} shows the table made from the settings declared in spec.ts`, () => {
      const page = readFileSync(new URL(`../../../${part.page}`, import.meta.url), 'utf8');
      expect(page, `${part.page} differs from packages/config/src/spec.ts: run \`npm run docs:settings\``).toBe(withGenerated(page, part));
    });

  it('has one row per variable, each with its default, what it accepts and its meaning', () => {
    const names = SETTINGS_DOC.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    for (const d of SETTINGS_DOC) {
      expect(d.name).toMatch(/^(TESSERA_[A-Z0-9_]+|REDIS_URL|UV_THREADPOOL_SIZE)$/);
      for (const text of [d.default, d.accepts, d.meaning]) expect(text, d.name).not.toBe('');
    }
  });

  it('refuses a page without the markers of the table', () => {
    expect(() => withSettingsTable('# Settings\n')).toThrow(/lacks the table's markers/);
  });
});
