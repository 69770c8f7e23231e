import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Directories a test file makes in the OS temp dir (CDK cloud assemblies, esbuild output). The setup file removes
 * them after each test file (tests/helpers/setup.ts), whether its tests passed or failed, so `npm test` leaves
 * nothing behind.
 */

const created: string[] = [];

/** A new empty directory in the OS temp dir, removed after the test file. */
export function createTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}
