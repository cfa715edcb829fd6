import { describe, expect, it } from 'vitest';
import { InvalidDefinitionError, validateDefinition } from '#local/aws/sfn/definition.ts';
import {
  type Execution,
  type LambdaRequest,
  type LambdaResponse,
  TaskTokenError,
} from '#local/aws/sfn/execution.ts';
import { StepFunctionsEngine } from '#local/aws/sfn/interpreter.ts';
import { manualClock, settle } from '../../support/timers.ts';

const ACCOUNT = '000000000000';
const fnArn = (n: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${n}`;

// biome-ignore lint/suspicious/noExplicitAny: test handlers read their events ad hoc.
type Handler = (event: any) => unknown;

/** A Lambda port backed by plain functions: a thrown error becomes a function error as Lambda reports it. */
function lambdas(handlers: Record<string, Handler>, calls: LambdaRequest[] = []) {
  return async (req: LambdaRequest): Promise<LambdaResponse> => {
    calls.push(req);
    const name = req.functionName.split(':function:').pop()?.split(':')[0] ?? req.functionName;
    const h = handlers[name];
    if (!h)
      throw Object.assign(new Error(`Function not found: ${req.functionName}`), {
        name: 'ResourceNotFoundException',
      });
    try {
      return { payload: await h(req.payload), executedVersion: '$LATEST' };
    } catch (err) {
      const e = err as Error;
      return {
        payload: { errorType: e.name, errorMessage: e.message, trace: [] },
        executedVersion: '$LATEST',
        functionError: 'Unhandled',
      };
    }
  };
}

function setup(handlers: Record<string, Handler> = {}, random?: () => number) {
  const clock = manualClock();
  const calls: LambdaRequest[] = [];
  const engine = new StepFunctionsEngine({
    clock,
    invokeLambda: lambdas(handlers, calls),
    region: 'us-east-1',
    ...(random ? { random } : {}),
  });
  let n = 0;
  const start = (def: object, input: unknown = {}): Execution => {
    const definition = validateDefinition(JSON.stringify(def));
    const machine = {
      arn: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:m`,
      name: 'm',
      definition,
      roleArn: `arn:aws:iam::${ACCOUNT}:role/r`,
    };
    const name = `e${++n}`;
    return engine.start(
      machine,
      name,
      JSON.stringify(input),
      `arn:aws:states:us-east-1:${ACCOUNT}:execution:m:${name}`,
    );
  };
  return { clock, engine, start, calls };
}

const types = (e: Execution) => e.history.map((h) => h.type);
const output = (e: Execution) => JSON.parse(e.output ?? 'null');

