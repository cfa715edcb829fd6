/** Principal patterns: IAM ARNs with `*` wildcards, Google emails exact or `*@domain`. */

export function matchesPrincipal(pattern: string, principal: string): boolean {
  if (!pattern.includes('*')) return pattern === principal;
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
  return re.test(principal);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * An assumed-role session (`arn:aws:sts::123:assumed-role/Role/session`) acts as its role
 * (`arn:aws:iam::123:role/Role`): policies name roles, callers arrive as sessions.
 */
export function canonicalAwsPrincipal(arn: string): string {
  const m = /^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(arn);
  return m ? `arn:aws:iam::${m[1]}:role/${m[2]}` : arn;
}

export function cloudOfPrincipal(principal: string): 'aws' | 'gcp' | undefined {
  if (principal.startsWith('arn:aws:')) return 'aws';
  if (/^[^@\s]+@[^@\s]+$/.test(principal)) return 'gcp';
  return undefined;
}
