/** Lambda `stepActivateAccept`: acceptor: unseals the peer's key (KMS) and accepts the proposal (functions/core/link/activate.ts `activateAccept`). */
import { activateAccept } from '#core/link/activate.ts';
import { events } from '../ports/events.ts';
import { halves } from '../ports/halves.ts';
import { tokens } from '../ports/step-functions.ts';
import { store } from '../ports/store.ts';
import { unwrap } from '../ports/unwrap.ts';
import { step } from './step.ts';

export const handler = step('activateAccept', activateAccept, { store, events, halves, unwrap, tokens });
