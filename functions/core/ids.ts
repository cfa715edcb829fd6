/**
 * Identifiers. A link id is `lk-` + a lowercase ULID (29 characters). It must be usable unchanged as
 * a Google transport id, a Step Functions execution-name prefix, a DynamoDB key and a Firestore
 * document id; each of those rules is checked here so a bad id is refused before it reaches a cloud.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.ts';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/** Encodes a ULID (48-bit time, 80 random bits) in lowercase Crockford base32. */
export function ulid(timeMs: number, random: Uint8Array = randomBytes(10)): string {
  if (!Number.isInteger(timeMs) || timeMs < 0 || timeMs > 2 ** 48 - 1)
    throw new RangeError(`ULID time out of range: ${timeMs}`);
  if (random.length !== 10) throw new RangeError('ULID randomness must be 10 bytes');
  let out = '';
  let t = timeMs;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[t % 32] + out;
    t = Math.floor(t / 32);
  }
  // 80 random bits -> 16 characters of 5 bits.
  let bits = 0n;
  for (const b of random) bits = (bits << 8n) | BigInt(b);
  let rand = '';
  for (let i = 0; i < 16; i++) {
    rand = CROCKFORD[Number(bits & 31n)] + rand;
    bits >>= 5n;
  }
  return out + rand;
}

/** Milliseconds encoded in a ULID (or a link id). */
export function ulidTime(id: string): number {
  const core = id.startsWith('lk-') ? id.slice(3) : id;
  let t = 0;
  for (const ch of core.slice(0, 10).toLowerCase()) t = t * 32 + CROCKFORD.indexOf(ch);
  return t;
}

export const LINK_ID_PATTERN = /^lk-[0-7][0-9a-hjkmnp-tv-z]{25}$/;

export function mintLinkId(clock: Clock, random?: Uint8Array): string {
  return `lk-${ulid(clock.now(), random)}`;
}

/** A CloudEvent id: an uppercase ULID, the dedupe key across relays and redeliveries. */
export function mintEventId(clock: Clock, random?: Uint8Array): string {
  return ulid(clock.now(), random).toUpperCase();
}

/** Why `id` is not a valid link id, or undefined when it is. */
export function linkIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'must be a string';
  if (!LINK_ID_PATTERN.test(id))
    return 'must be "lk-" followed by a lowercase ULID (26 characters of 0-9 a-z without i, l, o, u)';
  return undefined;
}

export function isLinkId(id: unknown): id is string {
  return linkIdProblem(id) === undefined;
}

// The rules of each place a link id must fit, as the providers document them.

/** Google resource ids (RFC 1035): lowercase letter first, then lowercase letters, digits, hyphens; no trailing hyphen; at most 63. */
export function isValidGoogleResourceId(id: string): boolean {
  return /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/.test(id);
}

/** Step Functions execution names: 1-80 characters, none of whitespace, brackets, wildcards, special characters or control characters. */
export function isValidExecutionName(name: string): boolean {
  if (name.length < 1 || name.length > 80) return false;
  for (const ch of name) {
    const code = ch.codePointAt(0) as number;
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return false; // control characters
  }
  return !/[\s<>{}[\]?*"#%\\^|~`$&,;:/]/.test(name);
}

/** DynamoDB string partition keys: 1 to 2048 bytes of UTF-8. */
export function isValidDynamoKey(key: string): boolean {
  const n = Buffer.byteLength(key, 'utf8');
  return n >= 1 && n <= 2048;
}

/** Firestore document ids: at most 1500 bytes, no '/', not '.' or '..', not `__.*__`. */
export function isValidFirestoreId(id: string): boolean {
  const n = Buffer.byteLength(id, 'utf8');
  return n >= 1 && n <= 1500 && !id.includes('/') && id !== '.' && id !== '..' && !/^__.*__$/.test(id);
}

export type Stage = 'provisioning' | 'decommissioning';

/** `<linkId>-<stage>-<attempt>`: the deterministic Step Functions execution name (and Workflows label). */
export function executionName(linkId: string, stage: Stage, attempt: number): string {
  const problem = linkIdProblem(linkId);
  if (problem) throw new RangeError(`link id ${linkId}: ${problem}`);
  if (!Number.isInteger(attempt) || attempt < 1)
    throw new RangeError(`attempt must be a whole number from 1, got ${attempt}`);
  return `${linkId}-${stage}-${attempt}`;
}

export function parseExecutionName(
  name: string,
): { linkId: string; stage: Stage; attempt: number } | undefined {
  const m = /^(lk-[0-9a-z]{26})-(provisioning|decommissioning)-([1-9]\d*)$/.exec(name);
  if (!m || !isLinkId(m[1])) return undefined;
  return { linkId: m[1] as string, stage: m[2] as Stage, attempt: Number(m[3]) };
}
