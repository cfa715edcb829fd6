/** The variables `osls package` reads are part of the package cache key, with their values. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packagingVariables } from '#local/aws/wiring/packaging.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('packagingVariables', () => {
  it("names serverless.yml's env variables and the .cjs files' env reads, with their values", () => {
    // Prepare
    dir = mkdtempSync(join(tmpdir(), 'crosslink-pkgvars-'));
    const ref = (name: string, fallback = '') => `\${env:${name}${fallback}}`;
    writeFileSync(
      join(dir, 'serverless.yml'),
      `a: ${ref('CROSSLINK_A', ", 'x'")}\nb: ${ref('CROSSLINK_B')}\n`,
    );
    mkdirSync(join(dir, 'config'));
    writeFileSync(
      join(dir, 'config', 'roles.cjs'),
      'module.exports = (env = process.env) => env.CROSSLINK_C;\n',
    );
    // Act
    const vars = packagingVariables(dir, { CROSSLINK_A: '1', CROSSLINK_C: '3', UNRELATED: 'y' });
    // Assess: an unset one counts as unset (a later value makes another key).
    expect(vars).toEqual({ CROSSLINK_A: '1', CROSSLINK_B: null, CROSSLINK_C: '3' });
  });
});
