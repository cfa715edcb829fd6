/** Lambda `stepCompensate`: deletes what this side created for a failed link, and its key (functions/core/link/steps.ts `compensate`). */
import { compensate } from '#core/link/steps.ts';
import { events } from '../ports/events.ts';
import { halves } from '../ports/halves.ts';
import { secrets } from '../ports/secrets.ts';
import { store } from '../ports/store.ts';
import { step } from './step.ts';

export const handler = step('compensate', compensate, { store, events, halves, secrets });
