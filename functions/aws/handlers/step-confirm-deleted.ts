/** Lambda `stepConfirmDeleted`: confirms this side's half is gone (a Get says so) (functions/core/link/decommission.ts `confirmDeleted`). */
import { confirmDeleted } from '#core/link/decommission.ts';
import { events } from '../ports/events.ts';
import { halves } from '../ports/halves.ts';
import { tokens } from '../ports/step-functions.ts';
import { store } from '../ports/store.ts';
import { step } from './step.ts';

export const handler = step('confirmDeleted', confirmDeleted, { store, events, halves, tokens });
