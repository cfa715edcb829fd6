/**
 * Validation of a state machine definition against the subset the local engine runs: JSONPath
 * query language, Lambda tasks (a function ARN, `arn:aws:states:::lambda:invoke` and its
 * `.waitForTaskToken` form), inline Map. Everything else is refused here, with the state named,
 * so nothing is ever skipped silently at run time.
 */
import { INTRINSICS, parseIntrinsic } from './intrinsics.ts';
import { parsePath, parseReferencePath } from './jsonpath.ts';

// biome-ignore lint/suspicious/noExplicitAny: ASL is free-form JSON checked field by field below.
export type StateDef = Record<string, any>;
export interface MachineDef {
  StartAt: string;
  States: Record<string, StateDef>;
  TimeoutSeconds?: number;
  Comment?: string;
  Version?: string;
}

export const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
export const LAMBDA_INVOKE_TOKEN = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
const LAMBDA_ARN = /^arn:aws[\w-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$/;

/** How a Task calls Lambda. */
export type TaskKind = 'lambda-arn' | 'invoke' | 'invoke-token';

export function taskKind(resource: string): TaskKind | undefined {
  if (resource === LAMBDA_INVOKE) return 'invoke';
  if (resource === LAMBDA_INVOKE_TOKEN) return 'invoke-token';
  if (LAMBDA_ARN.test(resource)) return 'lambda-arn';
  return undefined;
}

/** The definition is invalid or outside the supported subset; each problem names its state. */
export class InvalidDefinitionError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('; '));
    this.name = 'InvalidDefinitionError';
    this.problems = problems;
  }
}

const COMMON = ['Type', 'Comment', 'QueryLanguage'];
const IO = ['InputPath', 'OutputPath'];
const FIELDS: Record<string, string[]> = {
  Pass: [...COMMON, ...IO, 'Next', 'End', 'Result', 'ResultPath', 'Parameters'],
  Task: [
    ...COMMON,
    ...IO,
    'Next',
    'End',
    'Resource',
    'Parameters',
    'ResultSelector',
    'ResultPath',
    'Retry',
    'Catch',
    'TimeoutSeconds',
    'TimeoutSecondsPath',
    'HeartbeatSeconds',
    'HeartbeatSecondsPath',
  ],
  Choice: [...COMMON, ...IO, 'Choices', 'Default'],
  Wait: [...COMMON, ...IO, 'Next', 'End', 'Seconds', 'Timestamp', 'SecondsPath', 'TimestampPath'],
  Succeed: [...COMMON, ...IO],
  Fail: [...COMMON, 'Error', 'Cause', 'ErrorPath', 'CausePath'],
  Parallel: [
    ...COMMON,
    ...IO,
    'Next',
    'End',
    'Branches',
    'Parameters',
    'ResultSelector',
    'ResultPath',
    'Retry',
    'Catch',
  ],
  Map: [
    ...COMMON,
    ...IO,
    'Next',
    'End',
    'ItemsPath',
    'ItemSelector',
    'Parameters',
    'Iterator',
    'ItemProcessor',
    'MaxConcurrency',
    'ResultSelector',
    'ResultPath',
    'Retry',
    'Catch',
  ],
};
const OUT_OF_SUBSET: Record<string, string> = {
  Arguments: 'Arguments is JSONata; only the JSONPath query language is supported',
  Output: 'Output is JSONata; only the JSONPath query language is supported',
  Assign: 'variables (Assign) are not supported locally',
  Credentials: 'cross-account task Credentials are not supported locally',
  ItemReader: 'ItemReader belongs to Distributed Map, which is not supported locally',
  ItemBatcher: 'ItemBatcher belongs to Distributed Map, which is not supported locally',
  ResultWriter: 'ResultWriter belongs to Distributed Map, which is not supported locally',
  ToleratedFailurePercentage: 'tolerated failures belong to Distributed Map, which is not supported locally',
  ToleratedFailureCount: 'tolerated failures belong to Distributed Map, which is not supported locally',
  Label: 'Label belongs to Distributed Map, which is not supported locally',
  MaxConcurrencyPath: 'MaxConcurrencyPath is not supported locally',
};

const COMPARATORS = [
  'StringEquals',
  'StringLessThan',
  'StringGreaterThan',
  'StringLessThanEquals',
  'StringGreaterThanEquals',
  'NumericEquals',
  'NumericLessThan',
  'NumericGreaterThan',
  'NumericLessThanEquals',
  'NumericGreaterThanEquals',
  'BooleanEquals',
  'TimestampEquals',
  'TimestampLessThan',
  'TimestampGreaterThan',
  'TimestampLessThanEquals',
  'TimestampGreaterThanEquals',
];
export const CHOICE_OPERATORS = new Set([
  ...COMPARATORS,
  ...COMPARATORS.map((c) => `${c}Path`),
  'StringMatches',
  'IsNull',
  'IsPresent',
  'IsNumeric',
  'IsString',
  'IsBoolean',
  'IsTimestamp',
]);