describe('Step Functions interpreter: data flow', () => {
  it('applies InputPath, Parameters, ResultSelector, ResultPath and OutputPath in that order', async () => {
    // Prepare
    const { start } = setup({ echo: (e) => ({ got: e, extra: 1 }) });
    // Act
    const ex = start(
      {
        StartAt: 'T',
        States: {
          T: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            InputPath: '$.order',
            Parameters: { FunctionName: 'echo', 'Payload.$': '$', 'Payload2.$': '$$.Execution.Name' },
            ResultSelector: { 'body.$': '$.Payload.got', 'status.$': '$.StatusCode' },
            ResultPath: '$.order.result',
            OutputPath: '$.order',
            End: true,
          },
        },
      },
      { order: { id: 7 }, other: true },
    );
    await ex.done;
    // Assess
    expect(ex.status).toBe('SUCCEEDED');
    expect(output(ex)).toEqual({ id: 7, result: { body: { id: 7 }, status: 200 } });
  });

  it('runs Pass with Result, Parameters with intrinsic functions, and ResultPath null', async () => {
    const { start } = setup();
    const ex = start(
      {
        StartAt: 'A',
        States: {
          A: { Type: 'Pass', Result: { x: 1 }, ResultPath: '$.fixed', Next: 'B' },
          B: {
            Type: 'Pass',
            Parameters: {
              'greeting.$': "States.Format('Hello, {} #{}', $.name, $.fixed.x)",
              'parsed.$': 'States.StringToJson($.json)',
              'text.$': 'States.JsonToString($.fixed)',
              'arr.$': 'States.Array(1, $.name, true)',
              'parts.$': 'States.ArrayPartition(States.ArrayRange(1, 5, 1), 2)',
              'has.$': 'States.ArrayContains($.list, 2)',
              'len.$': 'States.ArrayLength($.list)',
              'item.$': 'States.ArrayGetItem($.list, 1)',
              'uniq.$': 'States.ArrayUnique($.list)',
              'b64.$': "States.Base64Encode('hi')",
              'unb64.$': "States.Base64Decode('aGk=')",
              'hash.$': "States.Hash('abc', 'SHA-256')",
              'merged.$': 'States.JsonMerge($.fixed, $.more, false)',
              'sum.$': 'States.MathAdd($.fixed.x, 41)',
              'split.$': "States.StringSplit('a,b,,c', ',')",
              'id.$': 'States.UUID()',
              literal: 'kept',
            },
            ResultPath: '$.out',
            Next: 'C',
          },
          C: { Type: 'Pass', ResultPath: null, Result: 'dropped', End: true },
        },
      },
      { name: 'Ada', json: '{"k":[1]}', list: [1, 2, 2, 3], more: { y: 2 } },
    );
    await ex.done;
    const out = output(ex).out;
    expect(out).toMatchObject({
      greeting: 'Hello, Ada #1',
      parsed: { k: [1] },
      text: '{"x":1}',
      arr: [1, 'Ada', true],
      parts: [[1, 2], [3, 4], [5]],
      has: true,
      len: 4,
      item: 2,
      uniq: [1, 2, 3],
      b64: 'aGk=',
      unb64: 'hi',
      hash: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      merged: { x: 1, y: 2 },
      sum: 42,
      split: ['a', 'b', 'c'],
      literal: 'kept',
    });
    expect(out.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(output(ex).fixed).toEqual({ x: 1 });
    expect(types(ex)).toEqual([
      'ExecutionStarted',
      'PassStateEntered',
      'PassStateExited',
      'PassStateEntered',
      'PassStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('fails with States.Runtime when a Parameters path is missing, and States.IntrinsicFailure on misuse', async () => {
    const { start } = setup();
    const missing = start({
      StartAt: 'A',
      States: { A: { Type: 'Pass', Parameters: { 'x.$': '$.nope' }, End: true } },
    });
    const misuse = start(
      {
        StartAt: 'A',
        States: { A: { Type: 'Pass', Parameters: { 'x.$': 'States.StringToJson($.s)' }, End: true } },
      },
      { s: 'not json' },
    );
    await Promise.all([missing.done, misuse.done]);
    expect([missing.status, missing.error]).toEqual(['FAILED', 'States.Runtime']);
    expect([misuse.status, misuse.error]).toEqual(['FAILED', 'States.IntrinsicFailure']);
  });
});

describe('Step Functions interpreter: Choice', () => {
  const choose = async (rule: object, input: unknown) => {
    const { start } = setup();
    const ex = start(
      {
        StartAt: 'C',
        States: {
          C: { Type: 'Choice', Choices: [{ ...rule, Next: 'Yes' }], Default: 'No' },
          Yes: { Type: 'Pass', Result: 'yes', End: true },
          No: { Type: 'Pass', Result: 'no', End: true },
        },
      },
      input,
    );
    await ex.done;
    return output(ex);
  };
  const input = {
    s: 'banana',
    n: 10,
    b: true,
    t: '2026-01-01T10:00:00Z',
    other: 'banana',
    m: 10,
    z: null,
  };
  it.each([
    [{ Variable: '$.s', StringEquals: 'banana' }, 'yes'],
    [{ Variable: '$.s', StringEquals: 'apple' }, 'no'],
    [{ Variable: '$.s', StringEqualsPath: '$.other' }, 'yes'],
    [{ Variable: '$.s', StringLessThan: 'cherry' }, 'yes'],
    [{ Variable: '$.s', StringGreaterThan: 'cherry' }, 'no'],
    [{ Variable: '$.s', StringLessThanEquals: 'banana' }, 'yes'],
    [{ Variable: '$.s', StringGreaterThanEquals: 'banana' }, 'yes'],
    [{ Variable: '$.s', StringMatches: 'ban*' }, 'yes'],
    [{ Variable: '$.s', StringMatches: 'b*x' }, 'no'],
    [{ Variable: '$.n', NumericEquals: 10 }, 'yes'],
    [{ Variable: '$.n', NumericEqualsPath: '$.m' }, 'yes'],
    [{ Variable: '$.n', NumericLessThan: 10 }, 'no'],
    [{ Variable: '$.n', NumericGreaterThan: 9.5 }, 'yes'],
    [{ Variable: '$.n', NumericLessThanEquals: 10 }, 'yes'],
    [{ Variable: '$.n', NumericGreaterThanEquals: 11 }, 'no'],
    [{ Variable: '$.n', StringEquals: '10' }, 'no'],
    [{ Variable: '$.b', BooleanEquals: true }, 'yes'],
    [{ Variable: '$.b', BooleanEqualsPath: '$.b' }, 'yes'],
    [{ Variable: '$.t', TimestampEquals: '2026-01-01T10:00:00Z' }, 'yes'],
    [{ Variable: '$.t', TimestampLessThan: '2026-01-01T09:00:00Z' }, 'no'],
    [{ Variable: '$.t', TimestampGreaterThan: '2025-12-31T23:00:00Z' }, 'yes'],
    [{ Variable: '$.t', TimestampLessThanEquals: '2026-01-01T10:00:00Z' }, 'yes'],
    [{ Variable: '$.t', TimestampGreaterThanEquals: '2026-01-02T00:00:00Z' }, 'no'],
    [{ Variable: '$.t', TimestampEqualsPath: '$.t' }, 'yes'],
    [{ Variable: '$.z', IsNull: true }, 'yes'],
    [{ Variable: '$.missing', IsPresent: false }, 'yes'],
    [{ Variable: '$.s', IsPresent: true }, 'yes'],
    [{ Variable: '$.n', IsNumeric: true }, 'yes'],
    [{ Variable: '$.s', IsString: true }, 'yes'],
    [{ Variable: '$.b', IsBoolean: false }, 'no'],
    [{ Variable: '$.t', IsTimestamp: true }, 'yes'],
    [
      {
        And: [
          { Variable: '$.n', NumericGreaterThan: 1 },
          { Variable: '$.s', StringEquals: 'banana' },
        ],
      },
      'yes',
    ],
    [
      {
        Or: [
          { Variable: '$.n', NumericGreaterThan: 100 },
          { Variable: '$.b', BooleanEquals: false },
        ],
      },
      'no',
    ],
    [{ Not: { Variable: '$.s', StringEquals: 'apple' } }, 'yes'],
  ])('%j -> %s', async (rule, expected) => {
    expect(await choose(rule, input)).toBe(expected);
  });

  it('fails with States.NoChoiceMatched when nothing matches and there is no Default', async () => {
    const { start } = setup();
    const ex = start({
      StartAt: 'C',
      States: {
        C: { Type: 'Choice', Choices: [{ Variable: '$.x', IsPresent: true, Next: 'D' }] },
        D: { Type: 'Succeed' },
      },
    });
    await ex.done;
    expect([ex.status, ex.error]).toEqual(['FAILED', 'States.NoChoiceMatched']);
  });
});

describe('Step Functions interpreter: Wait on the virtual clock', () => {
  it.each([
    [{ Seconds: 60 }, {}],
    [{ Timestamp: '2026-01-01T00:01:00Z' }, {}],
    [{ SecondsPath: '$.s' }, { s: 60 }],
    [{ TimestampPath: '$.t' }, { t: '2026-01-01T00:01:00Z' }],
  ])('%j waits exactly one virtual minute', async (wait, input) => {
    const { clock, start } = setup();
    const ex = start({ StartAt: 'W', States: { W: { Type: 'Wait', ...wait, End: true } } }, input);
    await clock.advance(59_000);
    expect(ex.status).toBe('RUNNING');
    await clock.advance(1_000);
    await ex.done;
    expect(ex.status).toBe('SUCCEEDED');
    expect(ex.stopDate?.toISOString()).toBe('2026-01-01T00:01:00.000Z');
    expect(types(ex)).toEqual([
      'ExecutionStarted',
      'WaitStateEntered',
      'WaitStateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('times the whole execution out with TimeoutSeconds', async () => {
    const { clock, start } = setup();
    const ex = start({
      TimeoutSeconds: 30,
      StartAt: 'W',
      States: { W: { Type: 'Wait', Seconds: 3600, End: true } },
    });
    await clock.advance(30_000);
    await ex.done;
    expect(ex.status).toBe('TIMED_OUT');
    expect(types(ex).at(-1)).toBe('ExecutionTimedOut');
  });
});

describe('Step Functions interpreter: Succeed, Fail, Parallel, Map', () => {
  it('ends FAILED with the Fail state error and cause, from fields or paths', async () => {
    const { start } = setup();
    const a = start({ StartAt: 'F', States: { F: { Type: 'Fail', Error: 'Boom', Cause: 'because' } } });
    const b = start(
      { StartAt: 'F', States: { F: { Type: 'Fail', ErrorPath: '$.e', CausePath: '$.c' } } },
      { e: 'E', c: 'C' },
    );
    await Promise.all([a.done, b.done]);
    expect([a.status, a.error, a.cause]).toEqual(['FAILED', 'Boom', 'because']);
    expect([b.error, b.cause]).toEqual(['E', 'C']);
    expect(types(a)).toEqual(['ExecutionStarted', 'FailStateEntered', 'ExecutionFailed']);
  });

  it('runs Parallel branches on the same input and collects their outputs in order', async () => {
    const { start } = setup({ double: (e) => e.n * 2 });
    const ex = start(
      {
        StartAt: 'P',
        States: {
          P: {
            Type: 'Parallel',
            Branches: [
              { StartAt: 'D', States: { D: { Type: 'Task', Resource: fnArn('double'), End: true } } },
              { StartAt: 'S', States: { S: { Type: 'Succeed', OutputPath: '$.n' } } },
            ],
            Next: 'Done',
          },
          Done: { Type: 'Succeed' },
        },
      },
      { n: 21 },
    );
    await ex.done;
    expect(output(ex)).toEqual([42, 21]);
    expect(types(ex)).toContain('ParallelStateSucceeded');
    expect(types(ex)).toContain('LambdaFunctionSucceeded');
  });

  it('fails Parallel when one branch fails and catches it', async () => {
    const { start } = setup();
    const ex = start({
      StartAt: 'P',
      States: {
        P: {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 100, End: true } } },
            { StartAt: 'F', States: { F: { Type: 'Fail', Error: 'BranchFailed' } } },
          ],
          Catch: [{ ErrorEquals: ['BranchFailed'], ResultPath: '$.err', Next: 'Caught' }],
          End: true,
        },
        Caught: { Type: 'Pass', End: true },
      },
    });
    await ex.done;
    expect(ex.status).toBe('SUCCEEDED');
    expect(output(ex).err).toEqual({ Error: 'BranchFailed', Cause: '' });
    expect(types(ex)).toContain('ParallelStateFailed');
  });

  it('runs an inline Map with ItemSelector, the Map context and MaxConcurrency', async () => {
    const { start } = setup({ sq: (e) => ({ i: e.index, v: e.value * e.value, tag: e.tag }) });
    const ex = start(
      {
        StartAt: 'M',
        States: {
          M: {
            Type: 'Map',
            ItemsPath: '$.items',
            MaxConcurrency: 2,
            ItemSelector: {
              'index.$': '$$.Map.Item.Index',
              'value.$': '$$.Map.Item.Value',
              'tag.$': '$.tag',
            },
            ItemProcessor: {
              ProcessorConfig: { Mode: 'INLINE' },
              StartAt: 'Sq',
              States: { Sq: { Type: 'Task', Resource: fnArn('sq'), End: true } },
            },
            ResultPath: '$.squares',
            End: true,
          },
        },
      },
      { items: [1, 2, 3], tag: 't' },
    );
    await ex.done;
    expect(output(ex).squares).toEqual([
      { i: 0, v: 1, tag: 't' },
      { i: 1, v: 4, tag: 't' },
      { i: 2, v: 9, tag: 't' },
    ]);
    expect(types(ex).filter((t) => t === 'MapIterationSucceeded')).toHaveLength(3);
    expect(types(ex)).toEqual(
      expect.arrayContaining(['MapStateEntered', 'MapStateStarted', 'MapStateSucceeded', 'MapStateExited']),
    );
  });

  it('fails a Map when an iteration fails', async () => {
    const { start } = setup({
      f: (e) => {
        if (e === 2) throw Object.assign(new Error('two'), { name: 'TwoError' });
        return e;
      },
    });
    const ex = start(
      {
        StartAt: 'M',
        States: {
          M: {
            Type: 'Map',
            Iterator: { StartAt: 'T', States: { T: { Type: 'Task', Resource: fnArn('f'), End: true } } },
            End: true,
          },
        },
      },
      [1, 2, 3],
    );
    await ex.done;
    expect([ex.status, ex.error]).toEqual(['FAILED', 'TwoError']);
    expect(types(ex)).toContain('MapIterationFailed');
    expect(types(ex)).toContain('MapStateFailed');
  });
});

