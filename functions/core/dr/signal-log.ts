/**
 * The signal log: JSON lines, in time order, of health signals (events/dr-signal.v1.schema.json) and
 * operator controls (events/dr-control.v1.schema.json). It is what the decider replays.
 */
import controlSchema from '../../../events/dr-control.v1.schema.json' with { type: 'json' };
import signalSchema from '../../../events/dr-signal.v1.schema.json' with { type: 'json' };
import { type Issue, ValidationError } from '../errors.ts';
import { schemaIssues } from '../schema.ts';

export type SignalStatus = 'healthy' | 'unhealthy' | 'unknown';

/** One observation of one signal from one vantage point. */
export interface SignalRecord {
  time: string;
  service: string;
  vantage: string;
  signal: string;
  status: SignalStatus;
  detail?: string;
}

/** An operator's input: approval, override, release, a drill's start or end, or the global pause switch. */
export interface ControlRecord {
  time: string;
  control: 'approve' | 'override' | 'release' | 'drill' | 'pause' | 'resume';
  by: string;
  service?: string;
  decision?: 'failover' | 'failback';
  /** approve: the epoch of the pending move the operator saw. */
  epoch?: number;
  side?: 'primary' | 'standby';
  reason?: string;
}

export type DrRecord = SignalRecord | ControlRecord;

// Whether a record is an operator's control: in ./records.ts, with no schema compiler, so that
// the decider's bundles carry none.
export { isControl } from './records.ts';

/** Validates one parsed line; returns its issues (paths prefixed with `prefix`). */
export function recordIssues(value: unknown, prefix = ''): Issue[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return [{ path: prefix, reason: 'must be a JSON object (a signal or an operator control)' }];
  return schemaIssues('control' in value ? controlSchema : signalSchema, value).map((i) => ({
    path: [prefix, i.path].filter(Boolean).join('.'),
    reason: i.reason,
  }));
}

/**
 * Parses a signal log. Blank lines are skipped. Throws ValidationError with one issue per problem,
 * each naming its line: malformed JSON, a record that breaks its schema, a time earlier than the
 * line before (the decider replays a time-ordered stream; sort the log first).
 */
export function parseSignalLog(text: string, subject = 'signal log'): DrRecord[] {
  return parseSignalLogLines(text, subject).map((l) => l.record);
}

/** Like parseSignalLog, with the 1-based line number of every record. */
export function parseSignalLogLines(
  text: string,
  subject = 'signal log',
): { line: number; record: DrRecord }[] {
  const out: { line: number; record: DrRecord }[] = [];
  const issues: Issue[] = [];
  let previous: { line: number; at: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      issues.push({ path: `line ${line}`, reason: `not valid JSON: ${(e as Error).message}` });
      return;
    }
    const problems = recordIssues(value, `line ${line}`);
    if (problems.length > 0) {
      issues.push(...problems);
      return;
    }
    const record = value as DrRecord;
    const at = Date.parse(record.time);
    if (previous && at < previous.at)
      issues.push({
        path: `line ${line}.time`,
        reason: `${record.time} is earlier than line ${previous.line}; the log must be in time order`,
      });
    else previous = { line, at };
    out.push({ line, record });
  });
  if (issues.length > 0) throw new ValidationError(issues, subject);
  return out;
}
