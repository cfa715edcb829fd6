/**
 * The SDK's instance metadata lookup of the region (`getInstanceMetadataRegion` of @smithy/core's
 * config) in the Lambda bundles (stacks/esbuild-plugins.cjs): the region's last resort, asked only
 * when neither AWS_REGION nor a config file names one. Lambda always sets AWS_REGION, so it is never
 * asked; answering "none" keeps the SDK's own error ("Region is missing") for a process without it.
 */
export const getInstanceMetadataRegion = async () => undefined;
