/** Lambda `stepReport`: the execution's summary, in both state machines (functions/core/link/verify.ts `report`). */
import { report } from '#core/link/verify.ts';
import { events } from '../ports/events.ts';
import { store } from '../ports/store.ts';
import { step } from './step.ts';

export const handler = step('report', report, { store, events });
