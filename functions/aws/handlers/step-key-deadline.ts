/** Lambda `stepKeyDeadline`: the fallback poll of the acceptor's wait for the peer's sealed key (functions/core/link/activate.ts `keyDeadline`). */
import { keyDeadline } from '#core/link/activate.ts';
import { events } from '../ports/events.ts';
import { store } from '../ports/store.ts';
import { step } from './step.ts';

export const handler = step('keyDeadline', keyDeadline, { store, events });
