/**
 * The S3 part of the SDK's endpoint resolution (`resolveParamsForS3` of @smithy/core's endpoints)
 * in the Lambda bundles (stacks/esbuild-plugins.cjs): asked only for an S3 client's requests, and no
 * function bundles the S3 client.
 */
export const resolveParamsForS3 = async () => {
  throw new Error('S3 endpoint parameters: the S3 client is not in the Lambda bundles');
};
