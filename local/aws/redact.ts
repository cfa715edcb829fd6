/**
 * Sensitive members never leave the edge in clear in what it reports about a call: CloudTrail
 * shows `HIDDEN_DUE_TO_SECURITY_REASONS` for members the model marks `@sensitive` (Interconnect's
 * activationKey, Secrets Manager's SecretString / SecretBinary, KMS's Plaintext, ...), and AWS's
 * validation errors name a sensitive member without quoting its value.
 */

export const REDACTED = 'HIDDEN_DUE_TO_SECURITY_REASONS';

/** Member names sensitive in every service we simulate; a module adds its own (`sensitiveMembers`). */
export const ALWAYS_SENSITIVE: readonly string[] = [
  'activationKey',
  'SecretString',
  'SecretBinary',
  'Plaintext',
];

/**
 * A copy of `value` with every member named in `names` (at any depth) replaced by REDACTED; the
 * clear values found are added to `found` (so messages can be scrubbed of them). Plain objects
 * and arrays are copied; other values (Dates, buffers, raw responses) are kept as they are.
 */
export function redact(value: unknown, names: ReadonlySet<string>, found: string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v) => redact(v, names, found));
  if (value === null || typeof value !== 'object') return value;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (names.has(k) && v !== undefined && v !== null) {
      collect(v, found);
      out[k] = REDACTED;
    } else {
      out[k] = redact(v, names, found);
    }
  }
  return out;
}

function collect(v: unknown, found: string[]): void {
  if (typeof v === 'string') {
    if (v.length > 0) found.push(v);
  } else if (v instanceof Uint8Array) {
    if (v.length > 0) found.push(Buffer.from(v).toString('base64'));
  } else if (Array.isArray(v)) {
    for (const x of v) collect(x, found);
  } else if (v && typeof v === 'object') {
    for (const x of Object.values(v)) collect(x, found);
  }
}

/** `message` with every occurrence of a sensitive value replaced by REDACTED. */
export function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  // Longest first, so a value containing another is replaced whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (s.length >= 4) out = out.split(s).join(REDACTED);
  }
  return out;
}
