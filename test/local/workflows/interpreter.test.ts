import { describe, expect, it } from 'vitest';
import { CallbackHub } from '#local/workflows/callbacks.ts';
import { loadWorkflow } from '#local/workflows/definition.ts';
import { Execution } from '#local/workflows/interpreter.ts';
import { InvalidWorkflowError } from '#local/workflows/outcome.ts';
import { manualClock } from '../../support/timers.ts';
import { raised, run, yaml } from '../../support/workflows.ts';

describe('steps, assign and return', () => {
  it('runs flat steps in order and returns the result', async () => {
    const r = await run(yaml`
      - init:
          assign:
            - a: 1
            - b: \${a + 2}
      - done:
          return: \${b * 10}
    `);
    expect(r.state).toBe('SUCCEEDED');
    expect(r.result).toBe(30);
    expect(r.steps.map((s) => s.step)).toEqual(['init', 'done']);
  });

  it('main receives the execution argument; a workflow without return yields null', async () => {
    const r = await run(
      yaml`
      main:
        params: [input]
        steps:
          - greet:
              return: \${"hello " + input.name}
    `,
      { name: 'carol' },
    );
    expect(r.result).toBe('hello carol');
    const n = await run(yaml`
      - only:
          assign:
            - x: 1
    `);
    expect(n).toMatchObject({ state: 'SUCCEEDED', result: null });
  });

  it('assigns into map keys and list items, creating missing keys', async () => {
    const r = await run(yaml`
      - init:
          assign:
            - m: {a: {b: 1}}
            - l: [1, 2, 3]
            - m.a.c: 2
            - m["new"]: \${l[0] + l[2]}
            - l[1]: x
            - k: a
            - m[k].b: 5
      - out:
          return: \${[m, l]}
    `);
    expect(r.result).toEqual([{ a: { b: 5, c: 2 }, new: 4 }, [1, 'x', 3]]);
  });

  it('copies lists and maps on assignment (value semantics)', async () => {
    const r = await run(yaml`
      - init:
          assign:
            - a: {x: 1}
            - b: \${a}
            - b.x: 2
      - out:
          return: \${a.x}
    `);
    expect(r.result).toBe(1);
  });

  it('nested steps run in order and next jumps (forward, backward, end)', async () => {
    const r = await run(yaml`
      - init:
          assign:
            - n: 0
            - trail: []
      - loop:
          steps:
            - bump:
                assign:
                  - n: \${n + 1}
                  - trail: \${list.concat(trail, n)}
            - check:
                switch:
                  - condition: \${n < 3}
                    next: bump
      - skip:
          next: last
      - never:
          raise: should not run
      - last:
          return: \${trail}
    `);
    expect(r.result).toEqual([1, 2, 3]);
    const e = await run(yaml`
      - a:
          next: end
      - b:
          raise: unreachable
    `);
    expect(e).toMatchObject({ state: 'SUCCEEDED', result: null });
  });
});

describe('jumps across nested step lists', () => {
  it('a next inside nested steps can target a step of an enclosing list; call works in a condition', async () => {
    const r = await run(yaml`
      main:
        steps:
          - outer:
              steps:
                - inner:
                    switch:
                      - condition: \${true}
                        call: twice
                        args:
                          x: 4
                        result: got
                        next: finish
                - never:
                    raise: not here
          - skipped:
              raise: not here either
          - finish:
              return: \${got}
      twice:
        params: [x]
        steps:
          - r:
              return: \${x * 2}
    `);
    expect(r.result).toBe(8);
    expect(r.steps.map((s) => s.step)).toEqual(['outer', 'inner', 'r', 'finish']);
  });

  it('a jump out of a for loop body is refused at run time with the step and line', async () => {
    const r = await run(yaml`
      - loop:
          for:
            value: v
            in: [1]
            steps:
              - out:
                  next: after
      - after:
          return: 1
    `);
    expect(raised(r)).toMatchObject({ tags: ['SystemError'] });
    expect((raised(r) as { message: string }).message).toBe(
      'step "out" (line 6) jumps to "after", which is not a step it can reach',
    );
  });
});

