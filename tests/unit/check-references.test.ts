import { describe, expect, it } from 'vitest';
import {
  findBrokenReferences,
  findLayoutDrift,
  findTranslationDrift,
  headingSlug,
  markdownLinks,
  type RepoFile,
  shellCommands,
} from '../../scripts/check-references.ts';

/** A small repository: what exists is what these files are. */
const REPO: readonly RepoFile[] = [
  { path: 'README.md', text: '# Project\n\n## Deploy to AWS\n\n```sh\n# not a heading\n```\n' },
  { path: 'docs/contract.md', text: '# Contract\n\n| <a id="no-credential"></a>`no-credential` | 404 |\n' },
  { path: 'shared/payload.ts', text: 'export const x = 1;\n' },
  { path: 'functions/alor/handler.ts', text: '' },
  { path: 'local/paper-broker/index.ts', text: '' },
  { path: 'bench/run.ts', text: '' },
];

const IGNORED = new Set(['bench/results.json']);

function problemsOf(file: RepoFile): string[] {
  return findBrokenReferences([...REPO, file], (path) => IGNORED.has(path));
}

describe('findBrokenReferences', () => {
  it.each([
    ['a path that exists', 'See `shared/payload.ts`.'],
    ['a folder that exists', 'The paper brokers live in local/paper-broker/.'],
    ['a placeholder standing for a name', 'Each entry is `functions/<broker>/handler.ts`.'],
    ['a path git ignores, which a command makes', 'The figures go to `bench/results.json`.'],
    ['a README section by its anchor', 'See README.md#deploy-to-aws.'],
    ['a row of the contract by its id', 'The row docs/contract.md#no-credential.'],
    ['a Markdown link from the linking file', '[deploy](../README.md#deploy-to-aws), [row](contract.md#no-credential)'],
    ['an anchor of the same file', '# Notes\n\nSee [notes](#notes).'],
    ['a link with a title', 'See [deploy](../README.md#deploy-to-aws "Deploy").'],
    ['a link in angle brackets', 'See [payload](<../shared/payload.ts>).'],
    ['a reference-style link', 'See [the contract][c].\n\n[c]: contract.md#no-credential'],
    ['an HTML link', '<a href="../README.md#deploy-to-aws">deploy</a>'],
    ['a line of a code file', 'See [the line](../shared/payload.ts#L1).'],
    ['a web address', 'See [AWS](https://aws.amazon.com/#top) and <a href="mailto:x@example.com">x</a>.'],
  ])('accepts %s', (_case, text) => {
    expect(problemsOf({ path: 'docs/notes.md', text })).toEqual([]);
  });

  it.each([
    ['a path that does not exist', 'See `shared/missing.ts`.', 'cites shared/missing.ts, which does not exist'],
    ['a folder that does not exist', 'Under local/x/ there is nothing.', 'cites local/x/, which does not exist'],
    ['a Markdown file the repository lacks', 'As CONTRACT.md says.', 'cites CONTRACT.md, which does not exist'],
    [
      'a README section that does not exist',
      'See README.md#rotating-the-webhook-secret.',
      'cites README.md#rotating-the-webhook-secret, a section or row that README.md does not have',
    ],
    [
      'a heading inside a code block',
      'See README.md#not-a-heading.',
      'cites README.md#not-a-heading, a section or row that README.md does not have',
    ],
    [
      'a contract row that does not exist',
      'The row docs/contract.md#no-token.',
      'cites docs/contract.md#no-token, a section or row that docs/contract.md does not have',
    ],
    [
      'a README section by its quoted heading',
      'See README "Deploy to AWS".',
      'cites README "Deploy to AWS": cite a section as README.md#<anchor>',
    ],
    [
      'a broken Markdown link',
      'See [deploy](../README.md#deploy).',
      'cites ../README.md#deploy, a section or row that README.md does not have',
    ],
    ['a link to a missing anchor of the same file', 'See [it](#nowhere).', 'links to #nowhere, not in this file'],
    [
      'a broken link with a title',
      'See [deploy](../README.md#deploy "Deploy").',
      'cites ../README.md#deploy, a section or row that README.md does not have',
    ],
    [
      'a broken reference-style link',
      '[c]: contract.md#no-token',
      'cites contract.md#no-token, a section or row that docs/contract.md does not have',
    ],
    ['a broken HTML link', '<a href="gone.md">gone</a>', 'cites gone.md, which does not exist'],
    [
      'a heading anchor on a code file',
      'See [it](../shared/payload.ts#deploy).',
      'cites ../shared/payload.ts#deploy, a section or row that shared/payload.ts does not have',
    ],
    [
      'a path outside the repository',
      'Specs: ../../shared/specs/a.yml',
      'cites ../../shared/specs/a.yml, outside the repository',
    ],
  ])('reports %s', (_case, text, problem) => {
    expect(problemsOf({ path: 'docs/notes.md', text: `Intro.\n\n${text}\n` })).toEqual([`docs/notes.md:3: ${problem}`]);
  });

  it('reads the text of an HTML page', () => {
    expect(problemsOf({ path: 'local/console/index.html', text: '<p>\n(README.md#gone)</p>\n' })).toEqual([
      'local/console/index.html:2: cites README.md#gone, a section or row that README.md does not have',
    ]);
  });

  it('reads the comments of code, not its strings', () => {
    const code = [
      "const path = 'shared/missing.ts';",
      '/**',
      ' * Per shared/gone.ts and README.md#deploy-to-aws.',
      ' */',
      'export const specs = path; // relative: ../shared/specs/',
    ].join('\n');

    expect(problemsOf({ path: 'shared/x.ts', text: code })).toEqual([
      'shared/x.ts:3: cites shared/gone.ts, which does not exist',
      'shared/x.ts:5: cites ../shared/specs/, which does not exist',
    ]);
  });
});

