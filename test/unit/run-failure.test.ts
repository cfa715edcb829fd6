import { describe, expect, it } from 'vitest';
import { runFailureOf } from '#aws/steps.ts';
import { workflowFailureOf } from '#gcp/steps.ts';

describe("each adapter reads its orchestrator's error of a failed run for compensate", () => {
  it("Step Functions: a Lambda task's Cause is its error JSON; the message is errorMessage, without the stack", () => {
    const cause = JSON.stringify({
      errorType: 'PrefixesNotCoveredError',
      errorMessage: '10.10.0.0/16 not allowed',
      trace: ['PrefixesNotCoveredError: 10.10.0.0/16 not allowed', '    at verifyPrefixes (steps.ts:1:1)'],
    });
    expect(runFailureOf({ Error: 'PrefixesNotCoveredError', Cause: cause })).toEqual({
      errorName: 'PrefixesNotCoveredError',
      message: '10.10.0.0/16 not allowed',
    });
  });

  it('Step Functions: a Cause that is no Lambda error JSON (States.Timeout, a plain text) is the message as is', () => {
    expect(runFailureOf({ Error: 'States.Timeout', Cause: 'the task timed out' })).toEqual({
      errorName: 'States.Timeout',
      message: 'the task timed out',
    });
    expect(runFailureOf({ Error: 'States.TaskFailed', Cause: '{"other":1}' })).toEqual({
      errorName: 'States.TaskFailed',
      message: '{"other":1}',
    });
    expect(runFailureOf({ Error: 'HalfFailedError' })).toEqual({ errorName: 'HalfFailedError', message: '' });
    expect(runFailureOf(undefined)).toBeUndefined();
  });

  it("Workflows: error_of's Cause is the step's message itself, never parsed", () => {
    expect(workflowFailureOf({ Error: 'HalfFailedError', Cause: '{"errorMessage":"x"}' })).toEqual({
      errorName: 'HalfFailedError',
      message: '{"errorMessage":"x"}',
    });
    expect(workflowFailureOf(undefined)).toBeUndefined();
  });
});
