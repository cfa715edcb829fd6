/** Lambda `stepRequest`: the request stage: live capacity of the pair, then the approval wait's deadlines (functions/core/link/request.ts `request`). */
import { request } from '#core/link/request.ts';
import { events } from '../ports/events.ts';
import { halves } from '../ports/halves.ts';
import { store } from '../ports/store.ts';
import { step } from './step.ts';

export const handler = step('request', request, { store, events, halves });
