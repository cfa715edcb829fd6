import { describe, expect, it } from 'vitest';
import { parseStructured } from '#scripts/cli/io.ts';
import { jsonSyntaxProblem } from '#scripts/cli/json-syntax.ts';

describe('jsonSyntaxProblem', () => {
  it('finds nothing wrong in what JSON.parse accepts', () => {
    // Prepare
    const texts = ['{}', ' [1, -2.5e3, "a\\u00e9\\n", true, false, null, {"k": []}] ', '\uFEFF{"a": 1}'];
    // Act / Assess
    for (const t of texts) {
      JSON.parse(t.replace(/^\uFEFF/, ''));
      expect(jsonSyntaxProblem(t)).toBeUndefined();
    }
  });

  it('names the line, column and reason of the first problem', () => {
    // Act / Assess
    expect(jsonSyntaxProblem('{"a": [1,\n  2,,]}')).toEqual({
      line: 2,
      col: 5,
      reason: 'expected a value, found ","',
    });
    expect(jsonSyntaxProblem('{"a": 1\n "b": 2}')).toEqual({
      line: 2,
      col: 2,
      reason: "expected ',' or '}', found \"\\\"\"",
    });
    expect(jsonSyntaxProblem('{a: 1}')).toMatchObject({
      line: 1,
      col: 2,
      reason: expect.stringContaining('"key"'),
    });
    expect(jsonSyntaxProblem('{"a": [1, 2')).toEqual({
      line: 1,
      col: 12,
      reason: "unexpected end of the file: expected ',' or ']' (truncated?)",
    });
    expect(jsonSyntaxProblem('{"a": 1} x')?.reason).toBe(
      'expected the end of the file after the value, found "x"',
    );
    expect(jsonSyntaxProblem('["a\tb"]')?.reason).toBe('a control character inside a string (escape it)');
  });
});

describe('parseStructured', () => {
  it('reads JSON as JSON and YAML as YAML, a YAML flow mapping included', () => {
    // Act / Assess
    expect(parseStructured('{"a": [1, 2]}', 'x.json')).toEqual({ a: [1, 2] });
    expect(parseStructured('a: [1, 2]\n', 'x.yaml')).toEqual({ a: [1, 2] });
    expect(parseStructured('{a: 1}', 'x.yaml')).toEqual({ a: 1 });
  });

  it('reports broken JSON in one line, and a .json file that is not JSON as JSON', () => {
    // Act
    const problems = (text: string, name: string) => {
      try {
        parseStructured(text, name);
        return [];
      } catch (e) {
        return (e as { problems: string[] }).problems;
      }
    };
    // Assess
    expect(problems('{"a": [1,\n  2,', 'f')).toEqual([
      'f:2:5: unexpected end of the file: expected a value (truncated?)',
    ]);
    expect(problems('a: 1\n', 'f.json')).toEqual(['f.json:1:1: expected a value, found "a"']);
    expect(problems('a: [1\n', 'f.yaml')[0]).toMatch(/^f\.yaml:\d+:\d+: /);
  });
});
