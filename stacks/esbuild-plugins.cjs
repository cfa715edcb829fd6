/**
 * esbuild plugins of the Lambda packaging (serverless.yml `custom.esbuild.plugins`).
 *
 * `lambdaShims`: modules of the SDK that Lambda never runs replaced by what Lambda does run
 * (stacks/lambda-shims/, each says why its behaviour in Lambda is the same): the default credential
 * chain by its first link, fromEnv (Lambda's credentials are in the environment); the region's
 * instance metadata lookup by "none" (Lambda always sets AWS_REGION and AWS_EXECUTION_ENV); the shared config and
 * credentials files, which a Lambda sandbox does not have, by two empty ones; S3's endpoint
 * parameters (no function bundles the S3 client) by a refusal; the pure-JavaScript SHA-256, the
 * fallback where node:crypto has none, by a class that says so; mnemonist's LRU cache, which
 * the DynamoDB client's endpoint cache builds, by one on a Map; EventBridge's multi-region signer
 * by the SigV4 signer, refusing SigV4a (which the SDK cannot sign here either); the adaptive retry
 * strategy, which no client is configured for, by a refusal; the event-stream codec a client
 * (Lambda's) imports at its top level, which serverless.yml leaves out of every bundle, by a
 * marshaller that refuses to be reached. And `sdkPackageVersion`: each
 * client imports its whole package.json for its version (the user agent's); it gets the version.
 *
 * `sdkSchemaLiteralKeys`: the AWS SDK clients describe their operations' shapes in one module
 * (`dist-es/schemas/schemas_0.js`), whose shape traits are object literals with computed keys
 * (`{ [_xN]: _m }`, `_xN` a module constant `"xmlName"`). esbuild must keep a statement with a
 * computed key (the key's conversion might have side effects), so it keeps every shape of the
 * service: the EC2 client bundled with one command is about 730 KB, 540 KB of them shapes it never
 * uses. A computed key that names a string constant of the same module is the same as that string
 * written as the key; written so, esbuild leaves out the shapes a function does not reach (EC2 with
 * one command: about 200 KB). The same plugin moves each service error's registration
 * (`n0_registry.registerError(E$, E)`, at the module's top level, which kept every error class of
 * the service) into the schema of each operation that throws it (`errorsByOperation`), and keeps
 * only the errors the build's own code imports from that client (`instanceof` needs the class) or
 * that the SDK marks retryable (`$retryable`, which its retry strategy reads): any other error
 * code is thrown as the service's base exception with the code as its `name`, the answer's message
 * and its other fields, which is what crosslink reads beside each `instanceof`.
 *
 * CommonJS: serverless-esbuild loads this file with require().
 */
'use strict';

const { readFileSync } = require('node:fs');
const { readFile } = require('node:fs/promises');
const { join } = require('node:path');

const SHIMS = join(__dirname, 'lambda-shims');

const SCHEMAS = /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/;

