/**
 * `@aws-sdk/signature-v4-multi-region` in the Lambda bundles (stacks/esbuild-plugins.cjs): the
 * EventBridge client's signer. The SDK's signs with SigV4, and with SigV4a only where an endpoint
 * asks for it (`signingRegion: "*"`: EventBridge's global endpoints, chosen by a PutEvents
 * `EndpointId`), for which it needs @aws-sdk/signature-v4-crt or @aws-sdk/signature-v4a; neither
 * is installed, so the SDK answers that it has no SigV4a (`sigv4aDependency()` is "none") and
 * fails such a request. Crosslink puts events on its regional bus and names no EndpointId. This
 * one is the SigV4 signer alone, with the same "none", and refuses a SigV4a request saying so.
 */
import { SignatureV4 } from '@smithy/signature-v4';

const refuse = () => {
  throw new Error(
    'SigV4a (signingRegion "*", an EventBridge global endpoint) is not in the Lambda bundles, which sign with SigV4 only (stacks/lambda-shims/signature-v4-multi-region.mjs)',
  );
};

export class SignatureV4MultiRegion extends SignatureV4 {
  static sigv4aDependency() {
    return 'none';
  }

  async sign(request, options = {}) {
    if (options.signingRegion === '*') refuse();
    return super.sign(request, options);
  }

  async presign(request, options = {}) {
    if (options.signingRegion === '*') refuse();
    return super.presign(request, options);
  }
}