/** Parses and validates; returns the definition or throws InvalidDefinitionError listing every problem. */
export function validateDefinition(text: string): MachineDef {
  let def: unknown;
  try {
    def = JSON.parse(text);
  } catch (err) {
    throw new InvalidDefinitionError([`the definition is not JSON: ${(err as Error).message}`]);
  }
  const problems: string[] = [];
  if (!isObj(def)) throw new InvalidDefinitionError(['the definition must be a JSON object']);
  if (def.QueryLanguage !== undefined && def.QueryLanguage !== 'JSONPath') {
    problems.push(`QueryLanguage ${String(def.QueryLanguage)} is not supported locally (JSONPath only)`);
  }
  for (const k of Object.keys(def)) {
    if (!['StartAt', 'States', 'TimeoutSeconds', 'Comment', 'Version', 'QueryLanguage'].includes(k)) {
      problems.push(`top level: unknown field ${k}`);
    }
  }
  if (def.TimeoutSeconds !== undefined && !isPosInt(def.TimeoutSeconds)) {
    problems.push('top level: TimeoutSeconds must be a positive integer');
  }
  validateMachine(def, 'top level', problems);
  if (problems.length) throw new InvalidDefinitionError(problems);
  return def as unknown as MachineDef;
}

function validateMachine(def: Record<string, unknown>, where: string, problems: string[]): void {
  const states = def.States;
  if (typeof def.StartAt !== 'string') problems.push(`${where}: StartAt is required`);
  if (!isObj(states) || Object.keys(states).length === 0) {
    problems.push(`${where}: States must be a non-empty object`);
    return;
  }
  if (typeof def.StartAt === 'string' && !(def.StartAt in states)) {
    problems.push(`${where}: StartAt '${def.StartAt}' is not a state`);
  }
  for (const [name, s] of Object.entries(states)) {
    if (name.length > 80) problems.push(`state '${name.slice(0, 20)}...': names are at most 80 characters`);
    if (!isObj(s)) {
      problems.push(`state '${name}': must be an object`);
      continue;
    }
    validateState(name, s, states, problems);
  }
}

