/**
 * The SDK's instance metadata lookup of the region (`getInstanceMetadataRegion` of @smithy/core's
 * config) in the Lambda bundles (stacks/esbuild-plugins.cjs). Its two callers: the region's last
 * resort, asked only when neither AWS_REGION nor a config file names one, and the `auto` defaults
 * mode's physical region, asked only when AWS_EXECUTION_ENV or the region variables are unset.
 * Lambda always sets AWS_REGION and AWS_EXECUTION_ENV, so it is never asked; answering "none"
 * keeps the SDK's own answers for a process without them ("Region is missing", mode `standard`).
 */
export const getInstanceMetadataRegion = async () => undefined;