/** `code` with each `[_name]:` object key whose `_name` is a module-level string constant written as that string. */
function literalKeys(code) {
  const strings = new Map();
  for (const m of code.matchAll(/^const (_\w+) = ("(?:[^"\\\n]|\\.)*");$/gm)) strings.set(m[1], m[2]);
  return code.replace(/([{,]\s*)\[(_\w+)\]:/g, (all, before, name) =>
    strings.has(name) ? `${before}${strings.get(name)}:` : all,
  );
}

/**
 * The errors a command's documentation says it throws (`@throws {@link Name}` in the client's
 * dist-types/commands/<Operation>Command.d.ts, generated from the service model's operation errors),
 * or undefined when the client has no such file.
 */
function documentedErrors(commandsDir, operation) {
  let text;
  try {
    text = readFileSync(join(commandsDir, `${operation}Command.d.ts`), 'utf8');
  } catch {
    return undefined;
  }
  return new Set([...text.matchAll(/@throws \{@link (\w+)\}/g)].map((m) => m[1]));
}

/**
 * `code` (a shapes module, after literalKeys) with each service error registered by the operations
 * that throw it instead of at the module's top level: `registry.registerError(E$, E)` statements are
 * taken out, and each operation schema (`export var Op$ = [9, ...];`) becomes a pure call that
 * registers its errors (those `errorsOf(operation)` names, or every one when it names none) and
 * gives the schema. An operation a function never sends is left out with the registrations of its
 * errors, and an error class no kept operation registers is left out too. The service's base
 * exception (`_s_registry`) stays registered: an error code the registry does not hold is thrown as
 * that base exception with the code as its `name` (@aws-sdk/core ProtocolLib
 * `getErrorSchemaOrThrowBaseException`), which is what crosslink reads.
 */
function errorsByOperation(code, errorsOf) {
  const registrations = new Map();
  const body = code.replace(
    /^(\w+_registry)\.registerError\((\w+)\$, (\w+)\);\n/gm,
    (all, registry, schema, ctor) => {
      if (registry === '_s_registry' || schema !== ctor) return all;
      registrations.set(ctor, all.trim());
      return '';
    },
  );
  if (registrations.size === 0) return code;
  const operations = body.replace(
    /^export var (\w+)\$ = (\[9, [^\n]*\n(?:[^\n]*\n)*?\]);$/gm,
    (all, operation, schema) => {
      const named = errorsOf(operation);
      const errors = [...registrations].filter(([ctor]) => !named || named.has(ctor)).map(([, r]) => r);
      if (errors.length === 0) return all;
      return `export var ${operation}$ = /* @__PURE__ */ __registered(${schema.replace(/\n/g, ' ')}, () => { ${errors.join(' ')} });`;
    },
  );
  return `${operations}\nfunction __registered(schema, register) { register(); return schema; }\n`;
}

/** The error classes of a client whose instances the SDK marks retryable (`$retryable`, the model's retryable trait). */
function retryableErrors(clientDir) {
  let text = '';
  try {
    text = readFileSync(join(clientDir, 'dist-es', 'models', 'errors.js'), 'utf8');
  } catch {}
  return new Set(
    [...text.matchAll(/export class (\w+) extends [^{]*\{[^}]*?\$retryable = /g)].map((m) => m[1]),
  );
}

/**
 * What the project's code of a build imports by name from each `@aws-sdk/client-*` package
 * (`import { ResourceExistsException, ... } from '@aws-sdk/client-secrets-manager'`), read from the
 * project's modules the build's entries reach (a pass of esbuild without bundling the packages).
 */
async function importedFromClients(build) {
  const out = await build.esbuild.build({
    entryPoints: build.initialOptions.entryPoints,
    absWorkingDir: build.initialOptions.absWorkingDir,
    nodePaths: build.initialOptions.nodePaths,
    bundle: true,
    packages: 'external',
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'silent',
  });
  const names = new Map();
  const cwd = build.initialOptions.absWorkingDir ?? process.cwd();
  for (const input of Object.keys(out.metafile.inputs)) {
    const code = await readFile(join(cwd, input), 'utf8');
    const unread = unreadClientImport(code);
    if (unread)
      throw new Error(
        `${input}: \`${unread}\` reaches an AWS SDK client in a form this plugin cannot read; import its names ` +
          "(`import { X } from '@aws-sdk/client-...'`), or the bundle would leave out the error classes the code tests with instanceof",
      );
    for (const m of code.matchAll(
      /import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*['"]@aws-sdk\/(client-[\w-]+)['"]/g,
    )) {
      const set = names.get(m[2]) ?? new Set();
      for (const n of m[1].split(','))
        set.add(
          n
            .trim()
            .replace(/^type\s+/, '')
            .split(/\s+as\s+/)[0],
        );
      names.set(m[2], set);
    }
  }
  return names;
}

/**
 * A reference to an `@aws-sdk/client-*` package other than a named import: a namespace import
 * (`import * as sts from ...`), a re-export (`export { X } from ...`, `export * from ...`), a
 * dynamic `import(...)` or a `require(...)`. The plugin keeps only the error classes it sees named,
 * so it refuses these rather than drop a class the code needs.
 */
function unreadClientImport(code) {
  const m =
    /import\s*\*\s*as\s+\w+\s*from\s*['"]@aws-sdk\/client-[\w-]+['"]/.exec(code) ??
    /export\s*(?:\*|\{[^}]*\})\s*(?:as\s+\w+\s*)?from\s*['"]@aws-sdk\/client-[\w-]+['"]/.exec(code) ??
    /(?:import|require)\s*\(\s*['"]@aws-sdk\/client-[\w-]+['"]\s*\)/.exec(code) ??
    /import\s+\w+\s*(?:,\s*\{[^}]*\})?\s*from\s*['"]@aws-sdk\/client-[\w-]+['"]/.exec(code);
  return m ? m[0].replace(/\s+/g, ' ') : undefined;
}

const sdkSchemaLiteralKeys = {
  name: 'sdk-schema-literal-keys',
  setup(build) {
    let imported;
    build.onStart(async () => {
      try {
        imported = await importedFromClients(build);
      } catch (e) {
        return { errors: [{ text: e instanceof Error ? e.message : String(e) }] };
      }
    });
    build.onLoad({ filter: SCHEMAS }, async (args) => {
      const clientDir = args.path.replace(/[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/, '');
      const commands = join(clientDir, 'dist-types', 'commands');
      const client = /[\\/](client-[^\\/]+)$/.exec(clientDir)?.[1];
      const named = imported.get(client) ?? new Set();
      const retryable = retryableErrors(clientDir);
      return {
        contents: errorsByOperation(literalKeys(await readFile(args.path, 'utf8')), (operation) => {
          // Every error of the client where the documentation names none for the operation.
          const documented = documentedErrors(commands, operation) ?? new Set([...named, ...retryable]);
          return new Set([...documented].filter((e) => named.has(e) || retryable.has(e)));
        }),
        loader: 'js',
      };
    });
  },
};

const lambdaShims = {
  name: 'lambda-shims',
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({
      path: join(SHIMS, 'credential-provider-node.mjs'),
    }));
    build.onResolve({ filter: /^mnemonist\/lru-cache$/ }, () => ({ path: join(SHIMS, 'lru-cache.mjs') }));
    build.onResolve({ filter: /[./]AdaptiveRetryStrategy$/ }, (args) =>
      /[\\/]@smithy[\\/]core[\\/].*[\\/]middleware-retry[\\/]configurations\.js$/.test(args.importer)
        ? { path: join(SHIMS, 'adaptive-retry-strategy.mjs') }
        : undefined,
    );
    build.onResolve({ filter: /^@aws-sdk\/signature-v4-multi-region$/ }, () => ({
      path: join(SHIMS, 'signature-v4-multi-region.mjs'),
    }));
    build.onResolve({ filter: /[./]getInstanceMetadataRegion$/ }, (args) =>
      /[\\/]@smithy[\\/]core[\\/]/.test(args.importer)
        ? { path: join(SHIMS, 'instance-metadata-region.mjs') }
        : undefined,
    );
    build.onResolve({ filter: /[./]loadSharedConfigFiles$/ }, (args) =>
      /[\\/]@smithy[\\/]core[\\/]/.test(args.importer)
        ? { path: join(SHIMS, 'shared-config-files.mjs') }
        : undefined,
    );
    build.onResolve({ filter: /^\.\.\/service-customizations$/ }, (args) =>
      /[\\/]@smithy[\\/]core[\\/].*[\\/]getEndpointFromInstructions\.js$/.test(args.importer)
        ? { path: join(SHIMS, 's3-endpoint-params.mjs') }
        : undefined,
    );
    // The Lambda client's static imports of the event-stream codec, which `exclude` leaves out.
    build.onResolve({ filter: /^@smithy\/core\/event-streams$/ }, (args) =>
      /[\\/]@aws-sdk[\\/]client-lambda[\\/]/.test(args.importer)
        ? { path: join(SHIMS, 'lambda-event-streams.mjs') }
        : undefined,
    );
    build.onResolve({ filter: /^\.\/Sha256Js$/ }, (args) =>
      /[\\/]@smithy[\\/]core[\\/].*[\\/]Sha256Node\.js$/.test(args.importer)
        ? { path: join(SHIMS, 'sha256-js.mjs') }
        : undefined,
    );
  },
};

const CLIENT_PACKAGE = /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]package\.json$/;

const sdkPackageVersion = {
  name: 'sdk-package-version',
  setup(build) {
    build.onLoad({ filter: CLIENT_PACKAGE }, async (args) => ({
      contents: JSON.stringify({ version: JSON.parse(await readFile(args.path, 'utf8')).version }),
      loader: 'json',
    }));
  },
};

module.exports = [sdkSchemaLiteralKeys, lambdaShims, sdkPackageVersion];
module.exports.literalKeys = literalKeys;
module.exports.errorsByOperation = errorsByOperation;
module.exports.unreadClientImport = unreadClientImport;
