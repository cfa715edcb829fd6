/**
 * The SDK's pure-JavaScript SHA-256 (`Sha256Js` of @smithy/core's checksum) in the Lambda bundles
 * (stacks/esbuild-plugins.cjs): `Sha256Node` falls back to it only where node:crypto has no
 * sha256, which Node.js in Lambda always has, so it is never built there.
 */
export class Sha256Js {
  constructor() {
    throw new Error('SHA-256 without node:crypto is not in the Lambda bundles');
  }
}
