/**
 * A template's `Rules` section, evaluated as CloudFormation does before it creates or updates
 * anything: each rule whose `RuleCondition` holds (or that has none) has every `Assert` checked, and
 * a false one refuses the whole stack operation with its `AssertDescription`. Only the rule-specific
 * functions may appear there, and `Ref` names parameters and pseudo parameters only, never a
 * resource. The local cloud evaluates `Fn::And`, `Fn::Or` (2 to 10 conditions), `Fn::Not`,
 * `Fn::Equals`, `Fn::Contains` and `Ref`; a rule using `Fn::EachMemberEquals`, `Fn::EachMemberIn`,
 * `Fn::RefAll`, `Fn::ValueOf` or `Fn::ValueOfAll` (which read AWS-specific parameter types) is
 * refused as not evaluated locally, never passed unchecked.
 */
import type { Json } from './template.ts';

/** A stack operation refused by a rule, or a Rules section CloudFormation would not accept. */
export class TemplateRulesError extends RangeError {
  override name = 'ValidationError';
}

const RULE_FUNCTIONS = new Set([
  'Fn::And',
  'Fn::Contains',
  'Fn::EachMemberEquals',
  'Fn::EachMemberIn',
  'Fn::Equals',
  'Fn::Not',
  'Fn::Or',
  'Fn::RefAll',
  'Fn::ValueOf',
  'Fn::ValueOfAll',
  'Ref',
]);
const NOT_LOCAL = new Set([
  'Fn::EachMemberEquals',
  'Fn::EachMemberIn',
  'Fn::RefAll',
  'Fn::ValueOf',
  'Fn::ValueOfAll',
]);

/**
 * Throws TemplateRulesError when a rule of `template` refuses the stack, or when its Rules section is
 * malformed. `pseudo` holds the pseudo parameters' values (AWS::Region, ...); the template's
 * parameters take their Default (the local cloud passes no parameter values).
 */
export function checkRules(template: Json, pseudo: Readonly<Record<string, string>>): void {
  const rules = template?.Rules;
  if (rules === undefined) return;
  if (rules === null || typeof rules !== 'object' || Array.isArray(rules))
    throw new TemplateRulesError('Template format error: Rules must be an object of named rules');
  const parameters = (template.Parameters ?? {}) as Record<string, { Default?: unknown }>;
  for (const [name, rule] of Object.entries(rules as Record<string, Json>)) {
    const at = `Rules.${name}`;
    const fail = (reason: string): never => {
      throw new TemplateRulesError(`Template format error: ${at}: ${reason}`);
    };
    if (rule === null || typeof rule !== 'object') fail('must be an object');
    const extra = Object.keys(rule).filter((k) => k !== 'RuleCondition' && k !== 'Assertions');
    if (extra.length > 0) fail(`${extra.join(', ')}: a rule holds only RuleCondition and Assertions`);
    if (!Array.isArray(rule.Assertions) || rule.Assertions.length === 0)
      fail('Assertions is required: a list of {Assert, AssertDescription}');
    const value = (v: Json, path: string): Json => {
      if (Array.isArray(v)) return v.map((x, i) => value(x, `${path}[${i}]`));
      if (v === null || typeof v !== 'object') return v;
      const keys = Object.keys(v);
      const k = keys[0] as string;
      if (keys.length !== 1 || !RULE_FUNCTIONS.has(k))
        fail(`${path}: ${keys.join(', ')} is not a rule function (${[...RULE_FUNCTIONS].join(', ')})`);
      if (k !== 'Ref') return truth(v, path);
      const id = v.Ref;
      if (typeof id === 'string' && id in pseudo) return pseudo[id];
      if (typeof id === 'string' && id in parameters) {
        const d = parameters[id]?.Default;
        if (d === undefined)
          fail(`${path}: parameter ${id} has no value (the local cloud passes none) and no Default`);
        return d;
      }
      return fail(
        `${path}: Ref to ${JSON.stringify(id)}: a rule refers only to parameters and pseudo parameters, never to a resource`,
      );
    };
    const truth = (v: Json, path: string): boolean => {
      if (v === null || typeof v !== 'object' || Array.isArray(v))
        return fail(`${path}: must be a rule function that evaluates to true or false`);
      const keys = Object.keys(v);
      const k = keys[0] as string;
      const a = v[k];
      if (keys.length !== 1 || !RULE_FUNCTIONS.has(k) || k === 'Ref')
        fail(`${path}: ${keys.join(', ')} is not a rule function that evaluates to true or false`);
      if (NOT_LOCAL.has(k)) fail(`${path}: ${k} is not evaluated by the local cloud`);
      const args = (min: number, max: number): Json[] => {
        if (!Array.isArray(a) || a.length < min || a.length > max)
          fail(`${path}.${k}: takes ${min === max ? min : `${min} to ${max}`} arguments`);
        return a as Json[];
      };
      switch (k) {
        case 'Fn::And':
          return args(2, 10).every((c, i) => truth(c, `${path}.${k}[${i}]`));
        case 'Fn::Or':
          return args(2, 10).some((c, i) => truth(c, `${path}.${k}[${i}]`));
        case 'Fn::Not':
          return !truth(args(1, 1)[0], `${path}.${k}[0]`);
        case 'Fn::Equals': {
          const [x, y] = args(2, 2).map((e, i) => value(e, `${path}.${k}[${i}]`));
          return JSON.stringify(x) === JSON.stringify(y);
        }
        default: {
          // Fn::Contains: [[list of strings], string]
          const [list, item] = args(2, 2).map((e, i) => value(e, `${path}.${k}[${i}]`));
          if (!Array.isArray(list)) fail(`${path}.${k}[0]: must be a list of strings`);
          return (list as Json[]).some((s) => s === item);
        }
      }
    };
    if (rule.RuleCondition !== undefined && !truth(rule.RuleCondition, `${at}.RuleCondition`)) continue;
    (rule.Assertions as Json[]).forEach((assertion, i) => {
      const path = `${at}.Assertions[${i}]`;
      if (assertion === null || typeof assertion !== 'object' || assertion.Assert === undefined)
        fail(`${path}: Assert is required`);
      if (!truth(assertion.Assert, `${path}.Assert`))
        throw new TemplateRulesError(
          typeof assertion.AssertDescription === 'string'
            ? `${name}: ${assertion.AssertDescription}`
            : `${name}: Assertion failed for rule ${name}`,
        );
    });
  }
}
