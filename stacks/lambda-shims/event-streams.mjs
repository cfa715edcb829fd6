/**
 * `@smithy/core/event-streams` where a client imports it at its top level (the Lambda client's
 * construction resolves its event-stream marshaller: `resolveEventStreamSerdeConfig`,
 * `eventStreamSerdeProvider`), in the Lambda bundles (stacks/esbuild-plugins.cjs). serverless.yml
 * leaves the event-stream codec out of every bundle: no operation crosslink calls streams events
 * (a hook's `Invoke` answers in one payload; `InvokeWithResponseStream` is never sent). The client
 * is built as the SDK builds it; reaching the marshaller (an event-stream operation) is refused,
 * saying so, rather than failing the whole function at its import.
 */
const refuse = () => {
  throw new Error(
    'Event streams are not in the Lambda bundles: no operation crosslink calls streams events (stacks/lambda-shims/event-streams.mjs)',
  );
};

export const eventStreamSerdeProvider = () => ({ serialize: refuse, deserialize: refuse });

export const resolveEventStreamSerdeConfig = (input) =>
  Object.assign(input, { eventStreamMarshaller: input.eventStreamSerdeProvider(input) });
