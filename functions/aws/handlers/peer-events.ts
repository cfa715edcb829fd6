/** Lambda `peerEvents`: the peer's events through PeerEventsQueue, partial batch failures, each retried on its own. */

import { sqsInput } from '../input-parser.ts';
import { peerEventBatch } from '../intake.ts';
import { events } from '../ports/events.ts';
import { executions, tokens } from '../ports/step-functions.ts';
import { store } from '../ports/store.ts';
import { wiredDeps } from '../runtime.ts';
import { logger, wrap } from './wrap.ts';

const deps = wiredDeps({ store, events, executions, tokens });

export const handler = wrap(
  'peerEvents',
  (event: { Records: { messageId: string; body: string }[] }) => peerEventBatch(deps, event.Records, logger),
  { input: sqsInput },
);
