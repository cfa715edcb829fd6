/**
 * The Lambda bundles keep crosslink's error names. Step Functions' Retry / Catch match a Lambda's
 * error by its name, and the intakes answer with it as `error.code`. The bundles are minified
 * without keeping names (serverless.yml), so each error class the AWS functions can throw writes
 * its name as a string (functions/core/errors.ts): the check bundles every such class and the
 * intake's error mapping with serverless.yml's own esbuild settings, and fails for a class that
 * forgot to.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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
    const { minify, keepNames, target, platform, format, mainFields, banner } = template.custom.esbuild;
    // Every module whose error classes the AWS functions throw.
    const modules = [
      './functions/core/errors.ts',
      './functions/core/link/stage.ts',
      './functions/core/link/verify.ts',
      './functions/core/vpn/half.ts',
      './functions/aws/vpn-half.ts',
    ];
    const entry = `
      ${modules.map((m, i) => `import * as m${i} from '${m}';`).join('\n')}
      import { IllegalTransitionError } from './functions/core/errors.ts';
      import { errorToHttp } from './functions/core/link/http-errors.ts';
      const classes = {};
      for (const m of [${modules.map((_, i) => `m${i}`).join(', ')}])
        for (const [k, v] of Object.entries(m))
          if (typeof v === 'function' && v.prototype instanceof Error) classes[k] = new v(['x'], 'y').name;
      export const names = {
        classes,
        http: JSON.parse(errorToHttp(new IllegalTransitionError('FAILED', 'approve')).body).error.code,
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
      mainFields: mainFields as string[],
      banner: banner as Record<string, string>,
    });
    // A file, not a data: URL: the banner's createRequire needs a file URL.
    const dir = mkdtempSync(join(tmpdir(), 'crosslink-error-names-'));
    const file = join(dir, 'names.mjs');
    writeFileSync(file, out.outputFiles[0]?.text ?? '');
    let mod: { names: { classes: Record<string, string>; http: string } };
    try {
      mod = (await import(pathToFileURL(file).href)) as typeof mod;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Assess: each class's name is its exported name (there are many, so none can be missed).
    expect(minify).toBe(true);
    expect(Object.keys(mod.names.classes).length).toBeGreaterThan(15);
    expect(mod.names.classes).toEqual(Object.fromEntries(Object.keys(mod.names.classes).map((k) => [k, k])));
    expect(mod.names.classes).toMatchObject({
      IllegalTransitionError: 'IllegalTransitionError',
      ConflictError: 'ConflictError',
    });
    expect(mod.names.http).toBe('IllegalTransitionError');
  });
});
