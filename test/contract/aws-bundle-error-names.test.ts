/**
 * The Lambda bundles keep crosslink's error names. Step Functions' Retry / Catch match a Lambda's
 * error by its name, and the intakes answer with it as `error.code`; both come from the class name
 * (functions/core/errors.ts), which a minifier renames unless told not to. The check bundles the
 * errors and the intake's error mapping with serverless.yml's own esbuild settings.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');

describe('the Lambda bundle settings of serverless.yml', () => {
  it('keep the names of the errors Step Functions and the CLI match on', async () => {
    // Prepare: serverless-esbuild's options as the template gives them (its own keys left out).
    const template = parseYaml(readFileSync(resolve(ROOT, 'serverless.yml'), 'utf8'), {
      logLevel: 'silent',
    }) as { custom: { esbuild: Record<string, unknown> } };
    const { minify, keepNames, target, platform, format } = template.custom.esbuild;
    const entry = `
      import * as errors from './functions/core/errors.ts';
      import { errorToHttp } from './functions/core/link/http-errors.ts';
      export const names = {
        transition: new errors.IllegalTransitionError('FAILED', 'approve').name,
        conflict: new errors.ConflictError('lost a race').name,
        http: JSON.parse(errorToHttp(new errors.IllegalTransitionError('FAILED', 'approve')).body).error.code,
      };`;
    // Act
    const out = await build({
      stdin: { contents: entry, resolveDir: ROOT, loader: 'ts' },
      bundle: true,
      write: false,
      minify: minify as boolean,
      keepNames: keepNames as boolean,
      target: target as string,
      platform: platform as 'node',
      format: format as 'esm',
    });
    const code = out.outputFiles[0]?.text ?? '';
    const mod = (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as {
      names: Record<string, string>;
    };
    // Assess
    expect(minify).toBe(true);
    expect(mod.names).toEqual({
      transition: 'IllegalTransitionError',
      conflict: 'ConflictError',
      http: 'IllegalTransitionError',
    });
  });
});