describe('switch', () => {
  it('takes the first true condition; falls through to next when none holds', async () => {
    const def = yaml`
      main:
        params: [x]
        steps:
          - pick:
              switch:
                - condition: \${x > 10}
                  return: big
                - condition: \${x > 5}
                  assign:
                    - size: medium
                  next: out
                - condition: \${x < 0}
                  raise: {code: 400, message: negative}
                - condition: \${x == 0}
                  steps:
                    - zero:
                        assign:
                          - size: zero
                        next: out
              next: small
          - small:
              return: small
          - out:
              return: \${size}
    `;
    expect((await run(def, 11)).result).toBe('big');
    expect((await run(def, 7)).result).toBe('medium');
    expect((await run(def, 0)).result).toBe('zero');
    expect((await run(def, 3)).result).toBe('small');
    expect(raised(await run(def, -1))).toEqual({ code: 400, message: 'negative' });
  });

  it('a condition that is not a boolean is a TypeError naming the step', async () => {
    const r = await run(yaml`
      - pick:
          switch:
            - condition: \${"yes"}
              return: 1
    `);
    expect(raised(r)).toMatchObject({ tags: ['TypeError'] });
    expect(r.error?.context).toContain('switch condition in step "pick" must be a boolean');
  });
});

describe('for loops', () => {
  it('iterates lists with index, ranges inclusively, and keeps loop variables local', async () => {
    const r = await run(yaml`
      - init:
          assign:
            - total: 0
            - seen: []
      - each:
          for:
            value: v
            index: i
            in: [a, b, c]
            steps:
              - add:
                  assign:
                    - seen: \${list.concat(seen, string(i) + v)}
                    - inner: 1
      - sum:
          for:
            value: n
            range: [1, 4]
            steps:
              - acc:
                  assign:
                    - total: \${total + n}
      - out:
          return: \${[seen, total, default(map.get({}, "x"), "none")]}
    `);
    expect(r.result).toEqual([['0a', '1b', '2c'], 10, 'none']);
    const leak = await run(yaml`
      - each:
          for:
            value: v
            in: [1]
            steps:
              - set:
                  assign:
                    - inner: \${v}
      - out:
          return: \${inner}
    `);
    expect(raised(leak)).toMatchObject({ tags: ['KeyError'], message: 'variable "inner" is not defined' });
  });

  it('supports break and continue', async () => {
    const r = await run(yaml`
      - init:
          assign:
            - got: []
      - each:
          for:
            value: v
            range: [1, 10]
            steps:
              - skipOdd:
                  switch:
                    - condition: \${v % 2 == 1}
                      next: continue
                    - condition: \${v > 6}
                      next: break
              - keep:
                  assign:
                    - got: \${list.concat(got, v)}
      - out:
          return: \${got}
    `);
    expect(r.result).toEqual([2, 4, 6]);
  });

  it('a for over a non-list is a TypeError', async () => {
    const r = await run(yaml`
      - each:
          for:
            value: v
            in: \${"abc"}
            steps:
              - x:
                  next: continue
    `);
    expect(raised(r)).toMatchObject({ tags: ['TypeError'] });
  });
});

