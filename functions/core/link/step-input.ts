/**
 * What every orchestrated step accepts, checked before the step runs (the Lambda handlers' middy
 * parser, the Google steps function): a state machine or workflow that passes the wrong shape fails at
 * the step boundary with each problem named (`linkId: is not a link id`), not deep inside a use case.
 * Step-specific fields are checked where present; unknown fields are allowed (state carries extras).
 */
import { assertValid } from '../validation.ts';
import { stepInput } from '../validators.gen.ts';

/** A step's input, checked; ValidationError naming each field otherwise. */
export function parseStepInput<T>(step: string, value: unknown): T {
  return assertValid<T>(stepInput, value, `input of step ${step}`);
}
