/** Lambda `stepPollHalf`: the fallback poll of the "both halves up" wait (functions/core/link/verify.ts `pollHalf`). */
import { pollHalf } from '#core/link/verify.ts';
import { events } from '../ports/events.ts';
import { halves } from '../ports/halves.ts';
import { tokens } from '../ports/step-functions.ts';
import { store } from '../ports/store.ts';
import { step } from './step.ts';

export const handler = step('pollHalf', pollHalf, { store, events, halves, tokens });
