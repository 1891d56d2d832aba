/**
 * docs/settings.md's table, made from SPEC: `npm run docs:settings` writes it, and docs.test.ts fails
 * when the file differs.
 */
import { docsOf, FALSE_WORDS, type SettingDoc, TRUE_WORDS } from './setting.ts';
import { SPEC } from './spec.ts';

/** Every setting's row of the table, in SPEC's order. */
export const SETTINGS_DOC: readonly SettingDoc[] = docsOf(SPEC);

const cell = (text: string): string => text.replaceAll('|', '\\|');

/** Rows in Markdown, the columns aligned as Biome formats Markdown. */
function markdownTable(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [head = [], ...body] = rows;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
}

/** The table of every setting, with notes on how values are read. */
export function settingsTable(): string {
  return [
    ...markdownTable([
      ['variable', 'default', 'accepts', 'meaning'],
      ...SETTINGS_DOC.map((d) => [`\`${d.name}\``, cell(d.default), cell(d.accepts), cell(d.meaning)]),
    ]),
    '',
    'Values are trimmed; an empty or blank value is unset (the default applies). Where 1 or 0 is accepted, ' +
      `so are ${TRUE_WORDS.slice(1).join(', ')} and ${FALSE_WORDS.slice(1).join(', ')}, in any case.`,
  ].join('\n');
}

/** A setting whose meaning starts "SimpleJWT `NAME`" is that SimpleJWT setting. */
const SIMPLEJWT_NAME = /^SimpleJWT `([A-Z_]+)`/;

/** The table of SimpleJWT's settings Tessera reads: SimpleJWT's name, the variable, the default. */
export function simpleJwtTable(): string {
  const rows = SETTINGS_DOC.flatMap((d) => {
    const name = SIMPLEJWT_NAME.exec(d.meaning)?.[1];
    return name === undefined ? [] : [[`\`${name}\``, `\`${d.name}\``, cell(d.default), cell(d.accepts)]];
  });
  return markdownTable([['SimpleJWT setting', 'variable', 'default', 'accepts'], ...rows]).join('\n');
}

/** A generated part of a docs page: its markers and what goes between them. */
export interface GeneratedPart {
  readonly page: string;
  readonly begin: string;
  readonly end: string;
  make(): string;
}

const marker = (what: string) => `<!-- ${what}: made from packages/config/src/spec.ts by \`npm run docs:settings\`; edit it there -->`;

/** The tables `npm run docs:settings` writes, and docs.test.ts checks. */
export const GENERATED_PARTS: readonly GeneratedPart[] = [
  { page: 'docs/settings.md', begin: marker('settings table'), end: '<!-- end of settings table -->', make: settingsTable },
  {
    page: 'docs/simplejwt.md',
    begin: marker('SimpleJWT settings table'),
    end: '<!-- end of SimpleJWT settings table -->',
    make: simpleJwtTable,
  },
];

/** `markdown` with the part between the markers replaced by what `part` makes. */
export function withGenerated(markdown: string, part: GeneratedPart): string {
  const begin = markdown.indexOf(part.begin);
  const end = markdown.indexOf(part.end);
  if (begin < 0 || end < begin) throw new Error(`${part.page} lacks the table's markers:\n${part.begin}\n${part.end}`);
  return `${markdown.slice(0, begin + part.begin.length)}\n\n${part.make()}\n\n${markdown.slice(end)}`;
}

/** docs/settings.md with its table made anew. */
export function withSettingsTable(markdown: string): string {
  return withGenerated(markdown, GENERATED_PARTS[0] as GeneratedPart);
}