describe('subworkflows and call', () => {
  it('calls subworkflows with named args, defaults and result; and from expressions', async () => {
    const r = await run(yaml`
      main:
        steps:
          - one:
              call: add
              args:
                a: 2
              result: x
          - two:
              assign:
                - y: \${add(10, 5)}
          - out:
              return: \${[x, y]}
      add:
        params: [a, b: 40]
        steps:
          - sum:
              return: \${a + b}
    `);
    expect(r.result).toEqual([42, 15]);
    expect(r.steps.map((s) => `${s.routine}.${s.step}`)).toEqual([
      'main.one',
      'add.sum',
      'main.two',
      'add.sum',
      'main.out',
    ]);
  });

  it("a subworkflow does not see the caller's variables", async () => {
    const r = await run(yaml`
      main:
        steps:
          - init:
              assign:
                - secret: 1
          - c:
              call: peek
              result: r
      peek:
        steps:
          - look:
              return: \${secret}
    `);
    expect(raised(r)).toMatchObject({ tags: ['KeyError'] });
    expect(r.error?.stackTrace.elements.map((e) => e.routine)).toEqual(['peek', 'main']);
  });

  it('a missing argument and an unknown argument are TypeErrors', async () => {
    const def = (args: string) => yaml`
      main:
        steps:
          - c:
              call: f
              args: ${args}
      f:
        params: [a]
        steps:
          - r:
              return: \${a}
    `;
    expect(raised(await run(def('{}')))).toMatchObject({ message: 'missing argument "a" calling "f"' });
    expect(raised(await run(def('{a: 1, z: 2}')))).toMatchObject({ tags: ['TypeError'] });
  });

  it('calls library functions with named args', async () => {
    const r = await run(yaml`
      - c:
          call: text.split
          args:
            source: a,b,c
            separator: ","
          result: parts
      - log:
          call: sys.log
          args:
            text: \${"got " + string(len(parts))}
            severity: INFO
      - out:
          return: \${parts}
    `);
    expect(r.result).toEqual(['a', 'b', 'c']);
    expect(r.logs).toMatchObject([{ severity: 'INFO', text: 'got 3', step: 'log' }]);
  });
});

describe('raise, try and except', () => {
  it('catches a raised map and a raised string with except as', async () => {
    const r = await run(yaml`
      - t1:
          try:
            steps:
              - boom:
                  raise: {code: 55, message: custom}
          except:
            as: e
            steps:
              - keep:
                  assign:
                    - first: \${e.code}
      - t2:
          try:
            steps:
              - boom2:
                  raise: just a string
          except:
            as: e
            steps:
              - out:
                  return: \${[first, e]}
    `);
    expect(r.result).toEqual([55, 'just a string']);
  });

  it('runtime errors carry tags that except can test', async () => {
    const r = await run(yaml`
      - t:
          try:
            steps:
              - bad:
                  assign:
                    - x: \${1 / 0}
          except:
            as: e
            steps:
              - out:
                  return: \${["ZeroDivisionError" in e.tags, e.message]}
    `);
    expect(r.result).toEqual([true, 'division by zero (1 / 0)']);
  });

  it('an uncaught raise fails the execution with the value, the step and the line', async () => {
    const r = await run(yaml`
      - init:
          assign:
            - x: 1
      - fail:
          raise:
            code: 409
            message: already exists
    `);
    expect(r.state).toBe('FAILED');
    expect(JSON.parse(r.error!.payload)).toEqual({ code: 409, message: 'already exists' });
    expect(r.error!.context).toBe('already exists\nin step "fail", routine "main", line: 4');
    expect(r.error!.stackTrace.elements).toEqual([
      { step: 'fail', routine: 'main', position: { line: 4, column: 3, length: 4 } },
    ]);
  });

  it('an undefined variable is a KeyError with its name', async () => {
    const r = await run(yaml`
      - use:
          return: \${missing + 1}
    `);
    expect(raised(r)).toEqual({ message: 'variable "missing" is not defined', tags: ['KeyError'] });
    expect(r.error!.context).toContain('KeyError: variable "missing" is not defined\nin step "use"');
  });

  it('type errors name the operand types', async () => {
    const r = await run(yaml`
      - use:
          return: \${"a" + 1}
    `);
    expect(raised(r)).toEqual({
      message: 'unsupported operand types for +: string and integer',
      tags: ['TypeError'],
    });
  });

  it('missing keys and indexes are KeyError and IndexError', async () => {
    const k = await run(yaml`
      - use:
          return: '\${{"a": 1}.b}'
    `);
    expect(raised(k)).toMatchObject({ tags: ['KeyError'] });
    const i = await run(yaml`
      - use:
          return: \${[1, 2][5]}
    `);
    expect(raised(i)).toMatchObject({ tags: ['IndexError'] });
  });
});

