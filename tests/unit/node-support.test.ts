import { describe, expect, it } from 'vitest';
import { nodeSupportNotice, projectEngines, supportedMajors } from '#local/node-support.ts';
import { LAMBDA_RUNTIME } from '../../infra/bundling.ts';

/** Which Node the command-line tools accept (`engines` in package.json), and the one line they print on another. */

const ENGINES = '^24.0.0 || ^22.12.0';
const LINE =
  'is not supported here: install Node.js 24 (22 from 22.12.0 still works) from https://nodejs.org/en/download';

describe('nodeSupportNotice', () => {
  it.each(['v24.0.0', 'v24.22.3', 'v22.12.0', 'v22.23.5'])('says nothing on %s', (version) => {
    expect(nodeSupportNotice(version, ENGINES)).toBeUndefined();
  });

  it.each(['v20.20.2', 'v22.11.0', 'v23.11.1', 'v26.0.0', 'v18.20.8'])(
    'says in one line which Node to install on %s',
    (version) => {
      expect(nodeSupportNotice(version, ENGINES)).toBe(`Node.js ${version} ${LINE}`);
    },
  );

  it('names an older major without its minimum when any of its versions works', () => {
    expect(nodeSupportNotice('v20.0.0', '^24.0.0 || ^22.0.0')).toBe(
      'Node.js v20.0.0 is not supported here: install Node.js 24 (22 still works) from https://nodejs.org/en/download',
    );
  });

  it('refuses an engines range it cannot read rather than guess', () => {
    expect(() => nodeSupportNotice('v24.0.0', '>=22')).toThrow('engines.node: expected caret ranges');
  });
});

describe("the project's engines", () => {
  it("recommend the Lambda runtime's Node, keep Node 22 working and no longer claim Node 20", () => {
    const majors = supportedMajors(projectEngines()).map(({ major }) => major);

    expect(`nodejs${majors[0]}.x`).toBe(LAMBDA_RUNTIME.name);
    expect(majors).toEqual([24, 22]);
  });
});
