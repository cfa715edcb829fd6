/**
 * The JSON Schema documents of the event catalog (`events/`), as data: what the validators are
 * compiled from (scripts/gen-validators.ts) and what tests read. Validation goes through
 * `./schemas.ts`, whose validators are compiled ahead of time, so a function bundles none of this.
 */
import requestSchema from '../../../config/link-request.schema.json' with { type: 'json' };
import DrActionFinished from '../../../events/DrActionFinished.v1.schema.json' with { type: 'json' };
import DrActionStarted from '../../../events/DrActionStarted.v1.schema.json' with { type: 'json' };
import DrDecisionMade from '../../../events/DrDecisionMade.v1.schema.json' with { type: 'json' };
import DrFailedBack from '../../../events/DrFailedBack.v1.schema.json' with { type: 'json' };
import DrFailedOver from '../../../events/DrFailedOver.v1.schema.json' with { type: 'json' };
import DrSignalObserved from '../../../events/DrSignalObserved.v1.schema.json' with { type: 'json' };
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
import VpnInventoryReported from '../../../events/VpnInventoryReported.v1.schema.json' with { type: 'json' };
import VpnInventoryRequested from '../../../events/VpnInventoryRequested.v1.schema.json' with {
  type: 'json',
};
import VpnRunReported from '../../../events/VpnRunReported.v1.schema.json' with { type: 'json' };
import VpnUndrained from '../../../events/VpnUndrained.v1.schema.json' with { type: 'json' };
import VpnUndrainRequested from '../../../events/VpnUndrainRequested.v1.schema.json' with { type: 'json' };
import type { EventName } from './catalog.ts';

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
  VpnRunReported,
  VpnInventoryRequested,
  VpnInventoryReported,
  DrSignalObserved,
  DrDecisionMade,
  DrActionStarted,
  DrActionFinished,
  DrFailedOver,
  DrFailedBack,
};

export const ENVELOPE_SCHEMA: object = envelopeSchema;

/** The schemas the event schemas `$ref` by `$id`. */
export const REFERENCED_SCHEMAS: { $id: string }[] = [requestSchema, defsSchema];
