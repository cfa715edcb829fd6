/**
 * Packages a gcp.yml function for `gcloud functions deploy --source`: Cloud Functions (2nd gen)
 * builds a Node source directory with a package.json (the buildpack runs `npm install`, then
 * `functions-framework --target=<entryPoint>`). Our TypeScript (with its `#core/...` imports) is
 * bundled by esbuild into `index.js` (ESM); npm packages stay imports and the package.json lists
 * them at the versions installed here (bundling the Google clients would break their proto
 * loading), plus @google-cloud/functions-framework. The hash of the package is the function's
 * `crosslink-source` label: a redeploy happens exactly when the package changed.
 *
 * The policy (`config/policy.yaml` beside gcp.yml) is embedded at build time, validated, as the
 * value of the identifier `CROSSLINK_POLICY_DOCUMENT` (functions/gcp/runtime.ts): a function runs
 * under exactly the policy its package was built and hashed with, a changed policy changes the
 * package (and so redeploys it), and no file in the function's working directory can be missing or
 * differ. A bundle that uses the identifier when there is no policy file is refused.
 * config/pricing.yaml's VPN prices are embedded the same way (`CROSSLINK_PRICING_DOCUMENT`, checked
 * by `readVpnPrices`), for the VPN run Google coordinates.
 *
 * `builtFunction` writes a package to disk once per distinct package, keyed by the hash of its
 * inputs (the bundled source files, the policy, the installed versions): the local cloud runs each
 * function from that directory, as Cloud Run runs it from the uploaded source.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { parse as parseYaml } from 'yaml';
import { ValidationError } from '#core/errors.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { readVpnPrices } from '#core/vpn/run-policy.ts';
import { type FunctionSpec, POLICY_FILE } from '#deployment/gcp-config.ts';

export interface FunctionPackage {
  /** Label value: 16 hex digits of the SHA-256 of index.js and package.json. */
  hash: string;
  files: { 'index.js': string; 'package.json': string };
}

const FRAMEWORK = '@google-cloud/functions-framework';
/** The identifier a bundle reads the embedded policy from (functions/gcp/runtime.ts). */
export const POLICY_IDENTIFIER = 'CROSSLINK_POLICY_DOCUMENT';
/** Where the policy embedded in a package comes from, relative to gcp.yml's directory. */
export { POLICY_FILE };

const REPO = resolve(import.meta.dirname, '..');

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
  /** Files the bundle was made of (relative to the root), the policy file included when embedded. */
  inputs: string[];
  /** The code reads the embedded policy, and there is no policy file to embed. */
  policyMissing: boolean;
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
  const { code, packages, policyMissing } = await bundled;
  if (policyMissing)
    throw new Error(
      `${fn.source} embeds the policy, but ${resolve(root, POLICY_FILE)} does not exist (functions[${fn.name}])`,
    );
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

/** The identifier a bundle reads the embedded VPN prices from (functions/gcp/runtime.ts). */
export const PRICING_IDENTIFIER = 'CROSSLINK_PRICING_DOCUMENT';
/** Where the embedded prices come from, relative to gcp.yml's directory. */
export const PRICING_FILE = 'config/pricing.yaml';

/** config/pricing.yaml's `{currency, vpn}` beside gcp.yml, checked; undefined when there is no file. */
function pricingDocument(root: string): unknown {
  const file = resolve(root, PRICING_FILE);
  if (!existsSync(file)) return undefined;
  let doc: { currency?: unknown; vpn?: unknown };
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ValidationError([{ path: '', reason: `is not valid YAML: ${(e as Error).message}` }], file);
  }
  readVpnPrices(doc); // throws naming each bad field
  return { currency: doc.currency, vpn: doc.vpn };
}

/** The policy document beside gcp.yml, validated; undefined when there is no policy file. */
function policyDocument(root: string): { document: unknown; file: string } | undefined {
  const file = resolve(root, POLICY_FILE);
  if (!existsSync(file)) return undefined;
  let document: unknown;
  try {
    document = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ValidationError([{ path: '', reason: `is not valid YAML: ${(e as Error).message}` }], file);
  }
  loadPolicy(document); // throws naming each bad field
  return { document, file };
}

