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

/**
 * What a handler's input is checked against. Each check names only its own validator, so a bundle
 * holds the validators of its function's input and no other (the step input's, an EventBridge
 * event's, an HTTP API event's...): a switch over every kind kept them all in every bundle.
 */
export interface InputCheck {
  check(event: unknown): void;
  /** An HTTP API event: a malformed one gets the intake's 400 answer instead of an error. */
  http?: boolean;
}

/** A state machine step's input (functions/core/link/step-input.ts). */
export const stepInput = (step: string): InputCheck => ({ check: (event) => parseStepInput(step, event) });

export const eventBridgeInput: InputCheck = {
  check: (event) => assertValid(eventBridgeEvent, event, 'EventBridge event'),
};

export const httpInput: InputCheck = {
  http: true,
  check: (event) => assertValid(httpApiEvent, event, 'HTTP API event'),
};

export const sqsInput: InputCheck = { check: (event) => assertValid(sqsEvent, event, 'SQS event') };

export const selfTestInput: InputCheck = {
  check: (event) => assertValid(selfTest, event, 'self-test invocation'),
};

/** An EventBridge event (one with `detail-type`), or else a direct invocation checked by `otherwise`. */
export const eventBridgeOr = (otherwise: Validator): InputCheck => ({
  check: (event) => {
    if (event && typeof event === 'object' && 'detail-type' in event)
      assertValid(eventBridgeEvent, event, 'EventBridge event');
    else assertValid(otherwise, event, 'invocation');
  },
});

export function parseInput(input: InputCheck): middy.MiddlewareObj {
  return {
    before: async (request) => {
      try {
        input.check(request.event);
      } catch (e) {
        if (input.http && e instanceof ValidationError) {
          // Returning a response from `before` ends the request there: the routes never see it.
          return errorToHttp(e);
        }
        throw e;
      }
      return undefined;
    },
  };
}
