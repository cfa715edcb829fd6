/**
 * What every orchestrated step accepts, checked before the step runs (the Lambda handlers' middy
 * parser, the Google steps function): a state machine or workflow that passes the wrong shape fails at
 * the step boundary with each problem named (`linkId: is not a link id`), not deep inside a use case.
 * Step-specific fields are checked where present; unknown fields are allowed (state carries extras).
 */
import { assertSchema } from '../schema.ts';

export const LINK_ID_SCHEMA = {
  type: 'string',
  pattern: '^lk-[0-7][0-9a-hjkmnp-tv-z]{25}$',
  'x-reason': 'is not a link id (lk- and a lowercase ULID)',
};

export const STEP_INPUT_SCHEMA = {
  type: 'object',
  required: ['linkId'],
  properties: {
    linkId: LINK_ID_SCHEMA,
    mode: { enum: ['initiate', 'accept'] },
    phase: { enum: ['approval', 'key', 'up', 'gone', 'decommissionApproval', 'drained'] },
    token: { type: 'string', minLength: 1 },
    request: { type: 'object' },
  },
};

/** A step's input, checked; ValidationError naming each field otherwise. */
export function parseStepInput<T>(step: string, value: unknown): T {
  return assertSchema<T>(STEP_INPUT_SCHEMA, value, `input of step ${step}`);
}
