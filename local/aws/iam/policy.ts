/**
 * The IAM policy grammar the local AWS evaluates: a document is parsed once into statements with
 * every element normalised to lists, and a malformed document is refused with the element's path
 * and the reason (as IAM's MalformedPolicyDocument does), never evaluated loosely.
 */

export type Effect = 'Allow' | 'Deny';

/** `{AWS: [...], Service: [...], Federated: [...]}`, or every principal (`"*"`). */
export type PrincipalSet = '*' | Readonly<Record<string, readonly string[]>>;

/** Operator (with its `ForAnyValue:` / `ForAllValues:` prefix and `IfExists` suffix) -> key -> values. */
export type ConditionBlock = Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;

export interface Statement {
  /** `Sid` when given, else `Statement[i]`: how the decision names it. */
  id: string;
  effect: Effect;
  action?: readonly string[];
  notAction?: readonly string[];
  resource?: readonly string[];
  notResource?: readonly string[];
  principal?: PrincipalSet;
  notPrincipal?: PrincipalSet;
  condition: ConditionBlock;
}

export interface Policy {
  /** Where the document comes from (`role/crosslink-initiate inline policy 0`, `event bus default`). */
  name: string;
  /** `2012-10-17` resolves policy variables; `2008-10-17` reads `${...}` as literal text. */
  version: '2012-10-17' | '2008-10-17';
  statements: readonly Statement[];
}

/** Identity policies carry no Principal; resource-based policies must name one. */
export type PolicyKind = 'identity' | 'resource';

/** A document IAM would refuse: `message` names the element and the reason. */
export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

const STATEMENT_KEYS = new Set([
  'Sid',
  'Effect',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Principal',
  'NotPrincipal',
  'Condition',
]);
const PRINCIPAL_TYPES = new Set(['AWS', 'Service', 'Federated', 'CanonicalUser']);

function stringList(value: unknown, where: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new PolicyError(`${where}: must name at least one value`);
  return list.map((v, i) => {
    if (typeof v !== 'string' || v === '') {
      throw new PolicyError(`${where}${Array.isArray(value) ? `[${i}]` : ''}: must be a non-empty string`);
    }
    return v;
  });
}

function principalSet(value: unknown, where: string): PrincipalSet {
  if (value === '*') return '*';
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new PolicyError(
      `${where}: must be "*" or an object such as {"AWS": "arn:aws:iam::123456789012:root"}`,
    );
  }
  const out: Record<string, readonly string[]> = {};
  for (const [type, ids] of Object.entries(value)) {
    if (!PRINCIPAL_TYPES.has(type)) {
      throw new PolicyError(
        `${where}.${type}: unknown principal type (AWS, Service, Federated, CanonicalUser)`,
      );
    }
    out[type] = stringList(ids, `${where}.${type}`);
  }
  return out;
}

function conditionBlock(value: unknown, where: string): ConditionBlock {
  if (value === undefined) return {};
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new PolicyError(`${where}: must be an object of operator -> {key: values}`);
  }
  const out: Record<string, Record<string, readonly string[]>> = {};
  for (const [operator, keys] of Object.entries(value)) {
    if (!keys || typeof keys !== 'object' || Array.isArray(keys)) {
      throw new PolicyError(`${where}.${operator}: must be an object of key -> values`);
    }
    const byKey: Record<string, readonly string[]> = {};
    for (const [key, values] of Object.entries(keys)) {
      const list = Array.isArray(values) ? values : [values];
      byKey[key] = list.map((v, i) => {
        if (typeof v === 'string') return v;
        if (typeof v === 'boolean' || typeof v === 'number') return String(v);
        throw new PolicyError(`${where}.${operator}.${key}[${i}]: must be a string, number or boolean`);
      });
    }
    out[operator] = byKey;
  }
  return out;
}

/** Parses a policy document (object or JSON text) as IAM would accept it. */
export function parsePolicy(document: unknown, name: string, kind: PolicyKind): Policy {
  let doc = document;
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc);
    } catch (err) {
      throw new PolicyError(`${name}: the policy is not valid JSON (${(err as Error).message})`);
    }
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new PolicyError(`${name}: a policy document must be a JSON object`);
  }
  const d = doc as Record<string, unknown>;
  const version = d.Version ?? '2008-10-17';
  if (version !== '2012-10-17' && version !== '2008-10-17') {
    throw new PolicyError(
      `${name}: Version must be "2012-10-17" or "2008-10-17", got ${JSON.stringify(version)}`,
    );
  }
  if (d.Statement === undefined) throw new PolicyError(`${name}: Statement is required`);
  const raw = Array.isArray(d.Statement) ? d.Statement : [d.Statement];
  const statements = raw.map((s: unknown, i: number): Statement => {
    const where = `${name}: Statement[${i}]`;
    if (!s || typeof s !== 'object' || Array.isArray(s)) throw new PolicyError(`${where}: must be an object`);
    const st = s as Record<string, unknown>;
    for (const key of Object.keys(st)) {
      if (!STATEMENT_KEYS.has(key)) throw new PolicyError(`${where}.${key}: not a statement element`);
    }
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') {
      throw new PolicyError(`${where}.Effect: must be "Allow" or "Deny", got ${JSON.stringify(st.Effect)}`);
    }
    const pair = (a: string, b: string, required: boolean) => {
      if (st[a] !== undefined && st[b] !== undefined) {
        throw new PolicyError(`${where}: ${a} and ${b} cannot both be given`);
      }
      if (required && st[a] === undefined && st[b] === undefined) {
        throw new PolicyError(`${where}: ${a} or ${b} is required`);
      }
    };
    pair('Action', 'NotAction', true);
    pair('Resource', 'NotResource', kind === 'identity');
    pair('Principal', 'NotPrincipal', kind === 'resource');
    if (kind === 'identity' && (st.Principal !== undefined || st.NotPrincipal !== undefined)) {
      throw new PolicyError(`${where}: an identity-based policy cannot name a Principal`);
    }
    if (st.Sid !== undefined && typeof st.Sid !== 'string')
      throw new PolicyError(`${where}.Sid: must be a string`);
    const statement: Statement = {
      id: typeof st.Sid === 'string' && st.Sid !== '' ? st.Sid : `Statement[${i}]`,
      effect: st.Effect,
      condition: conditionBlock(st.Condition, `${where}.Condition`),
    };
    const actions = (key: 'Action' | 'NotAction') =>
      stringList(st[key], `${where}.${key}`).map((a, j) => {
        if (a !== '*' && !/^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$/.test(a)) {
          throw new PolicyError(`${where}.${key}[${j}]: "${a}" is not service:action`);
        }
        return a;
      });
    return {
      ...statement,
      ...(st.Action !== undefined && { action: actions('Action') }),
      ...(st.NotAction !== undefined && { notAction: actions('NotAction') }),
      ...(st.Resource !== undefined && { resource: stringList(st.Resource, `${where}.Resource`) }),
      ...(st.NotResource !== undefined && {
        notResource: stringList(st.NotResource, `${where}.NotResource`),
      }),
      ...(st.Principal !== undefined && { principal: principalSet(st.Principal, `${where}.Principal`) }),
      ...(st.NotPrincipal !== undefined && {
        notPrincipal: principalSet(st.NotPrincipal, `${where}.NotPrincipal`),
      }),
    };
  });
  return { name, version, statements };
}
