/**
 * The parser of the Lambda handlers' input: a middy middleware that checks the event against a JSON
 * Schema before the handler runs (the core's validator, so problems read `linkId: is not a link id`).
 * A malformed step input fails the task with `ValidationError` (the ASL's catch-all compensates); a
 * malformed HTTP API event gets the intake's 400 answer instead of reaching the routes.
 */
import type middy from '@middy/core';
import { ValidationError } from '#core/errors.ts';
import { errorToHttp } from '#core/link/http-errors.ts';
import { parseStepInput } from '#core/link/step-input.ts';
import { assertValid, type Validator } from '#core/validation.ts';
import { eventBridgeEvent, httpApiEvent, selfTest, sqsEvent } from './validators.gen.ts';

export type InputKind =
  | { kind: 'step'; step: string }
  | { kind: 'sqs' }
  | { kind: 'eventbridge' }
  | { kind: 'http' }
  | { kind: 'self-test' }
  | { kind: 'eventbridge-or'; otherwise: Validator };

function check(kind: InputKind, event: unknown): void {
  switch (kind.kind) {
    case 'step':
      parseStepInput(kind.step, event);
      return;
    case 'eventbridge':
      assertValid(eventBridgeEvent, event, 'EventBridge event');
      return;
    case 'http':
      assertValid(httpApiEvent, event, 'HTTP API event');
      return;
    case 'sqs':
      assertValid(sqsEvent, event, 'SQS event');
      return;
    case 'self-test':
      assertValid(selfTest, event, 'self-test invocation');
      return;
    case 'eventbridge-or':
      if (event && typeof event === 'object' && 'detail-type' in event)
        assertValid(eventBridgeEvent, event, 'EventBridge event');
      else assertValid(kind.otherwise, event, 'invocation');
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
