/** Lambda `stepDeleteOwnHalf`: deletes this side's half and its key (functions/core/link/decommission.ts `deleteOwnHalf`). */
import { deleteOwnHalf } from '#core/link/decommission.ts';
import { events } from '../ports/events.ts';
import { halves } from '../ports/halves.ts';
import { secrets } from '../ports/secrets.ts';
import { store } from '../ports/store.ts';
import { step } from './step.ts';

export const handler = step('deleteOwnHalf', deleteOwnHalf, { store, events, halves, secrets });
