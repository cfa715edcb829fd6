/** Lambda `stepReport`: the execution's summary, in both state machines (functions/core/link/steps.ts `report`). */
import { report } from '#core/link/steps.ts';
import { events } from '../ports/events.ts';
import { store } from '../ports/store.ts';
import { step } from './step.ts';

export const handler = step('report', report, { store, events });
