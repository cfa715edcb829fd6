/**
 * How data moves through a state (InputPath, Parameters and the other payload templates,
 * ResultPath, OutputPath), the size limit on what a state passes on, ErrorEquals matching, and
 * the Choice state's rules: pure functions of a state's definition, its input and the context
 * object, each failure a StatesError with the name the service gives it.
 */
import { CHOICE_OPERATORS, isTimestamp, type StateDef } from './definition.ts';
import { MAX_PAYLOAD_BYTES, StatesError } from './execution.ts';
import { evaluateIntrinsic, IntrinsicFailure, parseIntrinsic } from './intrinsics.ts';
import { pathExists, selectPath, setPath } from './jsonpath.ts';

/** ErrorEquals matching: States.ALL and States.TaskFailed are wildcards, but never for States.Runtime. */
export function matches(errorEquals: string[], error: string): boolean {
  if (error === 'States.Runtime' || error === 'States.DataLimitExceeded') return false;
  return errorEquals.some(
    (e) => e === error || e === 'States.ALL' || (e === 'States.TaskFailed' && error !== 'States.Timeout'),
  );
}

export function checkSize(v: unknown, state: string): void {
  const size = Buffer.byteLength(JSON.stringify(v) ?? '');
  if (size > MAX_PAYLOAD_BYTES) {
    throw new StatesError(
      'States.DataLimitExceeded',
      `The state/task '${state}' returned a result of ${size} bytes, more than the maximum of ${MAX_PAYLOAD_BYTES}`,
    );
  }
}

export function applyInputPath(s: StateDef, input: unknown, context: unknown): unknown {
  if (s.InputPath === null) return {};
  if (s.InputPath === undefined || s.InputPath === '$') return input;
  return mustSelect(s.InputPath, input, context, 'InputPath');
}

export function applyOutputPath(s: StateDef, output: unknown): unknown {
  if (s.OutputPath === null) return {};
  if (s.OutputPath === undefined || s.OutputPath === '$') return output;
  return mustSelect(s.OutputPath, output, undefined, 'OutputPath');
}

/** ResultPath then OutputPath. */
export function applyOutput(s: StateDef, rawInput: unknown, result: unknown, _context: unknown): unknown {
  let combined: unknown;
  if (s.ResultPath === null) combined = rawInput;
  else if (s.ResultPath === undefined || s.ResultPath === '$') combined = result;
  else combined = resultPathSet(s.ResultPath, rawInput, result);
  return applyOutputPath(s, combined);
}

export function resultPathSet(path: string, input: unknown, value: unknown): unknown {
  try {
    return setPath(path, input, value);
  } catch (err) {
    throw new StatesError('States.ResultPathMatchFailure', (err as Error).message);
  }
}

function mustSelect(path: string, data: unknown, context: unknown, field: string): unknown {
  const v = selectPath(path, data, context);
  if (v === undefined) {
    throw new StatesError(
      'States.Runtime',
      `Invalid path '${path}' in ${field}: the path could not be found in the input '${JSON.stringify(data)}'`,
    );
  }
  return v;
}

export function stringAt(path: string, data: unknown, context: unknown, field: string): string {
  const v = mustSelect(path, data, context, field);
  if (typeof v !== 'string')
    throw new StatesError('States.Runtime', `${field} '${path}' did not select a string`);
  return v;
}

export function numberAt(path: string, data: unknown, context: unknown, field: string): number {
  const v = mustSelect(path, data, context, field);
  if (!(Number.isInteger(v) && (v as number) > 0))
    throw new StatesError('States.Runtime', `${field} '${path}' did not select a positive integer`);
  return v as number;
}

/** Evaluates a payload template (Parameters, ResultSelector, ItemSelector). */
export function template(t: unknown, input: unknown, context: unknown, field: string): unknown {
  if (Array.isArray(t)) return t.map((x) => template(x, input, context, field));
  if (t === null || typeof t !== 'object') return t;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) {
    if (k.endsWith('.$') && typeof v === 'string') {
      const key = k.slice(0, -2);
      if (v.startsWith('States.')) {
        try {
          out[key] = evaluateIntrinsic(parseIntrinsic(v), input, context);
        } catch (err) {
          if (err instanceof IntrinsicFailure) throw new StatesError('States.IntrinsicFailure', err.message);
          throw err;
        }
      } else {
        const sel = selectPath(v, input, context);
        if (sel === undefined) {
          throw new StatesError(
            'States.Runtime',
            `The JSONPath '${v}' specified for the field '${k}' in ${field} could not be found in the input '${JSON.stringify(input)}'`,
          );
        }
        out[key] = sel;
      }
    } else out[k] = template(v, input, context, field);
  }
  return out;
}

