/**
 * `@aws-sdk/credential-provider-node` in the Lambda bundles (stacks/esbuild-plugins.cjs): the SDK's
 * default credential chain reduced to its first link, `fromEnv`. Lambda gives a function its
 * execution role's credentials only in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN) and sets no AWS_PROFILE, so the real chain always answers from that link and
 * never reaches the later ones (SSO, ini files, a credential process, a web identity token file,
 * the container and instance metadata endpoints). Those credentials carry no expiration, so the
 * chain's memoization changes nothing either. Without them the SDK fails with fromEnv's
 * CredentialsProviderError ("Unable to find environment variable credentials.").
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init = {}) => fromEnv(init);
