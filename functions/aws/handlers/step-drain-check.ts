/**
 * Lambda `stepDrainCheck`: waits for Google's half to report drained, then soaks
 * (functions/core/link/decommission.ts `drainCheck`). AWS's halves have no disable (a connection has no
 * admin switch), so this side never records a drained half of its own nor answers a wait with it:
 * no task tokens are wired (nor granted).
 */
import { drainCheck } from '#core/link/decommission.ts';
import { events } from '../ports/events.ts';
import { halves } from '../ports/halves.ts';
import { store } from '../ports/store.ts';
import { step } from './step.ts';

export const handler = step('drainCheck', drainCheck, { store, events, halves });
