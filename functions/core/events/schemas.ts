/**
 * The JSON Schemas of the event catalog (`events/`), ready to validate an event's `data` or its
 * envelope. Handlers validate what they receive with these before acting on it; the schemas, not the
 * TypeScript types, are the contract a peer written in anything else can check.
 */
import requestSchema from '../../../config/link-request.schema.json' with { type: 'json' };
import defsSchema from '../../../events/defs.v1.schema.json' with { type: 'json' };
import envelopeSchema from '../../../events/envelope.v1.schema.json' with { type: 'json' };
import LinkApprovalRequested from '../../../events/LinkApprovalRequested.v1.schema.json' with {
  type: 'json',
};
import LinkApproved from '../../../events/LinkApproved.v1.schema.json' with { type: 'json' };
import LinkDecommissionRequested from '../../../events/LinkDecommissionRequested.v1.schema.json' with {
  type: 'json',
};
import LinkExpired from '../../../events/LinkExpired.v1.schema.json' with { type: 'json' };
import LinkFailed from '../../../events/LinkFailed.v1.schema.json' with { type: 'json' };
import LinkKeyIssued from '../../../events/LinkKeyIssued.v1.schema.json' with { type: 'json' };
import LinkRejected from '../../../events/LinkRejected.v1.schema.json' with { type: 'json' };
import LinkRequested from '../../../events/LinkRequested.v1.schema.json' with { type: 'json' };
import LinkSideStateChanged from '../../../events/LinkSideStateChanged.v1.schema.json' with { type: 'json' };
import LinkStateChanged from '../../../events/LinkStateChanged.v1.schema.json' with { type: 'json' };
import VpnDeleteRequested from '../../../events/VpnDeleteRequested.v1.schema.json' with { type: 'json' };
import VpnDrained from '../../../events/VpnDrained.v1.schema.json' with { type: 'json' };
import VpnDrainRequested from '../../../events/VpnDrainRequested.v1.schema.json' with { type: 'json' };
import VpnHalfDeleted from '../../../events/VpnHalfDeleted.v1.schema.json' with { type: 'json' };
import VpnUndrained from '../../../events/VpnUndrained.v1.schema.json' with { type: 'json' };
import VpnUndrainRequested from '../../../events/VpnUndrainRequested.v1.schema.json' with { type: 'json' };
import type { Issue } from '../errors.ts';
import { ValidationError } from '../errors.ts';
import { registerSchema, schemaIssues } from '../schema.ts';
import type { EventDataByName, EventName } from './catalog.ts';

// The event schemas $ref these by $id; ajv resolves a $ref only to a schema it already knows.
registerSchema(requestSchema);
registerSchema(defsSchema);

export interface EventDataSchema {
  $id: string;
  'x-producer': string;
  'x-consumers': string[];
  required: string[];
  properties: Record<string, unknown>;
}

/** The v1 schema of each event's `data`. */
export const EVENT_DATA_SCHEMAS: { [N in EventName]: EventDataSchema } = {
  LinkRequested,
  LinkApprovalRequested,
  LinkApproved,
  LinkRejected,
  LinkExpired,
  LinkKeyIssued,
  LinkSideStateChanged,
  LinkStateChanged,
  LinkDecommissionRequested,
  LinkFailed,
  VpnDrainRequested,
  VpnDrained,
  VpnUndrainRequested,
  VpnUndrained,
  VpnDeleteRequested,
  VpnHalfDeleted,
};

export const ENVELOPE_SCHEMA: object = envelopeSchema;

/** Every problem of `data` against the v1 schema of event `name` (paths relative to `data`). */
export function eventDataIssues(name: EventName, data: unknown): Issue[] {
  return schemaIssues(EVENT_DATA_SCHEMAS[name], data);
}

/** Returns `data` typed, or throws ValidationError naming every bad field by path. */
export function parseEventData<N extends EventName>(name: N, data: unknown): EventDataByName[N] {
  const issues = eventDataIssues(name, data);
  if (issues.length > 0) throw new ValidationError(issues, `${name} data`);
  return data as EventDataByName[N];
}
