/**
 * esbuild plugins of the Lambda packaging (serverless.yml `custom.esbuild.plugins`).
 *
 * `sdkSchemaLiteralKeys`: the AWS SDK clients describe their operations' shapes in one module
 * (`dist-es/schemas/schemas_0.js`), whose shape traits are object literals with computed keys
 * (`{ [_xN]: _m }`, `_xN` a module constant `"xmlName"`). esbuild must keep a statement with a
 * computed key (the key's conversion might have side effects), so it keeps every shape of the
 * service: the EC2 client bundled with one command is about 730 KB, 540 KB of them shapes it never
 * uses. A computed key that names a string constant of the same module is the same as that string
 * written as the key; written so, esbuild leaves out the shapes a function does not reach (EC2 with
 * one command: about 200 KB). Nothing else in the module changes.
 *
 * CommonJS: serverless-esbuild loads this file with require().
 */
'use strict';

const { readFile } = require('node:fs/promises');

const SCHEMAS = /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/;

/** `code` with each `[_name]:` object key whose `_name` is a module-level string constant written as that string. */
function literalKeys(code) {
  const strings = new Map();
  for (const m of code.matchAll(/^const (_\w+) = ("(?:[^"\\\n]|\\.)*");$/gm)) strings.set(m[1], m[2]);
  return code.replace(/([{,]\s*)\[(_\w+)\]:/g, (all, before, name) =>
    strings.has(name) ? `${before}${strings.get(name)}:` : all,
  );
}

const sdkSchemaLiteralKeys = {
  name: 'sdk-schema-literal-keys',
  setup(build) {
    build.onLoad({ filter: SCHEMAS }, async (args) => ({
      contents: literalKeys(await readFile(args.path, 'utf8')),
      loader: 'js',
    }));
  },
};

module.exports = [sdkSchemaLiteralKeys];
module.exports.literalKeys = literalKeys;
