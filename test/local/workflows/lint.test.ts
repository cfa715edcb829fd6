import { describe, expect, it } from 'vitest';
import { formatProblem, lintWorkflow } from '#local/workflows/lint.ts';
import { yaml } from '../../support/workflows.ts';

const lines = (text: string) => lintWorkflow(text).problems.map((p) => formatProblem('wf.yaml', p));

describe('workflow linter', () => {
  it('accepts a workflow using every supported construct', () => {
    expect(
      lines(yaml`
      main:
        params: [input]
        steps:
          - init:
              assign:
                - acc: {}
                - n: \${default(map.get(input, "n"), 3)}
          - loop:
              for:
                value: i
                range: \${[1, n]}
                steps:
                  - skip:
                      switch:
                        - condition: \${i % 2 == 0}
                          next: continue
                  - put:
                      assign:
                        - acc[string(i)]: \${i}
          - fan:
              parallel:
                shared: [acc]
                branches:
                  - a:
                      steps:
                        - nap:
                            call: sys.sleep
                            args:
                              seconds: 1
                  - b:
                      steps:
                        - sub:
                            call: helper
                            args:
                              x: 1
                            result: r
          - guarded:
              try:
                call: http.get
                args:
                  url: https://example.com
              retry: \${http.default_retry}
              except:
                as: e
                steps:
                  - fail:
                      raise: \${e}
          - done:
              return: \${acc}
      helper:
        params: [x, y: 2]
        steps:
          - r:
              return: \${x + y}
    `),
    ).toEqual([]);
  });

  it('reports an unknown next target with its step and line', () => {
    expect(
      lines(yaml`
      - a:
          next: nowhere
      - b:
          return: 1
    `),
    ).toEqual([
      'wf.yaml:1:3: step "a": next target "nowhere" is not a step it can reach (steps here: a, b)',
      'wf.yaml:3:3: warning: step "b": unreachable: no step falls through or jumps to it',
    ]);
  });

  it('reports undefined subworkflows, unsupported functions and connectors', () => {
    expect(
      lines(yaml`
      - a:
          call: missing_sub
      - b:
          call: googleapis.compute.v1.instances.get
      - c:
          return: \${frobnicate(1)}
    `),
    ).toEqual([
      'wf.yaml:1:3: step "a": call to undefined subworkflow or unsupported function "missing_sub"',
      'wf.yaml:3:3: step "b": call to undefined subworkflow or unsupported function "googleapis.compute.v1.instances.get" (connectors are not supported locally; call the REST API with http.* and auth: {type: OAuth2})',
      'wf.yaml:5:3: step "c": expression calls undefined function "frobnicate"',
    ]);
  });

  it('reports unreachable steps', () => {
    expect(
      lines(yaml`
      - a:
          return: 1
      - orphan:
          assign:
            - x: 1
    `),
    ).toEqual(['wf.yaml:3:3: warning: step "orphan": unreachable: no step falls through or jumps to it']);
  });

  it('names unsupported constructs with their step and line', () => {
    expect(
      lines(yaml`
      - a:
          call: sys.log
          args:
            text: hi
          timeout: 5
      - b:
          parallel:
            exception_policy: abortAll
            branches:
              - x:
                  steps:
                    - y:
                        return: 1
              - z:
                  steps:
                    - w:
                        assign:
                          - q: 1
    `),
    ).toEqual([
      'wf.yaml:5:5: step "a": "timeout" is not supported with call',
      'wf.yaml:8:7: step "b": exception_policy "abortAll" is not supported (only continueAll)',
      'wf.yaml:12:17: step "y": return is not allowed inside a parallel branch',
    ]);
  });

  it('reports blocking calls in expressions, bad arguments and break outside loops', () => {
    expect(
      lines(yaml`
      - a:
          assign:
            - r: \${http.get("https://example.com")}
      - b:
          call: text.split
          args:
            source: a
            sep: ","
      - c:
          next: break
    `),
    ).toEqual([
      'wf.yaml:1:3: step "a": http.get is a blocking call and cannot be used in an expression; use a call step',
      'wf.yaml:4:3: step "b": text.split has no argument "sep" (arguments: source, separator)',
      'wf.yaml:4:3: step "b": text.split needs the argument "separator"',
      'wf.yaml:9:3: step "c": "next: break" is only allowed inside a for loop',
    ]);
  });

  it('reports expression syntax errors and YAML errors with lines', () => {
    expect(
      lines(yaml`
      - a:
          return: \${1 +}
    `),
    ).toEqual([`wf.yaml:2:5: step "a": bad expression \${1 +}: unexpected end of expression (column 4)`]);
    expect(lines('- a:\n    return: [1, 2\n')[0]).toMatch(/^wf\.yaml:\d+:\d+: /);
  });

  it('reports schema problems (type and required) by path', () => {
    expect(
      lines(yaml`
      main:
        steps:
          - a:
              for:
                value: v
                steps:
                  - b:
                      return: 1
      other:
        params: oops
        steps: []
    `),
    ).toEqual([
      'wf.yaml:5:11: step "a": for needs exactly one of in and range',
      'wf.yaml:10:3: params of "other" must be a list',
      'wf.yaml:11:10: other.steps must NOT have fewer than 1 items',
    ]);
  });
});
