/**
 * `npm run spec-snapshot -- <folder>`: rewrites the broker-spec snapshot in docs/broker-specs/ (and the resolved
 * schemas in tests/unit/broker-spec-schemas.json) from the full official spec files in <folder>, named as in
 * docs/broker-specs/README.md. The full files are 0.5-0.9 MB each; the snapshot keeps, verbatim and in their original
 * order, only the component blocks the tests read (tests/unit/broker-spec.ts) and every block they `$ref`, and the
 * T-Invest error codes the code relies on.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkNodeSupport } from '#local/node-support.ts';
import {
  CHECKED_SCHEMAS,
  ENVELOPE_SCHEMAS,
  PARSER_SAMPLES,
  resolveCheckedSchemas,
  SNAPSHOT_FILE,
  SPEC_DIR,
  type SpecFile,
} from '../tests/unit/broker-spec.ts';

/**
 * The T-Invest error codes the service and the paper broker answer with (shared/brokers/tinkoff/mapping.ts,
 * local/paper-broker/tinkoff.ts).
 */
const CATALOGUE_FILE = 'tinvest-v2-api_errors.json';
const CATALOGUE_CODES = [
  '30001',
  '30004',
  '30007',
  '30013',
  '30015',
  '30036',
  '30038',
  '30044',
  '30052',
  '30053',
  '30057',
  '30059',
  '30060',
  '30079',
  '30081',
  '30210',
  '30211',
  '30212',
  '30241',
  '40002',
  '40003',
  '50002',
  '50004',
  '50005',
  '50006',
];

const REF = /\$ref:\s*['"]?#\/components\/[A-Za-z]+\/([^'"\s]+)/g;

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/** Line range of the block `    name:` (the first one, as tests/unit/broker-spec.ts reads it). */
function blockRange(lines: readonly string[], name: string, file: string): [number, number] {
  const start = lines.indexOf(`    ${name}:`);
  if (start < 0) throw new Error(`${name} not found in ${file}`);
  let end = start + 1;
  while (end < lines.length) {
    const line = lines[end] ?? '';
    if (line.trim() !== '' && !line.trim().startsWith('#') && indentOf(line) <= 4) break;
    end++;
  }
  while (end > start + 1 && (lines[end - 1] ?? '').trim() === '') end--;
  return [start, end];
}

/** The `  section:` line (e.g. `  schemas:`) a block sits in. */
function sectionOf(lines: readonly string[], start: number): string {
  for (let index = start - 1; index >= 0; index--) {
    const line = lines[index] ?? '';
    if (indentOf(line) === 2 && line.trim().endsWith(':')) return line;
  }
  throw new Error(`no components section above line ${start + 1}`);
}

/** The named blocks and every block they reference, verbatim, grouped by section in the order of the file. */
function extractComponents(text: string, roots: readonly string[], file: string): string {
  const lines = text.split(/\r?\n/);
  const ranges = new Map<string, [number, number]>();
  const pending = [...roots];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (ranges.has(name)) continue;
    const range = blockRange(lines, name, file);
    ranges.set(name, range);
    const block = lines.slice(...range).join('\n');
    for (const match of block.matchAll(REF)) pending.push(match[1] ?? '');
  }
  const out = ['components:'];
  let section = '';
  for (const [start, end] of [...ranges.values()].sort(([a], [b]) => a - b)) {
    const blockSection = sectionOf(lines, start);
    if (blockSection !== section) out.push(blockSection);
    section = blockSection;
    out.push(...lines.slice(start, end));
  }
  return `${out.join('\n')}\n`;
}

function header(file: string): string {
  return [
    `# Extract of ${file}: only the components the tests read, verbatim. Source, commit and date:`,
    '# docs/broker-specs/README.md. Regenerate: npm run spec-snapshot -- <folder with the full files>',
    '',
  ].join('\n');
}

function extractCatalogue(text: string, codes: readonly string[]): string {
  const catalogue = JSON.parse(text) as Record<string, unknown>;
  const extract = Object.fromEntries(
    codes.map((code) => {
      if (!(code in catalogue)) throw new Error(`error code ${code} not in ${CATALOGUE_FILE}`);
      return [code, catalogue[code]];
    }),
  );
  return `${JSON.stringify(extract, null, 2)}\n`;
}

function main(sourceDir: string | undefined): void {
  checkNodeSupport();
  if (sourceDir === undefined) {
    process.stderr.write('usage: npm run spec-snapshot -- <folder with the full spec files>\n');
    process.exit(2);
  }
  const roots = new Map<SpecFile, string[]>();
  const components = [CHECKED_SCHEMAS, ENVELOPE_SCHEMAS, PARSER_SAMPLES].flatMap((list) => Object.values(list));
  for (const [file, name] of components) {
    roots.set(file, [...(roots.get(file) ?? []), name]);
  }
  for (const [file, names] of roots) {
    const text = readFileSync(join(sourceDir, file), 'utf8');
    writeFileSync(new URL(file, SPEC_DIR), header(file) + extractComponents(text, names, file));
  }
  const catalogue = readFileSync(join(sourceDir, CATALOGUE_FILE), 'utf8');
  writeFileSync(new URL(CATALOGUE_FILE, SPEC_DIR), extractCatalogue(catalogue, CATALOGUE_CODES));
  writeFileSync(SNAPSHOT_FILE, `${JSON.stringify(resolveCheckedSchemas(), null, 2)}\n`);
  process.stdout.write(`Wrote ${roots.size + 1} files to docs/broker-specs/ and tests/unit/broker-spec-schemas.json\n`);
}

main(process.argv[2]);
