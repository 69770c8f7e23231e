import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createTempDir } from '../helpers/temp-dirs.ts';
import { synth } from './synth.ts';

/** Values shaped like the real things, so that a leak anywhere would be found by a plain text search. */
const SENTINELS = {
  WEBHOOK_SECRET: 'whsec-SENTINEL-3f9c1e7a5b',
  ALOR_REFRESH_TOKEN: 'alor-refresh-SENTINEL-8d2b6c0e4a',
  TINKOFF_TOKEN: 't.SENTINEL-tinkoff-9a7e5c3b1d',
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('secret values', () => {
  it('never reach the template or any file of the cloud assembly, even when present in the shell and in context', () => {
    for (const [name, value] of Object.entries(SENTINELS)) vi.stubEnv(name, value);
    const outdir = createTempDir('ppp-cdk-out-');

    // Unknown context keys are ignored by the app; the known secret-value keys are refused (config.test.ts).
    const { app, template } = synth({ ...SENTINELS }, { outdir });
    app.synth({ force: true });

    const templateText = JSON.stringify(template.toJSON());
    const assemblyFiles = filesUnder(outdir);
    expect(assemblyFiles.length).toBeGreaterThan(2);
    for (const value of Object.values(SENTINELS)) {
      expect(templateText).not.toContain(value);
      for (const file of assemblyFiles) expect(readFileSync(file, 'utf8'), file).not.toContain(value);
    }
  });

  it('are neither set nor resolved by CloudFormation: no SecretString, no dynamic reference, no plain-value variable', () => {
    const { template } = synth();
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toContain('"SecretString"');
    expect(text).not.toContain('{{resolve:');
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      const names = Object.keys(fn.Properties.Environment.Variables);
      for (const plain of [
        'WEBHOOK_SECRET',
        'ALOR_REFRESH_TOKEN',
        'TINKOFF_TOKEN',
        'ALOR_PORTFOLIO',
        'TINKOFF_ACCOUNT_ID',
      ]) {
        expect(names).not.toContain(plain);
      }
    }
  });
});
