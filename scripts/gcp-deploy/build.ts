/**
 * Packages a gcp.yml function for `gcloud functions deploy --source`: Cloud Functions (2nd gen)
 * builds a Node source directory with a package.json, so the TypeScript entry is bundled by esbuild
 * into `index.js` (ESM), everything bundled except @google-cloud/functions-framework, which the
 * package.json lists (the Node buildpack runs `functions-framework --target=<entryPoint>`).
 * The hash of the package is the function's `crosslink-source` label: a redeploy happens exactly
 * when the bundled code changed.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import type { FunctionSpec } from '#scripts/gcp-config.ts';

export interface FunctionPackage {
  /** Label value: 16 hex digits of the SHA-256 of index.js and package.json. */
  hash: string;
  files: { 'index.js': string; 'package.json': string };
}

const FRAMEWORK = '@google-cloud/functions-framework';

function frameworkVersion(): string {
  const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  return pkg.dependencies?.[FRAMEWORK] ?? '*';
}

/** Bundles one function in memory (nothing written). */
export async function packageFunction(root: string, fn: FunctionSpec): Promise<FunctionPackage> {
  const result = await build({
    entryPoints: [resolve(root, fn.source)],
    // Paths in the bundle's comments are relative to gcp.yml's folder, so the hash does not
    // depend on where the script runs.
    absWorkingDir: root,
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    external: [FRAMEWORK],
    legalComments: 'none',
    logLevel: 'silent',
    // Bundled CommonJS dependencies call require(): give the ESM bundle one.
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
  const code = result.outputFiles[0]?.text ?? '';
  const manifest = `${JSON.stringify(
    {
      name: `crosslink-${fn.name}`,
      private: true,
      type: 'module',
      main: 'index.js',
      engines: { node: '24' },
      dependencies: { [FRAMEWORK]: frameworkVersion() },
    },
    null,
    2,
  )}\n`;
  const hash = createHash('sha256').update(code).update('\0').update(manifest).digest('hex').slice(0, 16);
  return { hash, files: { 'index.js': code, 'package.json': manifest } };
}

/** Writes a package to `dir` (the `--source` of the deploy). */
export function writePackage(dir: string, pkg: FunctionPackage): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(pkg.files)) writeFileSync(join(dir, name), text);
}
