/**
 * Smithy constraint checking (required, length, pattern, range, enum, union) in the words AWS
 * services use: "1 validation error detected: Value 'x' at 'bandwidth' failed to satisfy
 * constraint: Member must satisfy regular expression pattern: ^\d+[MG]bps$". A module describes
 * its input shapes with these specs and throws its own validation error with the message.
 */

export type Spec = (
  | {
      type: 'string';
      required?: boolean;
      min?: number;
      max?: number;
      pattern?: RegExp;
      enum?: readonly string[];
    }
  | { type: 'integer'; required?: boolean; min?: number; max?: number }
  | { type: 'boolean'; required?: boolean }
  | { type: 'structure'; required?: boolean; members: Record<string, Spec> }
  | { type: 'union'; required?: boolean; members: Record<string, Spec> }
  | { type: 'list'; required?: boolean; member: Spec; min?: number; max?: number }
  | { type: 'map'; required?: boolean; key: Spec; value: Spec; max?: number }
) & {
  /**
   * The model marks the member `@sensitive`: its value (and any value inside it) is never quoted
   * in a message, as AWS words it: "Value at 'activationKey' failed to satisfy constraint: ...".
   */
  sensitive?: boolean;
};

function show(v: unknown): string {
  if (typeof v === 'string') return v;
  return JSON.stringify(v) ?? String(v);
}

/** Returns the violations of `input` against the structure `members` (empty when valid). */
export function violations(
  input: unknown,
  members: Record<string, Spec>,
  prefix = '',
  hidden = false,
): string[] {
  const out: string[] = [];
  const obj = (input ?? {}) as Record<string, unknown>;
  for (const [name, spec] of Object.entries(members))
    check(obj[name], spec, prefix ? `${prefix}.${name}` : name, out, hidden);
  return out;
}

function check(v: unknown, spec: Spec, path: string, out: string[], inherited = false): void {
  const hidden = inherited || spec.sensitive === true;
  if (v === undefined || v === null) {
    if (spec.required)
      out.push(`Value null at '${path}' failed to satisfy constraint: Member must not be null`);
    return;
  }
  const bad = (c: string): void => {
    out.push(
      hidden
        ? `Value at '${path}' failed to satisfy constraint: ${c}`
        : `Value '${show(v)}' at '${path}' failed to satisfy constraint: ${c}`,
    );
  };
  switch (spec.type) {
    case 'string': {
      if (typeof v !== 'string') {
        bad('Member must be a string');
        return;
      }
      if (spec.min !== undefined && v.length < spec.min)
        bad(`Member must have length greater than or equal to ${spec.min}`);
      if (spec.max !== undefined && v.length > spec.max)
        bad(`Member must have length less than or equal to ${spec.max}`);
      if (spec.pattern && !spec.pattern.test(v))
        bad(`Member must satisfy regular expression pattern: ${spec.pattern.source}`);
      if (spec.enum && !spec.enum.includes(v))
        bad(`Member must satisfy enum value set: [${spec.enum.join(', ')}]`);
      return;
    }
    case 'integer': {
      if (typeof v !== 'number' || !Number.isInteger(v)) {
        bad('Member must be an integer');
        return;
      }
      if (spec.min !== undefined && v < spec.min)
        bad(`Member must have value greater than or equal to ${spec.min}`);
      if (spec.max !== undefined && v > spec.max)
        bad(`Member must have value less than or equal to ${spec.max}`);
      return;
    }
    case 'boolean':
      if (typeof v !== 'boolean') bad('Member must be a boolean');
      return;
    case 'structure':
      if (typeof v !== 'object' || Array.isArray(v)) {
        bad('Member must be a structure');
        return;
      }
      out.push(...violations(v, spec.members, path, hidden));
      return;
    case 'union': {
      if (typeof v !== 'object' || Array.isArray(v)) {
        bad('Member must be a union');
        return;
      }
      const set = Object.entries(v as Record<string, unknown>).filter(
        ([, x]) => x !== undefined && x !== null,
      );
      if (set.length !== 1 || !Object.hasOwn(spec.members, (set[0] as [string, unknown])[0])) {
        bad(`Member must have exactly one of [${Object.keys(spec.members).join(', ')}] set`);
        return;
      }
      const [k, x] = set[0] as [string, unknown];
      check(x, spec.members[k] as Spec, `${path}.${k}`, out, hidden);
      return;
    }
    case 'list': {
      if (!Array.isArray(v)) {
        bad('Member must be a list');
        return;
      }
      if (spec.min !== undefined && v.length < spec.min)
        bad(`Member must have length greater than or equal to ${spec.min}`);
      if (spec.max !== undefined && v.length > spec.max)
        bad(`Member must have length less than or equal to ${spec.max}`);
      v.forEach((x, i) => {
        check(x, spec.member, `${path}.${i + 1}.member`, out, hidden);
      });
      return;
    }
    case 'map': {
      if (typeof v !== 'object' || Array.isArray(v)) {
        bad('Member must be a map');
        return;
      }
      const entries = Object.entries(v as Record<string, unknown>);
      if (spec.max !== undefined && entries.length > spec.max)
        bad(`Member must have length less than or equal to ${spec.max}`);
      for (const [k, x] of entries) {
        check(k, spec.key, `${path}.key`, out, hidden);
        check(x, spec.value, `${path}.${k}`, out, hidden);
      }
      return;
    }
  }
}

/** "N validation error(s) detected: a; b" (empty string when none). */
export function validationMessage(problems: readonly string[]): string {
  if (problems.length === 0) return '';
  return `${problems.length} validation error${problems.length === 1 ? '' : 's'} detected: ${problems.join('; ')}`;
}
