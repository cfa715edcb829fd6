/** Lambda `stepActivateInitiate`: initiator: creates this side's half, its key to Secrets Manager at once (functions/core/link/activate.ts `activateInitiate`). */
import { activateInitiate } from '#core/link/activate.ts';
import { events } from '../ports/events.ts';
import { halves } from '../ports/halves.ts';
import { secrets } from '../ports/secrets.ts';
import { tokens } from '../ports/step-functions.ts';
import { store } from '../ports/store.ts';
import { step } from './step.ts';

export const handler = step('activateInitiate', activateInitiate, { store, events, halves, secrets, tokens });