/** A Choice rule (And, Or, Not, or one comparison) against the state's effective input. */
export function evaluateRule(rule: StateDef, input: unknown, context: unknown): boolean {
  if (Array.isArray(rule.And)) return (rule.And as StateDef[]).every((r) => evaluateRule(r, input, context));
  if (Array.isArray(rule.Or)) return (rule.Or as StateDef[]).some((r) => evaluateRule(r, input, context));
  if (rule.Not) return !evaluateRule(rule.Not as StateDef, input, context);
  const variable = rule.Variable as string;
  const op = Object.keys(rule).find((k) => CHOICE_OPERATORS.has(k)) as string;
  const present = pathExists(variable, input, context);
  if (op === 'IsPresent') return present === rule.IsPresent;
  if (!present) {
    throw new StatesError(
      'States.Runtime',
      `Invalid path '${variable}': the choice state's condition path references an invalid value.`,
    );
  }
  const v = selectPath(variable, input, context);
  let expected = rule[op];
  let base = op;
  if (op.endsWith('Path')) {
    base = op.slice(0, -4);
    expected = selectPath(expected as string, input, context);
    if (expected === undefined)
      throw new StatesError('States.Runtime', `Invalid path '${rule[op]}' in ${op}`);
  }
  switch (base) {
    case 'IsNull':
      return (v === null) === expected;
    case 'IsNumeric':
      return (typeof v === 'number') === expected;
    case 'IsString':
      return (typeof v === 'string') === expected;
    case 'IsBoolean':
      return (typeof v === 'boolean') === expected;
    case 'IsTimestamp':
      return isTimestamp(v) === expected;
    case 'StringMatches':
      return typeof v === 'string' && stringMatches(v, expected as string);
    case 'BooleanEquals':
      return typeof v === 'boolean' && v === expected;
  }
  if (base.startsWith('String')) {
    if (typeof v !== 'string' || typeof expected !== 'string') return false;
    return compare(base.slice(6), v < expected ? -1 : v > expected ? 1 : 0);
  }
  if (base.startsWith('Numeric')) {
    if (typeof v !== 'number' || typeof expected !== 'number') return false;
    return compare(base.slice(7), v - expected);
  }
  if (base.startsWith('Timestamp')) {
    if (!isTimestamp(v) || !isTimestamp(expected)) return false;
    return compare(base.slice(9), Date.parse(v) - Date.parse(expected));
  }
  return false;
}

function compare(kind: string, diff: number): boolean {
  switch (kind) {
    case 'Equals':
      return diff === 0;
    case 'LessThan':
      return diff < 0;
    case 'GreaterThan':
      return diff > 0;
    case 'LessThanEquals':
      return diff <= 0;
    case 'GreaterThanEquals':
      return diff >= 0;
  }
  return false;
}

/** `*` matches any run of characters; `\*` and `\\` are literal. */
function stringMatches(value: string, pattern: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i] as string);
    else if (c === '*') re += '.*';
    else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, 's').test(value);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** When a Wait state ends (epoch ms): Seconds or Timestamp, or either selected from its input. */
export function waitUntil(
  s: StateDef,
  eff: unknown,
  entered: number,
  context: unknown,
  name: string,
): number {
  let due: number;
  if (s.Seconds !== undefined) due = entered + (s.Seconds as number) * 1000;
  else if (s.Timestamp !== undefined) due = Date.parse(s.Timestamp as string);
  else if (s.SecondsPath !== undefined) {
    const v = selectPath(s.SecondsPath as string, eff, context);
    if (!(Number.isInteger(v) && (v as number) >= 0)) {
      throw new StatesError(
        'States.Runtime',
        `SecondsPath '${s.SecondsPath}' did not select a non-negative integer in state '${name}'`,
      );
    }
    due = entered + (v as number) * 1000;
  } else {
    const v = selectPath(s.TimestampPath as string, eff, context);
    if (!isTimestamp(v)) {
      throw new StatesError(
        'States.Runtime',
        `TimestampPath '${s.TimestampPath}' did not select a timestamp in state '${name}'`,
      );
    }
    due = Date.parse(v);
  }
  return due;
}
