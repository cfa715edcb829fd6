/**
 * The matching rules of the policy grammar: `*` / `?` wildcards, policy variables
 * (`${aws:username}`, `${aws:PrincipalTag/team, 'none'}`, and the literal escapes `${*}`, `${?}`,
 * `${$}`), actions (case-insensitive) and ARNs (segment by segment, case-sensitive).
 */

/** Request context keys: names are case-insensitive, values are strings (single- or multi-valued). */
export type ContextKeys = ReadonlyMap<string, readonly string[]>;

/** Builds a context from plain values (`{'aws:SecureTransport': true, 'aws:TagKeys': ['a']}`). */
export function contextOf(
  values: Record<string, string | boolean | number | readonly string[]>,
): ContextKeys {
  const out = new Map<string, readonly string[]>();
  for (const [k, v] of Object.entries(values)) out.set(k.toLowerCase(), Array.isArray(v) ? v : [String(v)]);
  return out;
}

export function contextValue(context: ContextKeys, key: string): readonly string[] | undefined {
  return context.get(key.toLowerCase());
}

const cache = new Map<string, RegExp>();

/** `*` matches any run of characters (none included), `?` exactly one; everything else is literal. */
export function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const key = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let re = cache.get(key);
  if (!re) {
    const body = pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${body}$`, ignoreCase ? 'is' : 's');
    cache.set(key, re);
  }
  return re.test(value);
}

const VARIABLE = /\$\{([^}]*)\}/g;

/**
 * Replaces the policy variables of `text` from the request context. `undefined` when a variable
 * names a key the request lacks (and gives no default) or a multivalued key: the element then
 * matches nothing, as IAM documents. Variables are literal text in a `2008-10-17` policy. A `*` or
 * `?` that comes from a context value or `${*}` stays literal: it is marked (U+E000) for patternMatch.
 */
export function substitute(text: string, context: ContextKeys, version: string): string | undefined {
  if (version !== '2012-10-17' || !text.includes('${')) return text;
  let missing = false;
  const out = text.replace(VARIABLE, (_all, inner: string) => {
    const trimmed = inner.trim();
    if (trimmed === '*' || trimmed === '?' || trimmed === '$') return `\uE000${trimmed}`;
    const withDefault = /^([^,]+?)\s*,\s*'([^']*)'$/.exec(trimmed);
    const key = withDefault ? (withDefault[1] as string) : trimmed;
    const values = contextValue(context, key);
    if (values && values.length === 1) return escapeGlob(values[0] as string);
    if (withDefault && !values) return escapeGlob(withDefault[2] as string);
    missing = true;
    return '';
  });
  return missing ? undefined : out;
}

/** Marks `*` and `?` as literal characters (a U+E000 prefix globMatch reads as "this one, as is"). */
function escapeGlob(value: string): string {
  return value.replace(/[*?$]/g, (c) => `\uE000${c}`);
}

/** globMatch over a substituted pattern: U+E000-marked characters match only themselves. */
export function patternMatch(pattern: string, value: string, ignoreCase = false): boolean {
  if (!pattern.includes('\uE000')) return globMatch(pattern, value, ignoreCase);
  const parts = pattern.split(/(\uE000[*?$])/);
  const body = parts
    .map((p) =>
      p.startsWith('\uE000')
        ? `\\${p[1]}`
        : p
            .split('')
            .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
            .join(''),
    )
    .join('');
  return new RegExp(`^${body}$`, ignoreCase ? 'is' : 's').test(value);
}

/** Literal text of a substituted value (for exact comparisons). */
export function literal(substituted: string): string {
  return substituted.replace(/\uE000/g, '');
}

/** `service:Action` against a policy's action pattern: the service prefix and the name ignore case. */
export function actionMatches(pattern: string, action: string): boolean {
  return pattern === '*' || globMatch(pattern, action, true);
}

/**
 * An ARN against an ARN pattern, each of the six segments on its own (the last may hold colons),
 * case-sensitive; `*` alone matches every resource.
 */
export function arnMatches(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const p = splitArn(pattern);
  const a = splitArn(arn);
  if (!p || !a) return patternMatch(pattern, arn);
  return p.every((seg, i) => patternMatch(seg, a[i] as string));
}

function splitArn(arn: string): string[] | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}
