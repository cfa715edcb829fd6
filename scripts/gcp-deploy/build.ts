/**
 * Packages a gcp.yml function for `gcloud functions deploy --source`: Cloud Functions (2nd gen)
 * builds a Node source directory with a package.json (the buildpack runs `npm install`, then
 * `functions-framework --target=<entryPoint>`). Our TypeScript (with its `#core/...` imports) is
 * bundled by esbuild into `index.js` (ESM); npm packages stay imports and the package.json lists
 * them at the versions installed here (bundling the Google clients would break their proto
 * loading), plus @google-cloud/functions-framework. The hash of the package is the function's
 * `crosslink-source` label: a redeploy happens exactly when the package changed.
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
const REPO = resolve(import.meta.dirname, '../..');

/** The installed version of an npm package (what the tests ran with). */
function installedVersion(name: string): string {
  try {
    return (
      JSON.parse(readFileSync(join(REPO, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  } catch {
    throw new Error(`the function imports ${name}, which is not installed (npm install it)`);
  }
}

/** `@scope/name/sub/path` -> `@scope/name`; `name/sub` -> `name`; built-ins -> undefined. */
function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('node:') || specifier.startsWith('.') || specifier.startsWith('/'))
    return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

interface Bundle {
  code: string;
  packages: string[];
}

/**
 * Bundles one function in memory (nothing written). `bundles` shares the bundling between
 * functions of one source file (the Google half's functions are entry points of one module).
 */
export async function packageFunction(
  root: string,
  fn: FunctionSpec,
  bundles = new Map<string, Promise<Bundle>>(),
): Promise<FunctionPackage> {
  const entry = resolve(root, fn.source);
  let bundled = bundles.get(entry);
  if (!bundled) {
    bundled = bundle(root, entry);
    bundles.set(entry, bundled);
  }
  const { code, packages } = await bundled;
  const dependencies = Object.fromEntries(
    [...new Set([FRAMEWORK, ...packages])].sort().map((name) => [name, installedVersion(name)]),
  );
  const manifest = `${JSON.stringify(
    {
      name: `crosslink-${fn.name}`,
      private: true,
      type: 'module',
      main: 'index.js',
      engines: { node: '24' },
      dependencies,
    },
    null,
    2,
  )}\n`;
  const hash = createHash('sha256').update(code).update('\0').update(manifest).digest('hex').slice(0, 16);
  return { hash, files: { 'index.js': code, 'package.json': manifest } };
}

async function bundle(root: string, entry: string): Promise<Bundle> {
  const result = await build({
    entryPoints: [entry],
    // Paths in the bundle's comments are relative to gcp.yml's folder, so the hash does not
    // depend on where the script runs.
    absWorkingDir: root,
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    packages: 'external',
    metafile: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports);
  const packages = imports
    .filter((i) => i.external)
    .map((i) => packageName(i.path))
    .filter((n): n is string => n !== undefined);
  return { code: result.outputFiles[0]?.text ?? '', packages };
}

/** Writes a package to `dir` (the `--source` of the deploy). */
export function writePackage(dir: string, pkg: FunctionPackage): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(pkg.files)) writeFileSync(join(dir, name), text);
}
