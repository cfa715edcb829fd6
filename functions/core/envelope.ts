/**
 * The crosslink event envelope: a CloudEvent 1.0 in structured JSON, built and parsed the same on
 * both clouds. Its mappings to a bus are the adapters': functions/aws/envelope.ts,
 * functions/gcp/envelope.ts. The parser names every problem it finds.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.ts';
import { type Issue, ValidationError } from './errors.ts';
import { mintEventId } from './ids.ts';

export type Cloud = 'aws' | 'gcp';

export interface CloudEvent<T = unknown> {
  specversion: '1.0';
  id: string;
  type: string;
  source: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: T;
  crosslinkorigin: Cloud;
  traceparent: string;
  /** v1 consumers keep and ignore unknown extension attributes. */
  [extension: string]: unknown;
}

/** Where an event was produced: an AWS account or Google project, and a region. */
export type Origin =
  | { cloud: 'aws'; accountId: string; region: string }
  | { cloud: 'gcp'; project: string; region: string };

const TYPE_RE = /^crosslink\.([A-Z][A-Za-z0-9]*)\.v([1-9]\d*)$/;
const SOURCE_RE =
  /^crosslink:\/\/(aws\/\d{12}|gcp\/[a-z][-a-z0-9]{4,28}[a-z0-9])\/[a-z]+(?:-[a-z]+)*\d*(?:-\d+)?$/;
const TRACEPARENT_RE = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
const EVENT_ID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

export function eventType(name: string, major = 1): string {
  return `crosslink.${name}.v${major}`;
}

/** `crosslink.LinkKeyIssued.v1` -> `{ name: 'LinkKeyIssued', major: 1 }`. */
export function parseEventType(type: string): { name: string; major: number } | undefined {
  const m = TYPE_RE.exec(type);
  return m ? { name: m[1] as string, major: Number(m[2]) } : undefined;
}

export function sourceOf(origin: Origin): string {
  return origin.cloud === 'aws'
    ? `crosslink://aws/${origin.accountId}/${origin.region}`
    : `crosslink://gcp/${origin.project}/${origin.region}`;
}

export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

export interface BuildEventInput<T> {
  name: string;
  major?: number;
  origin: Origin;
  subject: string;
  data: T;
  clock: Clock;
  /** Continue a trace: pass the traceparent of the event or request that caused this one. */
  traceparent?: string;
  id?: string;
}

export function buildEvent<T>(input: BuildEventInput<T>): CloudEvent<T> {
  const event: CloudEvent<T> = {
    specversion: '1.0',
    id: input.id ?? mintEventId(input.clock),
    type: eventType(input.name, input.major),
    source: sourceOf(input.origin),
    subject: input.subject,
    time: new Date(input.clock.now()).toISOString(),
    datacontenttype: 'application/json',
    data: input.data,
    crosslinkorigin: input.origin.cloud,
    traceparent: input.traceparent ?? newTraceparent(),
  };
  parseEvent(event); // never emit what a receiver would refuse
  return event;
}

/** Validates a CloudEvent received from anywhere; throws ValidationError naming every bad attribute. */
export function parseEvent(raw: unknown): CloudEvent {
  const issues: Issue[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ValidationError(
      [{ path: '', reason: 'an event must be a JSON object (a structured CloudEvent)' }],
      'event',
    );
  }
  const e = raw as Record<string, unknown>;
  const str = (k: string, re: RegExp | undefined, what: string) => {
    const v = e[k];
    if (v === undefined) issues.push({ path: k, reason: 'is required' });
    else if (typeof v !== 'string') issues.push({ path: k, reason: 'must be a string' });
    else if (re && !re.test(v)) issues.push({ path: k, reason: `must be ${what}, got "${v.slice(0, 80)}"` });
  };
  if (e.specversion !== '1.0')
    issues.push({ path: 'specversion', reason: `must be "1.0", got ${JSON.stringify(e.specversion)}` });
  str('id', EVENT_ID_RE, 'an uppercase ULID');
  str('type', TYPE_RE, 'crosslink.<Name>.v<major>');
  str('source', SOURCE_RE, 'crosslink://aws/<account>/<region> or crosslink://gcp/<project>/<region>');
  str('subject', /^\S{1,256}$/, 'a link, run or service id');
  str('time', RFC3339_RE, 'an RFC 3339 timestamp');
  str('traceparent', TRACEPARENT_RE, 'a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)');
  if (e.datacontenttype !== undefined && e.datacontenttype !== 'application/json') {
    issues.push({ path: 'datacontenttype', reason: 'must be "application/json"' });
  }
  if (e.crosslinkorigin !== 'aws' && e.crosslinkorigin !== 'gcp') {
    issues.push({ path: 'crosslinkorigin', reason: 'must be "aws" or "gcp"' });
  } else if (typeof e.source === 'string' && !e.source.startsWith(`crosslink://${e.crosslinkorigin}/`)) {
    issues.push({ path: 'crosslinkorigin', reason: `says ${e.crosslinkorigin} but source is ${e.source}` });
  }
  if (typeof e.data !== 'object' || e.data === null || Array.isArray(e.data))
    issues.push({ path: 'data', reason: 'must be a JSON object' });
  if (issues.length > 0) throw new ValidationError(issues, 'event');
  return { datacontenttype: 'application/json', ...e } as CloudEvent;
}
