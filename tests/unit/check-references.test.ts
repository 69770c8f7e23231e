import { describe, expect, it } from 'vitest';
import { findBrokenReferences, headingSlug, type RepoFile } from '../../scripts/check-references.ts';

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
      'a path outside the repository',
      'Specs: ../../shared/specs/a.yml',
      'cites ../../shared/specs/a.yml, outside the repository',
    ],
  ])('reports %s', (_case, text, problem) => {
    expect(problemsOf({ path: 'docs/notes.md', text: `Intro.\n\n${text}\n` })).toEqual([`docs/notes.md:3: ${problem}`]);
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
