/**
 * The SDK's adaptive retry strategy (`AdaptiveRetryStrategy` and its client-side rate limiter) in
 * the Lambda bundles (stacks/esbuild-plugins.cjs): a client builds it only in the adaptive retry
 * mode, which it takes from its `retryMode` option, AWS_RETRY_MODE or a shared config file's
 * `retry_mode`. Crosslink's clients name no retry mode, serverless.yml sets no AWS_RETRY_MODE
 * (test/contract/lambda-bundles.test.ts holds it to that) and a Lambda sandbox has no config file,
 * so every client takes the standard mode. Set anyway, the mode is refused at the client's first
 * call, saying so, rather than quietly retried in another mode.
 */
export class AdaptiveRetryStrategy {
  constructor() {
    throw new Error(
      'The adaptive retry mode (AWS_RETRY_MODE=adaptive) is not in the Lambda bundles: they retry in the standard mode (stacks/lambda-shims/adaptive-retry-strategy.mjs)',
    );
  }
}
