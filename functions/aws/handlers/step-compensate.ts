/** Lambda `stepCompensate`: deletes what this side created for a failed link, and its key (functions/core/link/compensate.ts, on the run's `{Error, Cause}` read by ../steps.ts `compensateRun`). */
import { events } from '../ports/events.ts';
import { halves } from '../ports/halves.ts';
import { secrets } from '../ports/secrets.ts';
import { store } from '../ports/store.ts';
import { compensateRun } from '../steps.ts';
import { step } from './step.ts';

export const handler = step('compensate', compensateRun, { store, events, halves, secrets });
