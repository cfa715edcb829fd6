import { describe, expect, it } from 'vitest';
import { type EvalContext, ExpressionSyntaxError, evaluate, parseExpression } from '#local/workflows/expr.ts';
import { LIBRARY } from '#local/workflows/stdlib.ts';
import { Bytes, type Value, WorkflowsError } from '#local/workflows/values.ts';
import { raised, run, yaml } from '../../support/workflows.ts';

/** Evaluates an expression with a few variables and the non-blocking library. */
async function ev(src: string, vars: Record<string, Value> = {}): Promise<Value> {
  const ctx: EvalContext = {
    lookup: (n) => vars[n],
    global: () => undefined,
    call: async (name, args) => {
      const fn = LIBRARY[name];
      if (!fn) throw new Error(`no ${name}`);
      return fn.fn(args, {} as never);
    },
  };
  return evaluate(parseExpression(src), ctx);
}

async function err(src: string, vars: Record<string, Value> = {}): Promise<Value> {
  try {
    await ev(src, vars);
  } catch (e) {
    if (e instanceof WorkflowsError) return e.value;
    throw e;
  }
  throw new Error(`${src} did not raise`);
}

describe('expression operators', () => {
  it.each([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['-2 * 3', -6],
    ['- -2', 2],
    ['7 // 2', 3],
    ['-7 // 2', -4],
    ['7 % 3', 1],
    ['-7 % 3', 2],
    ['7 / 2', 3.5],
    ['"a" + "b" + "c"', 'abc'],
    ['1 < 2 and 2 < 3', true],
    ['not 1 == 2', true],
    ['true or false and false', true],
    ['not true or true', true],
    ['1 + 1 == 2', true],
    ['"b" > "a"', true],
    ['2 in [1, 2]', true],
    ['"k" in {"k": 1}', true],
    ['"z" in {"k": 1}', false],
    ['[1, {"a": 2}] == [1, {"a": 2}]', true],
    ['1 == 1.0', true],
    ['{"a": [10, 20]}.a[1]', 20],
    ['[1, 2, 3][-1]', 3],
    ['\'single\' + "double"', 'singledouble'],
    ['"tab\\tquote\\"u\\u00e9"', 'tab\tquote"ué'],
    ['null == null', true],
    ['True', true],
  ])('%s', async (src, want) => {
    expect(await ev(src)).toEqual(want);
  });

  it('short-circuits and/or (the right side is not evaluated)', async () => {
    expect(await ev('false and missing')).toBe(false);
    expect(await ev('true or missing')).toBe(true);
  });

  it('reads variables, keys and indexes', async () => {
    expect(await ev('m.list[i].name', { m: { list: [{ name: 'x' }, { name: 'y' }] }, i: 1 })).toBe('y');
    expect(await ev('m["odd key"]', { m: { 'odd key': 1 } })).toBe(1);
  });

  it.each([
    ['1 + "a"', 'TypeError', 'unsupported operand types for +: integer and string'],
    ['1 / 0', 'ZeroDivisionError', 'division by zero (1 / 0)'],
    ['5 % 0', 'ZeroDivisionError', 'division by zero (5 % 0)'],
    ['"a" < 1', 'TypeError', 'unsupported operand types for <: string and integer'],
    ['not 1', 'TypeError', '"not" needs a boolean, got integer'],
    ['1 and true', 'TypeError', '"and" needs booleans, got integer on the left'],
    ['[1][3]', 'IndexError', 'list index 3 out of range (the value has 1 items)'],
    ['{"a": 1}.b', 'KeyError', 'key "b" not found in the value'],
    ['m.b', 'KeyError', 'key "b" not found in m'],
    ['s.b', 'TypeError', 'cannot read key "b" of s: it is string, not a map'],
    ['1 in "abc"', 'TypeError', '"in" needs a list or a map on the right, got string'],
    ['nope', 'KeyError', 'variable "nope" is not defined'],
  ])('%s raises %s', async (src, tag, message) => {
    expect(await err(src, { m: { a: 1 }, s: 'x' })).toEqual({ message, tags: [tag] });
  });

  it.each([
    ['1 +', 'unexpected end of expression (column 4)'],
    ['(1', 'expected ")" but found end of expression (column 3)'],
    ['a b', 'unexpected "b" (column 3)'],
    ['"open', 'unterminated string (column 1)'],
    ['1 $ 2', 'unexpected character "$" (column 3)'],
    ['(1)(2)', 'only named functions can be called (column 4)'],
  ])('syntax error: %s', (src, message) => {
    expect(() => parseExpression(src)).toThrow(ExpressionSyntaxError);
    expect(() => parseExpression(src)).toThrow(message);
  });
});