describe('headingSlug', () => {
  it.each([
    ['Deploy to AWS', 'deploy-to-aws'],
    ['Quick start (no AWS account, no broker account)', 'quick-start-no-aws-account-no-broker-account'],
    ['Для пользователей виджета PPP', 'для-пользователей-виджета-ppp'],
    ['`npm start` and [the console](local/console/)', 'npm-start-and-the-console'],
    ["The brokers' APIs", 'the-brokers-apis'],
  ])('gives %j the anchor %j, as GitHub does', (heading, slug) => {
    expect(headingSlug(heading)).toBe(slug);
  });
});

describe('markdownLinks', () => {
  it('finds each form of link, with where its target starts', () => {
    const text = '[a](x.md) [b](<y z.md> "T") <img src="p.png">\n[c]: w.md "W"';

    expect(markdownLinks(text)).toEqual([
      { target: 'x.md', start: 4 },
      { target: 'y z.md', start: 15 },
      { target: 'p.png', start: 38 },
      { target: 'w.md', start: 51 },
    ]);
  });
});

describe('shellCommands', () => {
  it('reads the commands of shell blocks: comments dropped, continuations joined, other blocks skipped', () => {
    const text = [
      'Intro with `npm start` in prose.',
      '```sh',
      'npm ci && npm start     # comment',
      '# a comment line',
      '',
      'curl -d \'{"t":"#1"}\' \\',
      '  -H "x: #2"   # the hashes in quotes stay',
      '```',
      '```json',
      '{ "not": "a command" }',
      '```',
      '~~~bash',
      'aws logs tail <AlorLogGroup> --follow',
      '~~~',
      '```text',
      '/setpppwebhook https://example.com',
      '```',
    ].join('\n');

    expect(shellCommands(text)).toEqual([
      { command: 'npm ci && npm start', line: 3 },
      { command: 'curl -d \'{"t":"#1"}\' -H "x: #2"', line: 6 },
      { command: 'aws logs tail <AlorLogGroup> --follow', line: 13 },
    ]);
  });

  it('keeps a block with a longer fence open past a shorter one', () => {
    expect(shellCommands('````sh\necho one\n```\necho two\n````\n').map(({ command }) => command)).toEqual([
      'echo one',
      '```',
      'echo two',
    ]);
  });
});