describe('Step Functions interpreter: Retry and Catch', () => {
  it('retries with IntervalSeconds x BackoffRate^n on the virtual clock, capped by MaxDelaySeconds', async () => {
    let attempts = 0;
    const { clock, start } = setup({
      flaky: () => {
        attempts++;
        if (attempts < 4) throw Object.assign(new Error('try again'), { name: 'Transient' });
        return { ok: attempts };
      },
    });
    const ex = start({
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: 'flaky', Payload: {} },
          OutputPath: '$.Payload',
          Retry: [
            { ErrorEquals: ['Other'], MaxAttempts: 5 },
            {
              ErrorEquals: ['Transient'],
              IntervalSeconds: 10,
              BackoffRate: 3,
              MaxAttempts: 3,
              MaxDelaySeconds: 60,
            },
          ],
          End: true,
        },
      },
    });
    await settle();
    expect(attempts).toBe(1);
    await clock.advance(9_999);
    expect(attempts).toBe(1);
    await clock.advance(1); // 10 s
    expect(attempts).toBe(2);
    await clock.advance(29_999);
    expect(attempts).toBe(2);
    await clock.advance(1); // 30 s more
    expect(attempts).toBe(3);
    await clock.advance(59_999); // 90 s would be next, capped at 60 s
    expect(attempts).toBe(3);
    await clock.advance(1);
    await ex.done;
    expect(output(ex)).toEqual({ ok: 4 });
    expect(types(ex).filter((t) => t === 'TaskFailed')).toHaveLength(3);
    expect(types(ex).filter((t) => t === 'TaskStateEntered')).toHaveLength(1);
  });

  it('gives up after MaxAttempts and catches into a state with the error at ResultPath', async () => {
    let attempts = 0;
    const { clock, start } = setup({
      bad: () => {
        attempts++;
        throw Object.assign(new Error('always'), { name: 'Lambda.ServiceException' });
      },
    });
    const ex = start(
      {
        StartAt: 'T',
        States: {
          T: {
            Type: 'Task',
            Resource: fnArn('bad'),
            Retry: [
              { ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 1 },
            ],
            Catch: [
              { ErrorEquals: ['Nope'], Next: 'Wrong' },
              { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Compensate' },
            ],
            End: true,
          },
          Wrong: { Type: 'Fail' },
          Compensate: { Type: 'Pass', End: true },
        },
      },
      { keep: 1 },
    );
    await clock.advance(5_000);
    await ex.done;
    expect(attempts).toBe(3);
    expect(ex.status).toBe('SUCCEEDED');
    expect(output(ex).keep).toBe(1);
    expect(output(ex).error.Error).toBe('Lambda.ServiceException');
    expect(JSON.parse(output(ex).error.Cause).errorMessage).toBe('always');
    expect(types(ex).filter((t) => t === 'LambdaFunctionFailed')).toHaveLength(3);
  });

  it('applies JitterStrategy FULL: a random part of the backoff', async () => {
    let attempts = 0;
    const { clock, start } = setup(
      {
        flaky: () => {
          attempts++;
          if (attempts < 2) throw Object.assign(new Error('again'), { name: 'Transient' });
          return 'ok';
        },
      },
      () => 0.25,
    );
    const ex = start({
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: fnArn('flaky'),
          Retry: [{ ErrorEquals: ['Transient'], IntervalSeconds: 40, JitterStrategy: 'FULL' }],
          End: true,
        },
      },
    });
    await settle();
    await clock.advance(9_999);
    expect(attempts).toBe(1);
    await clock.advance(1); // 25% of 40 s
    await ex.done;
    expect(ex.status).toBe('SUCCEEDED');
  });

  it('fails with States.DataLimitExceeded when a state output exceeds 256 KiB, uncatchable', async () => {
    const { start } = setup();
    const ex = start(
      {
        StartAt: 'Big',
        States: {
          Big: {
            Type: 'Pass',
            Parameters: { 'a.$': '$.s', 'b.$': '$.s' },
            End: true,
          },
        },
      },
      { s: 'x'.repeat(140 * 1024) },
    );
    await ex.done;
    expect([ex.status, ex.error]).toEqual(['FAILED', 'States.DataLimitExceeded']);
  });

  it('fails with States.Runtime when the history would pass 25,000 events', async () => {
    const { start } = setup();
    const ex = start(
      {
        StartAt: 'M',
        States: {
          M: {
            Type: 'Map',
            ItemsPath: '$.items',
            MaxConcurrency: 1,
            ItemProcessor: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } },
            Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }],
            End: true,
          },
          Caught: { Type: 'Succeed' },
        },
      },
      { items: Array.from({ length: 7000 }, (_, i) => i) },
    );
    await ex.done;
    expect([ex.status, ex.error]).toEqual(['FAILED', 'States.Runtime']);
    expect(ex.history.length).toBe(25_000);
  });

  it('does not let States.ALL catch States.Runtime', async () => {
    const { start } = setup({ ok: () => 1 });
    const ex = start({
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: fnArn('ok'),
          InputPath: '$.missing',
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'C' }],
          End: true,
        },
        C: { Type: 'Succeed' },
      },
    });
    await ex.done;
    expect([ex.status, ex.error]).toEqual(['FAILED', 'States.Runtime']);
  });

  it.each([
    [
      'a crashed runtime',
      { errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited with error: signal: killed' },
      'Runtime.ExitError',
    ],
    [
      'an error payload naming no type',
      { errorMessage: 'Process exited before completing request' },
      'Lambda.Unknown',
    ],
    ['an empty error payload', null, 'Lambda.Unknown'],
  ])(
    'reports an unhandled function error from %s as %s, which a Retry on it retries',
    async (_what, payload, error) => {
      // Prepare: the first invocation fails with the payload, the second answers.
      const clock = manualClock();
      let calls = 0;
      const engine = new StepFunctionsEngine({
        clock,
        region: 'us-east-1',
        invokeLambda: async () =>
          ++calls === 1
            ? { payload, executedVersion: '$LATEST', functionError: 'Unhandled' }
            : { payload: 'done', executedVersion: '$LATEST' },
      });
      const definition = validateDefinition(
        JSON.stringify({
          StartAt: 'T',
          States: {
            T: {
              Type: 'Task',
              Resource: fnArn('f'),
              Retry: [{ ErrorEquals: [error], IntervalSeconds: 1, MaxAttempts: 1 }],
              End: true,
            },
          },
        }),
      );
      const machine = {
        arn: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:m`,
        name: 'm',
        definition,
        roleArn: `arn:aws:iam::${ACCOUNT}:role/r`,
      };
      // Act
      const ex = engine.start(machine, 'e', '{}', `arn:aws:states:us-east-1:${ACCOUNT}:execution:m:e`);
      await settle();
      await clock.advance(1000);
      await ex.done;
      // Assert
      const failed = ex.history.find((h) => h.type === 'LambdaFunctionFailed');
      expect((failed?.lambdaFunctionFailedEventDetails as { error?: string } | undefined)?.error).toBe(error);
      expect([ex.status, output(ex), calls]).toEqual(['SUCCEEDED', 'done', 2]);
    },
  );

  it('reports a missing function as Lambda.ResourceNotFoundException', async () => {
    const { start } = setup();
    const ex = start({ StartAt: 'T', States: { T: { Type: 'Task', Resource: fnArn('ghost'), End: true } } });
    await ex.done;
    expect(ex.error).toBe('Lambda.ResourceNotFoundException');
  });
});

describe('Step Functions interpreter: task tokens', () => {
  const tokenMachine = (extra: object = {}, states: object = {}) => ({
    StartAt: 'Wait for approval',
    States: {
      'Wait for approval': {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        Parameters: { FunctionName: 'notify', Payload: { 'token.$': '$$.Task.Token', 'link.$': '$.link' } },
        End: true,
        ...extra,
      },
      ...states,
    },
  });
  const setupTokens = () => {
    const tokens: string[] = [];
    const s = setup({
      notify: (e) => {
        tokens.push(e.token);
        return { sent: true };
      },
    });
    return { ...s, tokens };
  };

  it('hands out a unique unguessable token and resumes on SendTaskSuccess', async () => {
    const { engine, start, tokens } = setupTokens();
    const a = start(tokenMachine(), { link: 'a' });
    const b = start(tokenMachine(), { link: 'b' });
    await settle();
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).not.toBe(tokens[1]);
    expect((tokens[0] as string).length).toBeGreaterThanOrEqual(64);
    // Opaque base64 beginning "AQ" like AWS's: never '-' first, which a command line reads as an option.
    for (const t of tokens) expect(t).toMatch(/^AQ[A-Za-z0-9_-]+$/);
    expect(a.status).toBe('RUNNING');
    expect(types(a)).toContain('TaskSubmitted');
    engine.sendTaskSuccess(tokens[0] as string, JSON.stringify({ approved: true }));
    await a.done;
    expect(a.status).toBe('SUCCEEDED');
    expect(output(a)).toEqual({ approved: true });
    expect(b.status).toBe('RUNNING');
    // A token is good once.
    expect(() => engine.sendTaskSuccess(tokens[0] as string, '{}')).toThrow(TaskTokenError);
    expect(() => engine.sendTaskSuccess('made-up', '{}')).toThrow(
      expect.objectContaining({ code: 'InvalidToken' }),
    );
  });

  it('fails the task with the error and cause given to SendTaskFailure', async () => {
    const { engine, start, tokens } = setupTokens();
    const ex = start(tokenMachine(), { link: 'a' });
    await settle();
    engine.sendTaskFailure(tokens[0] as string, 'Rejected', 'bob said no');
    await ex.done;
    expect([ex.status, ex.error, ex.cause]).toEqual(['FAILED', 'Rejected', 'bob said no']);
    expect(types(ex)).toContain('TaskFailed');
  });

  it('times out with States.Timeout after TimeoutSeconds; a late answer gets TaskTimedOut', async () => {
    const { clock, engine, start, tokens } = setupTokens();
    const ex = start(
      tokenMachine(
        { TimeoutSeconds: 3600, Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'Expired' }] },
        { Expired: { Type: 'Pass', End: true } },
      ),
      { link: 'a' },
    );
    await settle();
    await clock.advance(3_599_000);
    expect(ex.status).toBe('RUNNING');
    await clock.advance(1_000);
    await ex.done;
    expect(ex.history.find((h) => h.type === 'TaskTimedOut')?.taskTimedOutEventDetails).toMatchObject({
      error: 'States.Timeout',
    });
    expect(output(ex)).toMatchObject({ Error: 'States.Timeout' });
    expect(() => engine.sendTaskSuccess(tokens[0] as string, '{}')).toThrow(
      expect.objectContaining({ code: 'TaskTimedOut' }),
    );
  });

  it('times out with States.HeartbeatTimeout unless heartbeats keep coming', async () => {
    const { clock, engine, start, tokens } = setupTokens();
    const ex = start(tokenMachine({ TimeoutSeconds: 1000, HeartbeatSeconds: 60 }), { link: 'a' });
    await settle();
    await clock.advance(50_000);
    engine.sendTaskHeartbeat(tokens[0] as string);
    await clock.advance(50_000); // 100 s in, 50 s since the heartbeat
    expect(ex.status).toBe('RUNNING');
    await clock.advance(10_000);
    await ex.done;
    expect([ex.status, ex.error]).toEqual(['FAILED', 'States.HeartbeatTimeout']);
  });

  it('StopExecution aborts a waiting execution and closes its token', async () => {
    const { engine, start, tokens } = setupTokens();
    const ex = start(tokenMachine(), { link: 'a' });
    await settle();
    engine.stop(ex, 'Cancelled', 'operator');
    await ex.done;
    expect(ex.status).toBe('ABORTED');
    expect(types(ex).at(-1)).toBe('ExecutionAborted');
    expect(() => engine.sendTaskSuccess(tokens[0] as string, '{}')).toThrow(
      expect.objectContaining({ code: 'TaskTimedOut' }),
    );
  });

  it('numbers events from 1 with previousEventId chains', async () => {
    const { engine, start, tokens } = setupTokens();
    const ex = start(tokenMachine(), { link: 'a' });
    await settle();
    engine.sendTaskSuccess(tokens[0] as string, '{}');
    await ex.done;
    expect(ex.history.map((h) => h.id)).toEqual(ex.history.map((_, i) => i + 1));
    expect(types(ex)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
    const scheduled = ex.history.find((h) => h.type === 'TaskScheduled')?.taskScheduledEventDetails as Record<
      string,
      unknown
    >;
    expect(scheduled).toMatchObject({
      resourceType: 'lambda',
      resource: 'invoke.waitForTaskToken',
      region: 'us-east-1',
    });
  });
});

describe('state machine definitions outside the subset are refused', () => {
  const refuse = (def: object) => {
    try {
      validateDefinition(JSON.stringify(def));
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidDefinitionError);
      return (err as Error).message;
    }
    throw new Error('accepted');
  };
  it.each([
    [
      {
        StartAt: 'S',
        States: { S: { Type: 'Task', Resource: 'arn:aws:states:::sqs:sendMessage', End: true } },
      },
      /state 'S': Resource/,
    ],
    [
      {
        StartAt: 'S',
        States: { S: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke.sync', End: true } },
      },
      /state 'S'/,
    ],
    [
      {
        StartAt: 'M',
        States: {
          M: {
            Type: 'Map',
            ItemProcessor: {
              ProcessorConfig: { Mode: 'DISTRIBUTED' },
              StartAt: 'P',
              States: { P: { Type: 'Pass', End: true } },
            },
            End: true,
          },
        },
      },
      /state 'M': .*Distributed Map/,
    ],
    [{ QueryLanguage: 'JSONata', StartAt: 'P', States: { P: { Type: 'Pass', End: true } } }, /JSONPath only/],
    [
      { StartAt: 'P', States: { P: { Type: 'Pass', Output: {}, End: true } } },
      /state 'P': Output is JSONata/,
    ],
    [
      { StartAt: 'P', States: { P: { Type: 'Pass', Next: 'Nowhere' } } },
      /state 'P': Next 'Nowhere' is not a state/,
    ],
    [
      { StartAt: 'P', States: { P: { Type: 'Pass', InputPath: '$..x', End: true } } },
      /state 'P': InputPath: .*recursive/,
    ],
    [
      { StartAt: 'P', States: { P: { Type: 'Pass', Parameters: { 'x.$': 'States.Nope()' }, End: true } } },
      /unknown intrinsic/,
    ],
    [{ StartAt: 'W', States: { W: { Type: 'Wait', End: true } } }, /state 'W': exactly one of Seconds/],
    [
      {
        StartAt: 'C',
        States: { C: { Type: 'Choice', Choices: [{ Variable: '$.x', StringEqualz: 'a', Next: 'C' }] } },
      },
      /unknown comparison operator StringEqualz/,
    ],
    [{ StartAt: 'X', States: { X: { Type: 'Activity', End: true } } }, /state 'X': Type "Activity"/],
    [{ StartAt: 'P', States: { P: { Type: 'Pass', Assign: { a: 1 }, End: true } } }, /Assign/],
  ])('refuses %#', (def, message) => {
    expect(refuse(def)).toMatch(message);
  });

  it('accepts the subset', () => {
    expect(() =>
      validateDefinition(
        JSON.stringify({
          StartAt: 'T',
          States: {
            T: {
              Type: 'Task',
              Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
              Parameters: { FunctionName: 'f', Payload: { 'token.$': '$$.Task.Token' } },
              TimeoutSeconds: 10,
              HeartbeatSeconds: 5,
              Retry: [{ ErrorEquals: ['States.ALL'], JitterStrategy: 'FULL', MaxDelaySeconds: 5 }],
              End: true,
            },
          },
        }),
      ),
    ).not.toThrow();
  });
});