describe('retry', () => {
  it('retries with backoff on the virtual clock until the step succeeds', async () => {
    const r = await run(yaml`
      main:
        steps:
          - init:
              assign:
                - attempts: 0
          - flaky:
              try:
                steps:
                  - count:
                      assign:
                        - attempts: \${attempts + 1}
                  - maybe:
                      switch:
                        - condition: \${attempts < 4}
                          raise: {tags: [ConnectionError], message: reset}
              retry:
                predicate: \${http.default_retry_predicate}
                max_retries: 5
                backoff:
                  initial_delay: 2
                  max_delay: 5
                  multiplier: 2
          - out:
              return: \${[attempts, sys.now()]}
    `);
    const start = Date.parse('2026-01-01T00:00:00Z') / 1000;
    // Delays 2, 4, then capped at 5: 11 s of virtual time.
    expect(r.result).toEqual([4, start + 11]);
  });

  it('retry exhausted: the last error fails the execution and says so', async () => {
    const r = await run(yaml`
      - flaky:
          try:
            steps:
              - fail:
                  raise: {tags: [HttpError], code: 503, message: unavailable}
          retry: \${http.default_retry}
    `);
    expect(raised(r)).toMatchObject({ code: 503 });
    expect(r.error!.context).toContain('retries exhausted: step "flaky" failed 6 times (max_retries 5)');
    // default backoff: 1, 1.25, 1.5625, ... seconds.
    expect(r.clock.now() - Date.parse('2026-01-01T00:00:00Z')).toBeCloseTo(
      1000 * (1 + 1.25 + 1.5625 + 1.953125 + 2.44140625),
      3,
    );
  });

  it('http.default_retry does not retry a 500; a custom subworkflow predicate can', async () => {
    const def = (predicate: string) => yaml`
      main:
        steps:
          - init:
              assign:
                - n: 0
          - call500:
              try:
                steps:
                  - bump:
                      assign:
                        - n: \${n + 1}
                  - fail:
                      raise: {tags: [HttpError], code: 500, message: internal}
              retry:
                predicate: \${${predicate}}
                max_retries: 3
              except:
                as: e
                steps:
                  - out:
                      return: \${n}
      retry500:
        params: [e]
        steps:
          - check:
              return: \${"HttpError" in e.tags and e.code == 500}
    `;
    expect((await run(def('http.default_retry_predicate'))).result).toBe(1);
    expect((await run(def('retry500'))).result).toBe(4);
  });

  it('counts every retry of an inline try step as a billed step', async () => {
    const r = await run(yaml`
      - flaky:
          try:
            raise: {tags: [TimeoutError], message: slow}
          retry:
            predicate: \${retry.always}
            max_retries: 2
          except:
            steps:
              - out:
                  return: gave up
    `);
    expect(r.result).toBe('gave up');
    expect(r.steps.map((s) => s.step)).toEqual(['flaky', 'flaky', 'flaky', 'out']);
  });
});