describe('findTranslationDrift', () => {
  const english = (commands: string[]) => ({
    path: 'README.md',
    text: `# Deploy\n\n\`\`\`sh\n${commands.join('\n')}\n\`\`\`\n`,
  });
  const russian = (commands: string[]) => ({
    path: 'README.ru.md',
    text: `# Развёртывание\n\n\`\`\`sh\n${commands.join('   # по-русски\n')}\n\`\`\`\n`,
  });
  const drift = (ours: string[], theirs: string[]) =>
    findTranslationDrift([english(ours), russian(theirs)], 'README.md', 'README.ru.md');

  it('accepts the same commands in the same order, whatever the comments say', () => {
    expect(drift(['npx cdk bootstrap', 'npm run deploy'], ['npx cdk bootstrap', 'npm run deploy'])).toEqual([]);
  });

  it('reports a command the translation lacks, with where the original has it', () => {
    expect(drift(['npx cdk bootstrap', 'npm run deploy'], ['npm run deploy'])).toEqual([
      'README.ru.md: lacks `npx cdk bootstrap` (README.md:4); its shell blocks must hold the same commands',
    ]);
  });

  it('reports a command given once where the original gives it twice', () => {
    expect(drift(['npm run deploy', 'npm run deploy'], ['npm run deploy'])).toEqual([
      'README.ru.md: lacks `npm run deploy` (README.md:5); its shell blocks must hold the same commands',
    ]);
  });

  it('reports a command only the translation has', () => {
    expect(drift(['npm run deploy'], ['npm run deploy', 'npm run destroy'])).toEqual([
      'README.ru.md:5: `npm run destroy` is not a command of README.md',
    ]);
  });

  it('reports commands in another order', () => {
    expect(drift(['npx cdk bootstrap', 'npm run deploy'], ['npm run deploy', 'npx cdk bootstrap'])).toEqual([
      'README.ru.md:4: `npm run deploy` where README.md:4 has `npx cdk bootstrap`: the commands must come in the same order',
    ]);
  });

  it('reports a missing translation', () => {
    expect(findTranslationDrift([english(['npm run deploy'])], 'README.md', 'README.ru.md')).toEqual([
      'README.ru.md: missing; it must hold every command of README.md',
    ]);
  });
});

describe('findLayoutDrift', () => {
  const TREE: readonly RepoFile[] = [
    { path: 'functions/alor/handler.ts', text: '' },
    { path: 'functions/tinkoff/handler.ts', text: '' },
    { path: 'shared/brokers/alor/client.ts', text: '' },
    { path: 'shared/store/extension.ts', text: '' },
    { path: 'shared/facts.ts', text: '' },
    { path: '.ci/run', text: '' },
  ];
  const page = (rows: string[]) => ({
    path: 'docs/development.md',
    text: ['# Development', '', '## Layout', '', '| path | what |', '| --- | --- |', ...rows, '', '## Tests'].join(
      '\n',
    ),
  });
  const drift = (rows: string[]) => findLayoutDrift([...TREE, page(rows)], 'docs/development.md', 'layout');
  const COMPLETE = [
    '| `functions/<broker>/handler.ts` | entries |',
    '| `shared/brokers/<broker>/`, `shared/facts.ts` | brokers; facts |',
    '| `shared/store/` | the store |',
    '| `.ci/run` | CI |',
    '| `docs/` | this page |',
  ];

  it('accepts a table that lists every top-level folder and every folder under shared/, by placeholder too', () => {
    expect(drift(COMPLETE)).toEqual([]);
  });

  it('reports a listed path that does not exist', () => {
    expect(drift([...COMPLETE, '| `shared/notify/` | gone |'])).toEqual([
      'docs/development.md:12: the layout lists shared/notify/, which does not exist',
    ]);
  });

  it('reports a path listed twice', () => {
    expect(drift([...COMPLETE, '| `shared/store` | again |'])).toEqual([
      'docs/development.md:12: the layout lists shared/store again (line 9)',
    ]);
  });

  it('reports a top-level folder and a folder under shared/ that no row lists', () => {
    expect(drift(COMPLETE.filter((row) => !row.includes('.ci') && !row.includes('store')))).toEqual([
      'docs/development.md: the layout table lists nothing under .ci/',
      'docs/development.md: the layout table lists nothing under shared/store/',
    ]);
  });

  it('reports a page without the layout section', () => {
    expect(
      findLayoutDrift(
        [...TREE, { path: 'docs/development.md', text: '# Development\n' }],
        'docs/development.md',
        'layout',
      ),
    ).toEqual(['docs/development.md: no section #layout, where the layout table belongs']);
  });
});
