/** Lambda `stepPark`: the `.waitForTaskToken` task of every wait: parks the token, answers it if the awaited event came first (functions/core/link/waits.ts `park`). */
import { park } from '#core/link/waits.ts';
import { events } from '../ports/events.ts';
import { tokens } from '../ports/step-functions.ts';
import { store } from '../ports/store.ts';
import { step } from './step.ts';

export const handler = step('park', park, { store, events, tokens });
