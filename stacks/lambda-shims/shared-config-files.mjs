/**
 * The SDK's shared config and credentials files (`loadSharedConfigFiles` of @smithy/core's config)
 * in the Lambda bundles (stacks/esbuild-plugins.cjs): the SDK reads ~/.aws/config and
 * ~/.aws/credentials (or AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE) for settings the environment
 * does not give, and takes a missing file as empty. A Lambda sandbox has neither file, the zips
 * hold none and serverless.yml names none, so in Lambda the answer is always two empty files,
 * which this gives without the ini parser.
 */
export const CONFIG_PREFIX_SEPARATOR = '.';

export const loadSharedConfigFiles = async () => ({ configFile: {}, credentialsFile: {} });
