/**
 * Validation of events against the catalog's JSON Schemas (`events/`, ./documents.ts): an event's
 * `data` or its envelope. Handlers validate what they receive with these before acting on it; the
 * schemas, not the TypeScript types, are the contract a peer written in anything else can check.
 * The validators are compiled ahead of time (../validators.gen.ts).
 */
import type { Issue } from '../errors.ts';
import { ValidationError } from '../errors.ts';
import { issuesOf, type Validator } from '../validation.ts';
import * as compiled from '../validators.gen.ts';
import type { EventDataByName, EventName } from './catalog.ts';

/** The validator of each event's v1 `data`. */
const EVENT_DATA: { [N in EventName]: Validator } = {
  LinkRequested: compiled.LinkRequested,
  LinkApprovalRequested: compiled.LinkApprovalRequested,
  LinkApproved: compiled.LinkApproved,
  LinkRejected: compiled.LinkRejected,
  LinkExpired: compiled.LinkExpired,
  LinkKeyIssued: compiled.LinkKeyIssued,
  LinkSideStateChanged: compiled.LinkSideStateChanged,
  LinkStateChanged: compiled.LinkStateChanged,
  LinkDecommissionRequested: compiled.LinkDecommissionRequested,
  LinkFailed: compiled.LinkFailed,
  VpnDrainRequested: compiled.VpnDrainRequested,
  VpnDrained: compiled.VpnDrained,
  VpnUndrainRequested: compiled.VpnUndrainRequested,
  VpnUndrained: compiled.VpnUndrained,
  VpnDeleteRequested: compiled.VpnDeleteRequested,
  VpnHalfDeleted: compiled.VpnHalfDeleted,
};

/** Every problem of `data` against the v1 schema of event `name` (paths relative to `data`). */
export function eventDataIssues(name: EventName, data: unknown): Issue[] {
  return issuesOf(EVENT_DATA[name], data);
}

/** Every problem of a CloudEvent envelope (events/envelope.v1.schema.json). */
export function envelopeIssues(event: unknown): Issue[] {
  return issuesOf(compiled.envelope, event);
}

/** Returns `data` typed, or throws ValidationError naming every bad field by path. */
export function parseEventData<N extends EventName>(name: N, data: unknown): EventDataByName[N] {
  const issues = eventDataIssues(name, data);
  if (issues.length > 0) throw new ValidationError(issues, `${name} data`);
  return data as EventDataByName[N];
}
