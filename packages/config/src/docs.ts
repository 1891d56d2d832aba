/**
 * docs/settings.md's table, made from SPEC: `npm run docs:settings` writes it, and docs.test.ts fails
 * when the file differs.
 */
import { docsOf, FALSE_WORDS, type SettingDoc, TRUE_WORDS } from './setting.ts';
import { SPEC } from './spec.ts';

/** Every setting's row of the table, in SPEC's order. */
export const SETTINGS_DOC: readonly SettingDoc[] = docsOf(SPEC);

const BEGIN = '<!-- settings table: made from packages/config/src/spec.ts by `npm run docs:settings`; edit it there -->';
const END = '<!-- end of settings table -->';

const cell = (text: string): string => text.replaceAll('|', '\\|');

/** The table in Markdown, its columns aligned as Biome formats Markdown, with notes on how values are read. */
export function settingsTable(): string {
  const rows = [
    ['variable', 'default', 'accepts', 'meaning'],
    ...SETTINGS_DOC.map((d) => [`\`${d.name}\``, cell(d.default), cell(d.accepts), cell(d.meaning)]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [head = [], ...body] = rows;
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    'Values are trimmed; an empty or blank value is unset (the default applies). Where 1 or 0 is accepted, ' +
      `so are ${TRUE_WORDS.slice(1).join(', ')} and ${FALSE_WORDS.slice(1).join(', ')}, in any case.`,
  ].join('\n');
}

/** `markdown` with the part between the table's markers replaced by `settingsTable()`. */
export function withSettingsTable(markdown: string): string {
  const begin = markdown.indexOf(BEGIN);
  const end = markdown.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`the settings page lacks the table's markers:\n${BEGIN}\n${END}`);
  return `${markdown.slice(0, begin + BEGIN.length)}\n\n${settingsTable()}\n\n${markdown.slice(end)}`;
}
