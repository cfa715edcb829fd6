/** Lambda `stepDecommissionRequest`: the decommission request stage: its approval wait's deadlines (functions/core/link/decommission.ts `decommissionRequest`). */
import { decommissionRequest } from '#core/link/decommission.ts';
import { events } from '../ports/events.ts';
import { store } from '../ports/store.ts';
import { step } from './step.ts';

export const handler = step('decommissionRequest', decommissionRequest, { store, events });
