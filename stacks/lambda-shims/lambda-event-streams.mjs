/**
 * The event-stream codec of @smithy/core as the Lambda client's configuration reaches it, in the
 * Lambda bundles (stacks/esbuild-plugins.cjs): `LambdaClient` builds an event-stream marshaller when
 * it is constructed, for `InvokeWithResponseStream`, which crosslink never calls (drCommanded
 * invokes its hooks RequestResponse). The codec itself is left out of every bundle (serverless.yml
 * `exclude`: a static import of it would fail the function's start with ERR_MODULE_NOT_FOUND), so
 * the marshaller here refuses any use, naming why.
 */
const refuse = () => {
  throw new Error('event streams are not in the Lambda bundles: no crosslink function streams an operation');
};

export const eventStreamSerdeProvider = () => ({ serialize: refuse, deserialize: refuse });

export const resolveEventStreamSerdeConfig = (input) =>
  Object.assign(input, { eventStreamMarshaller: input.eventStreamSerdeProvider(input) });