function validateState(
  name: string,
  s: Record<string, unknown>,
  states: Record<string, unknown>,
  problems: string[],
): void {
  const p = (msg: string) => problems.push(`state '${name}': ${msg}`);
  const type = s.Type;
  if (typeof type !== 'string' || !(type in FIELDS)) {
    p(`Type ${JSON.stringify(type)} is not one of ${Object.keys(FIELDS).join(', ')}`);
    return;
  }
  if (s.QueryLanguage !== undefined && s.QueryLanguage !== 'JSONPath') {
    p(`QueryLanguage ${String(s.QueryLanguage)} is not supported locally (JSONPath only)`);
  }
  for (const k of Object.keys(s)) {
    if (OUT_OF_SUBSET[k]) p(OUT_OF_SUBSET[k]);
    else if (!(FIELDS[type] as string[]).includes(k)) p(`field ${k} is not valid in a ${type} state`);
  }
  const target = (field: string, v: unknown) => {
    if (typeof v !== 'string' || !(v in states)) p(`${field} '${String(v)}' is not a state`);
  };
  if (!['Choice', 'Succeed', 'Fail'].includes(type)) {
    if (s.End === true && s.Next !== undefined) p('cannot have both Next and End');
    else if (s.End !== true) target('Next', s.Next);
  }
  for (const f of [
    'InputPath',
    'OutputPath',
    'ItemsPath',
    'SecondsPath',
    'TimestampPath',
    'ErrorPath',
    'CausePath',
  ]) {
    if (s[f] !== undefined && s[f] !== null) checkPath(s[f], f, p);
  }
  for (const f of ['TimeoutSecondsPath', 'HeartbeatSecondsPath']) {
    if (s[f] !== undefined) checkPath(s[f], f, p, true);
  }
  if (s.ResultPath !== undefined && s.ResultPath !== null) checkPath(s.ResultPath, 'ResultPath', p, true);
  for (const f of ['Parameters', 'ResultSelector', 'ItemSelector']) {
    if (s[f] !== undefined) checkPayloadTemplate(s[f], f, p);
  }
  for (const [i, r] of asArray(s.Retry).entries()) {
    if (!isObj(r)) {
      p(`Retry[${i}] must be an object`);
      continue;
    }
    checkErrorEquals(r.ErrorEquals, `Retry[${i}]`, p);
    for (const k of Object.keys(r)) {
      if (
        ![
          'ErrorEquals',
          'IntervalSeconds',
          'MaxAttempts',
          'BackoffRate',
          'MaxDelaySeconds',
          'JitterStrategy',
          'Comment',
        ].includes(k)
      ) {
        p(`Retry[${i}]: unknown field ${k}`);
      }
    }
    if (r.IntervalSeconds !== undefined && !isPosInt(r.IntervalSeconds))
      p(`Retry[${i}]: IntervalSeconds must be a positive integer`);
    if (r.MaxAttempts !== undefined && !(Number.isInteger(r.MaxAttempts) && (r.MaxAttempts as number) >= 0)) {
      p(`Retry[${i}]: MaxAttempts must be a non-negative integer`);
    }
    if (r.BackoffRate !== undefined && !(typeof r.BackoffRate === 'number' && r.BackoffRate >= 1)) {
      p(`Retry[${i}]: BackoffRate must be a number >= 1.0`);
    }
    if (r.MaxDelaySeconds !== undefined && !isPosInt(r.MaxDelaySeconds))
      p(`Retry[${i}]: MaxDelaySeconds must be a positive integer`);
    if (r.JitterStrategy !== undefined && r.JitterStrategy !== 'FULL' && r.JitterStrategy !== 'NONE') {
      p(`Retry[${i}]: JitterStrategy must be FULL or NONE`);
    }
  }
  for (const [i, c] of asArray(s.Catch).entries()) {
    if (!isObj(c)) {
      p(`Catch[${i}] must be an object`);
      continue;
    }
    checkErrorEquals(c.ErrorEquals, `Catch[${i}]`, p);
    target(`Catch[${i}].Next`, c.Next);
    if (c.ResultPath !== undefined && c.ResultPath !== null)
      checkPath(c.ResultPath, `Catch[${i}].ResultPath`, p, true);
  }
  switch (type) {
    case 'Task': {
      const kind = typeof s.Resource === 'string' ? taskKind(s.Resource) : undefined;
      if (!kind) {
        p(
          `Resource ${JSON.stringify(s.Resource)} is not supported locally: use a Lambda function ARN, ${LAMBDA_INVOKE} or ${LAMBDA_INVOKE_TOKEN}`,
        );
      }
      if (kind === 'invoke' || kind === 'invoke-token') {
        const params = s.Parameters;
        if (!isObj(params) || (params.FunctionName === undefined && params['FunctionName.$'] === undefined)) {
          p(`Parameters.FunctionName is required for ${s.Resource as string}`);
        }
      }
      if (s.TimeoutSeconds !== undefined && !isPosInt(s.TimeoutSeconds))
        p('TimeoutSeconds must be a positive integer');
      if (s.HeartbeatSeconds !== undefined && !isPosInt(s.HeartbeatSeconds))
        p('HeartbeatSeconds must be a positive integer');
      if (
        isPosInt(s.TimeoutSeconds) &&
        isPosInt(s.HeartbeatSeconds) &&
        s.HeartbeatSeconds >= s.TimeoutSeconds
      ) {
        p('HeartbeatSeconds must be smaller than TimeoutSeconds');
      }
      if (s.TimeoutSeconds !== undefined && s.TimeoutSecondsPath !== undefined)
        p('TimeoutSeconds and TimeoutSecondsPath are exclusive');
      break;
    }
    case 'Choice': {
      const choices = s.Choices;
      if (!Array.isArray(choices) || choices.length === 0) p('Choices must be a non-empty array');
      else
        choices.forEach((rule, i) => {
          checkChoiceRule(rule, `Choices[${i}]`, p, true);
          if (isObj(rule)) target(`Choices[${i}].Next`, rule.Next);
        });
      if (s.Default !== undefined) target('Default', s.Default);
      break;
    }
    case 'Wait': {
      const given = ['Seconds', 'Timestamp', 'SecondsPath', 'TimestampPath'].filter(
        (k) => s[k] !== undefined,
      );
      if (given.length !== 1) p('exactly one of Seconds, Timestamp, SecondsPath, TimestampPath is required');
      if (s.Seconds !== undefined && !(Number.isInteger(s.Seconds) && (s.Seconds as number) >= 0)) {
        p('Seconds must be a non-negative integer');
      }
      if (s.Timestamp !== undefined && !isTimestamp(s.Timestamp))
        p('Timestamp must be an RFC 3339 timestamp');
      break;
    }
    case 'Fail':
      if (s.Error !== undefined && s.ErrorPath !== undefined) p('Error and ErrorPath are exclusive');
      if (s.Cause !== undefined && s.CausePath !== undefined) p('Cause and CausePath are exclusive');
      break;
    case 'Parallel': {
      const branches = s.Branches;
      if (!Array.isArray(branches) || branches.length === 0) p('Branches must be a non-empty array');
      else
        branches.forEach((b, i) => {
          if (!isObj(b)) p(`Branches[${i}] must be an object`);
          else validateMachine(b, `state '${name}' Branches[${i}]`, problems);
        });
      break;
    }
    case 'Map': {
      const proc = s.ItemProcessor ?? s.Iterator;
      if (s.ItemProcessor !== undefined && s.Iterator !== undefined)
        p('ItemProcessor and Iterator are exclusive');
      if (s.ItemSelector !== undefined && s.Parameters !== undefined)
        p('ItemSelector and Parameters are exclusive');
      if (!isObj(proc)) {
        p('ItemProcessor is required');
        break;
      }
      const config = proc.ProcessorConfig;
      if (isObj(config) && config.Mode !== undefined && config.Mode !== 'INLINE') {
        p(
          `ProcessorConfig.Mode ${String(config.Mode)} (Distributed Map) is not supported locally; use INLINE`,
        );
      }
      const { ProcessorConfig: _ignored, ...machine } = proc;
      validateMachine(machine, `state '${name}' ItemProcessor`, problems);
      if (
        s.MaxConcurrency !== undefined &&
        !(Number.isInteger(s.MaxConcurrency) && (s.MaxConcurrency as number) >= 0)
      ) {
        p('MaxConcurrency must be a non-negative integer');
      }
      break;
    }
  }
}