describe('parallel', () => {
  it('runs branches concurrently with shared variables on the virtual clock', async () => {
    const r = await run(yaml`
      - init:
          assign:
            - results: {}
      - fan:
          parallel:
            shared: [results]
            branches:
              - slow:
                  steps:
                    - wait:
                        call: sys.sleep
                        args:
                          seconds: 10
                    - put:
                        assign:
                          - results.slow: \${sys.now()}
              - fast:
                  steps:
                    - wait:
                        call: sys.sleep
                        args:
                          seconds: 3
                    - put:
                        assign:
                          - results.fast: \${sys.now()}
      - out:
          return: \${results}
    `);
    const t0 = Date.parse('2026-01-01T00:00:00Z') / 1000;
    expect(r.result).toEqual({ slow: t0 + 10, fast: t0 + 3 });
    expect(r.clock.now() / 1000 - t0).toBe(10);
  });

  it('parallel for respects concurrency_limit', async () => {
    const r = await run(yaml`
      - init:
          assign:
            - done: []
      - fan:
          parallel:
            shared: [done]
            concurrency_limit: 2
            for:
              value: v
              in: [1, 2, 3, 4]
              steps:
                - wait:
                    call: sys.sleep
                    args:
                      seconds: 5
                - put:
                    assign:
                      - done: \${list.concat(done, v)}
      - out:
          return: \${len(done)}
    `);
    expect(r.result).toBe(4);
    expect(r.clock.now() - Date.parse('2026-01-01T00:00:00Z')).toBe(10_000);
  });

  it('each assignment to a shared variable is atomic (no lost updates between branches)', async () => {
    const r = await run(yaml`
      - init:
          assign:
            - done: []
      - fan:
          parallel:
            shared: [done]
            for:
              value: v
              range: [1, 40]
              steps:
                - put:
                    assign:
                      - done: \${list.concat(done, v + len([1, 2, 3]) - 3)}
      - out:
          return: \${len(done)}
    `);
    expect(r.result).toBe(40);
  });

  it('an unhandled error in a branch lets the others finish, then raises UnhandledBranchError', async () => {
    const r = await run(yaml`
      - init:
          assign:
            - ok: false
      - fan:
          parallel:
            shared: [ok]
            branches:
              - bad:
                  steps:
                    - boom:
                        raise: branch failed
              - good:
                  steps:
                    - wait:
                        call: sys.sleep
                        args:
                          seconds: 1
                    - mark:
                        assign:
                          - ok: true
    `);
    const e = raised(r) as Record<string, unknown>;
    expect(e.tags).toEqual(['UnhandledBranchError']);
    expect(e.branches).toEqual([{ id: 'bad', error: 'branch failed' }]);
    expect(r.steps.map((s) => s.step)).toContain('mark');
  });

  it('assigning a variable that is not shared inside a branch is refused', async () => {
    const r = await run(yaml`
      - init:
          assign:
            - x: 1
      - fan:
          parallel:
            branches:
              - a:
                  steps:
                    - set:
                        assign:
                          - x: 2
              - b:
                  steps:
                    - noop:
                        assign:
                          - y: 1
    `);
    expect(
      (raised(r) as { branches: { error: { message: string } }[] }).branches[0]!.error.message,
    ).toContain('variable "x" is assigned in a parallel branch but is not listed in "shared"');
  });
});

describe('limits and billing', () => {
  it('variables over 512 KB fail with ResourceLimitError', async () => {
    const r = await run(yaml`
      - init:
          assign:
            - chunk: \${text.replace_all("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "x", "0123456789abcdef")}
            - big: []
      - grow:
          for:
            value: i
            range: [1, 600]
            steps:
              - add:
                  assign:
                    - big: \${list.concat(big, chunk)}
    `);
    expect(raised(r)).toMatchObject({ tags: ['ResourceLimitError'] });
    expect((raised(r) as { message: string }).message).toMatch(/^Memory usage limit exceeded/);
  });

  it('an endless loop stops at the step limit', async () => {
    const r = await run(
      yaml`
      - spin:
          next: spin
    `,
      undefined,
      {},
      { maxSteps: 50 },
    );
    expect(raised(r)).toMatchObject({ tags: ['ResourceLimitError'] });
    expect(r.stepCount.total).toBe(50);
  });

  it('a step waiting for a callback is billed external, as Google bills it; creating the endpoint is internal', async () => {
    const clock = manualClock();
    const callbacks = new CallbackHub(clock);
    const r = await run(
      yaml`
      - make:
          call: events.create_callback_endpoint
          result: cb
      - wait:
          try:
            call: events.await_callback
            args:
              callback: \${cb}
              timeout: 60
          except:
            as: e
            steps:
              - timedOut:
                  return: \${e.tags}
    `,
      undefined,
      { clock, callbacks },
    );
    expect(r.result).toEqual(['TimeoutError']);
    expect(r.steps.map((s) => [s.step, s.billing])).toEqual([
      ['make', 'internal'],
      ['wait', 'external'],
      ['timedOut', 'internal'],
    ]);
    expect(r.stepCount).toEqual({ internal: 2, external: 1, total: 3 });
  });

  it('refuses to run a definition with problems', () => {
    const wf = loadWorkflow(yaml`
      - a:
          bogus: 1
    `);
    expect(() => new Execution(wf, { clock: manualClock() })).toThrow(InvalidWorkflowError);
  });
});
