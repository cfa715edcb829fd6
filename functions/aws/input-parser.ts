/**
 * The parser of the Lambda handlers' input: a middy middleware that checks the event against a JSON
 * Schema before the handler runs (the core's validator, so problems read `linkId: is not a link id`).
 * A malformed step input fails the task with `ValidationError` (the ASL's catch-all compensates); a
 * malformed HTTP API event gets the intake's 400 answer instead of reaching the routes.
 */
import type middy from '@middy/core';
import { ValidationError } from '#core/errors.ts';
import { parseStepInput } from '#core/link/step-input.ts';
import { assertSchema } from '#core/schema.ts';
import { errorToHttp } from './http-errors.ts';

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

export type InputKind =
  | { kind: 'step'; step: string }
  | { kind: 'sqs' }
  | { kind: 'eventbridge' }
  | { kind: 'http' }
  | { kind: 'self-test' }
  | { kind: 'eventbridge-or'; otherwise: object };

/** `crosslink doctor`'s invocation of a function's self-test. */
const SELF_TEST_SCHEMA = {
  type: 'object',
  required: ['crosslinkSelfTest'],
  additionalProperties: false,
  properties: { crosslinkSelfTest: { const: true } },
};

function check(kind: InputKind, event: unknown): void {
  switch (kind.kind) {
    case 'step':
      parseStepInput(kind.step, event);
      return;
    case 'eventbridge':
      assertSchema(EVENTBRIDGE_EVENT_SCHEMA, event, 'EventBridge event');
      return;
    case 'http':
      assertSchema(HTTP_API_EVENT_SCHEMA, event, 'HTTP API event');
      return;
    case 'sqs':
      assertSchema(SQS_EVENT_SCHEMA, event, 'SQS event');
      return;
    case 'self-test':
      assertSchema(SELF_TEST_SCHEMA, event, 'self-test invocation');
      return;
    case 'eventbridge-or':
      if (event && typeof event === 'object' && 'detail-type' in event)
        assertSchema(EVENTBRIDGE_EVENT_SCHEMA, event, 'EventBridge event');
      else assertSchema(kind.otherwise, event, 'invocation');
  }
}

export function parseInput(kind: InputKind): middy.MiddlewareObj {
  return {
    before: async (request) => {
      try {
        check(kind, request.event);
      } catch (e) {
        if (kind.kind === 'http' && e instanceof ValidationError) {
          // Returning a response from `before` ends the request there: the routes never see it.
          return errorToHttp(e);
        }
        throw e;
      }
      return undefined;
    },
  };
}