function checkChoiceRule(rule: unknown, where: string, p: (m: string) => void, top: boolean): void {
  if (!isObj(rule)) {
    p(`${where} must be an object`);
    return;
  }
  if (!top && rule.Next !== undefined) p(`${where}: Next is only allowed on a top-level choice rule`);
  if (Array.isArray(rule.And) || Array.isArray(rule.Or)) {
    const list = (rule.And ?? rule.Or) as unknown[];
    for (const [i, r] of list.entries())
      checkChoiceRule(r, `${where}.${rule.And ? 'And' : 'Or'}[${i}]`, p, false);
    return;
  }
  if (rule.Not !== undefined) {
    checkChoiceRule(rule.Not, `${where}.Not`, p, false);
    return;
  }
  if (typeof rule.Variable !== 'string') {
    p(`${where}: Variable (or And / Or / Not) is required`);
    return;
  }
  checkPath(rule.Variable, `${where}.Variable`, p);
  const ops = Object.keys(rule).filter((k) => !['Variable', 'Next', 'Comment'].includes(k));
  if (ops.length !== 1) {
    p(`${where}: exactly one comparison operator is required, found ${ops.join(', ') || 'none'}`);
    return;
  }
  const op = ops[0] as string;
  if (!CHOICE_OPERATORS.has(op)) p(`${where}: unknown comparison operator ${op}`);
  else if (op.endsWith('Path')) checkPath(rule[op], `${where}.${op}`, p);
}

function checkErrorEquals(v: unknown, where: string, p: (m: string) => void): void {
  if (!Array.isArray(v) || v.length === 0 || !v.every((e) => typeof e === 'string')) {
    p(`${where}: ErrorEquals must be a non-empty array of strings`);
  } else if (v.includes('States.ALL') && v.length !== 1) {
    p(`${where}: States.ALL must appear alone in ErrorEquals`);
  }
}

function checkPath(v: unknown, field: string, p: (m: string) => void, reference = false): void {
  try {
    if (typeof v !== 'string') throw new Error('must be a string');
    if (reference) parseReferencePath(v);
    else parsePath(v);
  } catch (err) {
    p(`${field}: ${(err as Error).message}`);
  }
}

function checkPayloadTemplate(v: unknown, field: string, p: (m: string) => void): void {
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) checkPayloadTemplate(x, `${field}[${i}]`, p);
    return;
  }
  if (!isObj(v)) return;
  for (const [k, x] of Object.entries(v)) {
    if (k.endsWith('.$')) {
      if (typeof x !== 'string') p(`${field}.${k}: a .$ field must hold a path or an intrinsic function`);
      else if (x.startsWith('States.')) {
        try {
          parseIntrinsic(x);
        } catch (err) {
          p(`${field}.${k}: ${(err as Error).message} (supported: ${INTRINSICS.join(', ')})`);
        }
      } else checkPath(x, `${field}.${k}`, p);
    } else checkPayloadTemplate(x, `${field}.${k}`, p);
  }
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
function isPosInt(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) > 0;
}
export function isTimestamp(v: unknown): v is string {
  return (
    typeof v === 'string' &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) &&
    !Number.isNaN(Date.parse(v))
  );
}
