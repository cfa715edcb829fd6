/**
 * The policy the Lambda bundles embed (config/policy-document.cjs, serverless.yml's esbuild
 * `define`): the shipped policy.yaml as its JSON document, validated at packaging, so an invalid
 * policy stops the packaging naming each problem instead of reaching a function.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ValidationError } from '#core/errors.ts';

const policyDocument = createRequire(import.meta.url)('../../config/policy-document.cjs') as {
  (): { json: string };
  policyJson(file: string): string;
};
const dir = mkdtempSync(join(tmpdir(), 'crosslink-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the embedded policy document', () => {
  it('is config/policy.yaml as JSON', () => {
    expect(JSON.parse(policyDocument().json)).toEqual(parse(readFileSync('config/policy.yaml', 'utf8')));
  });

  it('refuses an invalid policy, naming each field and why', () => {
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, 'version: 1\nregionPairs: [{ aws: nowhere, gcp: us-east4 }]\nbandwidths: []\n');
    let thrown: unknown;
    try {
      policyDocument.policyJson(file);
    } catch (e) {
      thrown = e;
    }
    // require() loads its own copy of the core modules: the class is the same by name, not identity.
    expect((thrown as Error).name).toBe('ValidationError');
    expect((thrown as ValidationError).issues).toEqual(
      expect.arrayContaining([
        { path: 'regionPairs[0].aws', reason: 'must be an AWS region such as us-east-1' },
        { path: 'bandwidths', reason: 'must have at least 1 item' },
        { path: 'environments', reason: 'is required' },
      ]),
    );
  });
});