async function bundle(root: string, entry: string): Promise<Bundle> {
  const policy = policyDocument(root);
  const pricing = pricingDocument(root);
  const define: Record<string, string> = {
    ...(policy ? { [POLICY_IDENTIFIER]: JSON.stringify(policy.document) } : {}),
    ...(pricing !== undefined ? { [PRICING_IDENTIFIER]: JSON.stringify(pricing) } : {}),
  };
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
    ...(Object.keys(define).length ? { define } : {}),
  });
  const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports);
  const packages = imports
    .filter((i) => i.external)
    .map((i) => packageName(i.path))
    .filter((n): n is string => n !== undefined);
  const code = result.outputFiles[0]?.text ?? '';
  // Real files only (esbuild lists a definition as the input `<define:NAME>`).
  const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('<'));
  if (policy && code !== '') inputs.push(POLICY_FILE);
  if (pricing !== undefined && code !== '') inputs.push(PRICING_FILE);
  // Without a definition the identifier stays in the code as a free variable.
  return { code, packages, inputs, policyMissing: !policy && code.includes(POLICY_IDENTIFIER) };
}

/** Writes a package to `dir` (the `--source` of the deploy). */
export function writePackage(dir: string, pkg: FunctionPackage): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(pkg.files)) writeFileSync(join(dir, name), text);
}

/** A function's package on disk: the directory Cloud Run (or the local host) runs it from. */
export interface BuiltFunction {
  dir: string;
  /** The package hash (the `crosslink-source` label a deploy sets). */
  hash: string;
  /** Whether this call bundled it (false: the inputs were unchanged since a previous build). */
  built: boolean;
  /** The files it was built from, relative to the root (what a watcher of the sources watches). */
  inputs: string[];
}

interface InputsRecord {
  /** sha256 of each input file (relative to the root) and the installed version of each package. */
  files: Record<string, string>;
  versions: Record<string, string>;
  hash: string;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** Whether every input and installed version is what the record says (a missing file is a change). */
function unchanged(root: string, record: InputsRecord): boolean {
  for (const [file, digest] of Object.entries(record.files)) {
    const path = resolve(root, file);
    if (!existsSync(path) || sha256(readFileSync(path)) !== digest) return false;
  }
  for (const [name, version] of Object.entries(record.versions))
    if (installedVersion(name) !== version) return false;
  return true;
}

/** Writes `files` into `dir` as one step (a directory renamed into place); an existing `dir` stays. */
function writeOnce(dir: string, files: Record<string, string>): void {
  if (existsSync(dir)) return;
  const tmp = `${dir}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  mkdirSync(tmp, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(tmp, name), text);
  try {
    renameSync(tmp, dir);
  } catch (e) {
    // Another process wrote the same package (same hash, same content) first.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dir)) throw e;
  }
}

/**
 * The package of `fn` written under `outDir` (`<outDir>/<name>-<hash>/`), bundled only when its
 * inputs changed since the last build recorded in `<outDir>/inputs/<name>.json`. Concurrent builds
 * (several local clouds on one repository) are safe: packages are written whole under their hash.
 */
export async function builtFunction(
  root: string,
  fn: FunctionSpec,
  outDir: string,
  bundles = new Map<string, Promise<Bundle>>(),
): Promise<BuiltFunction> {
  const recordFile = join(outDir, 'inputs', `${fn.name}.json`);
  const packageDir = (hash: string) => join(outDir, `${fn.name}-${hash}`);
  if (existsSync(recordFile)) {
    const record = JSON.parse(readFileSync(recordFile, 'utf8')) as InputsRecord;
    if (existsSync(packageDir(record.hash)) && unchanged(root, record))
      return {
        dir: packageDir(record.hash),
        hash: record.hash,
        built: false,
        inputs: Object.keys(record.files),
      };
  }
  const entry = resolve(root, fn.source);
  let bundled = bundles.get(entry);
  if (!bundled) {
    bundled = bundle(root, entry);
    bundles.set(entry, bundled);
  }
  const { inputs } = await bundled;
  const pkg = await packageFunction(root, fn, bundles);
  const dir = packageDir(pkg.hash);
  writeOnce(dir, pkg.files);
  const dependencies = (JSON.parse(pkg.files['package.json']) as { dependencies: Record<string, string> })
    .dependencies;
  const record: InputsRecord = {
    files: Object.fromEntries(inputs.map((f) => [f, sha256(readFileSync(resolve(root, f)))])),
    versions: dependencies,
    hash: pkg.hash,
  };
  mkdirSync(join(outDir, 'inputs'), { recursive: true });
  const tmp = `${recordFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(tmp, recordFile);
  return { dir, hash: pkg.hash, built: true, inputs: Object.keys(record.files) };
}