describe('standard library', () => {
  it.each([
    ['default(null, 1)', 1],
    ['default(0, 1)', 0],
    ['len("héllo")', 5],
    ['len([1, 2])', 2],
    ['len({"a": 1})', 1],
    ['keys({"a": 1, "b": 2})', ['a', 'b']],
    ['map.get({"a": {"b": 1}}, ["a", "b"])', 1],
    ['map.get({"a": {"b": 1}}, ["a", "x"])', null],
    ['map.get({"a": 1}, "a")', 1],
    ['map.delete({"a": 1, "b": 2}, "a")', { b: 2 }],
    ['map.merge({"a": 1}, {"b": 2})', { a: 1, b: 2 }],
    ['map.merge_nested({"a": {"x": 1}}, {"a": {"y": 2}})', { a: { x: 1, y: 2 } }],
    ['list.concat([1], 2)', [1, 2]],
    ['list.prepend([1], 0)', [0, 1]],
    ['int("42")', 42],
    ['int(3.9)', 3],
    ['double("2.5")', 2.5],
    ['string(12)', '12'],
    ['string(true)', 'true'],
    ['get_type([])', 'list'],
    ['get_type(1.5)', 'double'],
    ['text.split("a,b", ",")', ['a', 'b']],
    ['text.substring("crosslink", 0, 5)', 'cross'],
    ['text.substring("abc", 1, 99)', 'bc'],
    ['text.replace_all("a-b-c", "-", "+")', 'a+b+c'],
    ['text.replace_all_regex("lk-01", "lk-(\\\\d+)", "id \\\\1")', 'id 01'],
    ['text.to_upper("ab")', 'AB'],
    ['text.to_lower("AB")', 'ab'],
    ['text.match_regex("lk-01abc", "^lk-[0-9a-z]+$")', true],
    [
      'text.find_all("banana", "an")',
      [
        { index: 1, match: 'an' },
        { index: 3, match: 'an' },
      ],
    ],
    [
      'text.find_all_regex("a1b22", "[0-9]+")',
      [
        { index: 1, match: '1' },
        { index: 3, match: '22' },
      ],
    ],
    ['text.url_encode("a b/c")', 'a%20b%2Fc'],
    ['text.url_decode("a%20b+c")', 'a b c'],
    ['json.encode_to_string({"a": [1, true, null]})', '{"a":[1,true,null]}'],
    ['json.decode("{\\"a\\": 1}")', { a: 1 }],
    ['json.decode(json.encode({"x": "y"}))', { x: 'y' }],
    ['base64.encode(text.encode("hello"))', 'aGVsbG8='],
    ['text.decode(base64.decode("aGVsbG8="))', 'hello'],
    ['time.format(0)', '1970-01-01T00:00:00.000000Z'],
    ['time.format(1.5)', '1970-01-01T00:00:01.500000Z'],
    ['time.parse("1970-01-01T00:01:00.25Z")', 60.25],
    ['time.parse("2026-01-01T01:00:00+01:00")', Date.parse('2026-01-01T00:00:00Z') / 1000],
    ['math.max(1, 5)', 5],
    ['http.default_retry_predicate({"tags": ["HttpError"], "code": 503})', true],
    ['http.default_retry_predicate({"tags": ["HttpError"], "code": 500})', false],
    ['http.default_retry_predicate({"tags": ["ConnectionError"]})', true],
    ['http.default_retry_predicate_non_idempotent({"tags": ["HttpError"], "code": 502})', false],
    ['http.default_retry_predicate_non_idempotent({"tags": ["HttpError"], "code": 429})', true],
    ['http.default_retry_predicate_non_idempotent({"tags": ["ConnectionError"]})', false],
  ])('%s', async (src, want) => {
    expect(await ev(src)).toEqual(want);
  });

  it('json.encode returns bytes', async () => {
    expect(await ev('json.encode([1])')).toBeInstanceOf(Bytes);
  });

  it.each([
    ['int("x1")', 'ValueError'],
    ['json.decode("{")', 'ValueError'],
    ['base64.decode("***")', 'ValueError'],
    ['time.parse("yesterday")', 'ValueError'],
    ['len(1)', 'TypeError'],
    ['keys([1])', 'TypeError'],
    ['text.split(1, ",")', 'TypeError'],
    ['base64.encode("not bytes")', 'TypeError'],
    ['string({"a": 1})', 'TypeError'],
  ])('%s raises %s', async (src, tag) => {
    expect(await err(src)).toMatchObject({ tags: [tag] });
  });

  it('sys.now, sys.get_env and sys.sleep use the execution and the virtual clock', async () => {
    const r = await run(
      yaml`
      - a:
          assign:
            - t0: \${sys.now()}
      - nap:
          call: sys.sleep
          args:
            seconds: 90
      - out:
          return:
            slept: \${sys.now() - t0}
            project: \${sys.get_env("GOOGLE_CLOUD_PROJECT_ID")}
            execution: \${sys.get_env("GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID")}
            custom: \${sys.get_env("TOPIC")}
            missing: \${sys.get_env("NOPE", "fallback")}
            uuid: \${uuid.generate()}
    `,
      undefined,
      { env: { TOPIC: 'crosslink-events' }, uuid: () => 'u-1' },
      { identity: { project: 'demo', execution: 'e-1' } },
    );
    expect(r.result).toEqual({
      slept: 90,
      project: 'demo',
      execution: 'e-1',
      custom: 'crosslink-events',
      missing: 'fallback',
      uuid: 'u-1',
    });
  });

  it('a blocking call inside an expression is refused at run time too', async () => {
    const r = await run(yaml`
      - a:
          return: \${sys.sleep(1)}
    `);
    expect(raised(r)).toMatchObject({ tags: ['TypeError'] });
  });
});

describe('billing classification', () => {
  it.each([
    ['https://networkconnectivity.googleapis.com/v1/x', true],
    ['https://svc-abc-uc.a.run.app/', true],
    ['https://us-central1-p.cloudfunctions.net/f', true],
    ['https://api.endpoints.p.cloud.goog/x', true],
    ['https://p.appspot.com/', true],
    ['https://example.com/googleapis.com', false],
    ['https://googleapis.com.evil.example/', false],
    ['http://127.0.0.1:8080/', false],
  ])('%s internal: %s', async (url, internal) => {
    const { defaultIsInternalUrl } = await import('#local/workflows/ports.ts');
    expect(defaultIsInternalUrl(url)).toBe(internal);
  });
});
