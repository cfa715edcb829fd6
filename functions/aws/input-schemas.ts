/**
 * The JSON Schemas of what the Lambda handlers receive (./input-parser.ts checks them, by the
 * validators compiled from them ahead of time, ./validators.gen.ts).
 */
import { LINK_ID_SCHEMA } from '#core/link/step-input-schema.ts';

/** The parts of an EventBridge delivery a consumer relies on before it reads the CloudEvent inside. */
export const EVENTBRIDGE_EVENT_SCHEMA = {
  type: 'object',
  required: ['source', 'detail-type', 'detail'],
  properties: {
    source: { type: 'string', minLength: 1 },
    'detail-type': { type: 'string', minLength: 1 },
    detail: { type: 'object' },
  },
};

/** An API Gateway HTTP API (payload 2.0) event: the route and the request context the intake reads. */
export const HTTP_API_EVENT_SCHEMA = {
  type: 'object',
  required: ['routeKey', 'requestContext'],
  properties: {
    routeKey: { type: 'string', minLength: 1 },
    requestContext: { type: 'object' },
    body: { type: 'string' },
    isBase64Encoded: { type: 'boolean' },
    pathParameters: { type: 'object' },
    queryStringParameters: { type: 'object' },
    headers: { type: 'object' },
  },
};

/** An SQS event source batch: the records the relay reads (each body is checked by the relay itself). */
export const SQS_EVENT_SCHEMA = {
  type: 'object',
  required: ['Records'],
  properties: {
    Records: {
      type: 'array',
      items: {
        type: 'object',
        required: ['messageId', 'body'],
        properties: { messageId: { type: 'string', minLength: 1 }, body: { type: 'string' } },
      },
    },
  },
};

/** `crosslink doctor`'s invocation of a function's self-test. */
export const SELF_TEST_SCHEMA = {
  type: 'object',
  required: ['crosslinkSelfTest'],
  additionalProperties: false,
  properties: { crosslinkSelfTest: { const: true } },
};

/** The starter's direct invocation (a stage to start for a link), beside the EventBridge events it takes. */
export const START_REQUEST_SCHEMA = {
  type: 'object',
  required: ['linkId', 'stage'],
  properties: {
    linkId: LINK_ID_SCHEMA,
    stage: { enum: ['provisioning', 'decommissioning'] },
    input: { type: 'object' },
  },
};

/** Any object (the watcher's scheduled invocation carries nothing it reads). */
export const OBJECT_SCHEMA = { type: 'object' };
