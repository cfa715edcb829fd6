/**
 * Validation of events against the catalog's JSON Schemas (`events/`, ./documents.ts): an event's
 * `data` or its envelope. Handlers validate what they receive with these before acting on it; the
 * schemas, not the TypeScript types, are the contract a peer written in anything else can check.
 * The validators are compiled ahead of time (../validators.gen.ts).
 */
import type { Issue } from '../errors.ts';
import { ValidationError } from '../errors.ts';
import { issuesOf } from '../validation.ts';
import * as compiled from '../validators.gen.ts';
import { type EventDataByName, type EventName, isLinkEvent, type LinkEventName } from './catalog.ts';
import type { EventCheck } from './checks.ts';
import * as checks from './checks.ts';

/**
 * The link events' checks, by name: for a link event whose name is known only at run time (a
 * peer's event, `parseLinkEventData`). Apart from the VPN events' so that a function that reads
 * only link events holds only their validators.
 */
const LINK_EVENT_DATA: { [N in LinkEventName]: EventCheck<N> } = {
  LinkRequested: checks.LinkRequested,
  LinkApprovalRequested: checks.LinkApprovalRequested,
  LinkApproved: checks.LinkApproved,
  LinkRejected: checks.LinkRejected,
  LinkExpired: checks.LinkExpired,
  LinkKeyIssued: checks.LinkKeyIssued,
  LinkSideStateChanged: checks.LinkSideStateChanged,
  LinkStateChanged: checks.LinkStateChanged,
  LinkDecommissionRequested: checks.LinkDecommissionRequested,
  LinkFailed: checks.LinkFailed,
};

/** The VPN events' checks, by name. */
const VPN_EVENT_DATA: { [N in Exclude<EventName, LinkEventName>]: EventCheck<N> } = {
  VpnDrainRequested: checks.VpnDrainRequested,
  VpnDrained: checks.VpnDrained,
  VpnUndrainRequested: checks.VpnUndrainRequested,
  VpnUndrained: checks.VpnUndrained,
  VpnDeleteRequested: checks.VpnDeleteRequested,
  VpnHalfDeleted: checks.VpnHalfDeleted,
  VpnRunReported: checks.VpnRunReported,
  VpnInventoryRequested: checks.VpnInventoryRequested,
  VpnInventoryReported: checks.VpnInventoryReported,
  DrSignalObserved: checks.DrSignalObserved,
  DrDecisionMade: checks.DrDecisionMade,
  DrActionStarted: checks.DrActionStarted,
  DrActionFinished: checks.DrActionFinished,
  DrFailedOver: checks.DrFailedOver,
  DrFailedBack: checks.DrFailedBack,
};

/** Each event's check, by name: for an event whose name is known only at run time. */
function eventCheck<N extends EventName>(name: N): EventCheck<N> {
  return (
    isLinkEvent(name) ? LINK_EVENT_DATA[name] : VPN_EVENT_DATA[name as Exclude<EventName, LinkEventName>]
  ) as EventCheck<N>;
}

/** Every problem of `data` against the v1 schema of event `name` (paths relative to `data`). */
export function eventDataIssues(name: EventName, data: unknown): Issue[] {
  return issuesOf(eventCheck(name).validate, data);
}

/** Every problem of a CloudEvent envelope (events/envelope.v1.schema.json). */
export function envelopeIssues(event: unknown): Issue[] {
  return issuesOf(compiled.envelope, event);
}

/** Returns `data` typed, or throws ValidationError naming every bad field by path. */
export function parseEventData<N extends EventName>(name: N, data: unknown): EventDataByName[N] {
  return checkEventData(eventCheck(name), data);
}

/** `parseEventData` of a link event: what a peer's link event is read with. */
export function parseLinkEventData<N extends LinkEventName>(name: N, data: unknown): EventDataByName[N] {
  return checkEventData(LINK_EVENT_DATA[name] as EventCheck<N>, data);
}

/** Returns `data` typed, or throws ValidationError naming every bad field by path. */
export function checkEventData<N extends EventName>(event: EventCheck<N>, data: unknown): EventDataByName[N] {
  const issues = issuesOf(event.validate, data);
  if (issues.length > 0) throw new ValidationError(issues, `${event.name} data`);
  return data as EventDataByName[N];
}
