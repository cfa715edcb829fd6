/**
 * Lambda `starter`: starts (or finds started) a stage's execution, from the starter rule's events
 * (stage, mode and input derived from the event) or from a direct `{linkId, stage, input?}` invocation.
 */
import type { EventBridgeEvent } from '#aws/envelope.ts';
import type { ExecutionInput } from '#core/link/stage.ts';
import { eventBridgeOr } from '../input-parser.ts';
import { startFromEvent, startStage } from '../intake.ts';
import { executions } from '../ports/step-functions.ts';
import { store } from '../ports/store.ts';
import { wiredDeps } from '../runtime.ts';
import { startRequest } from '../validators.gen.ts';
import { wrap } from './wrap.ts';

type StartRequest = {
  linkId: string;
  stage: 'provisioning' | 'decommissioning';
  input?: ExecutionInput;
};

const deps = wiredDeps({ store, executions });

export const handler = wrap(
  'starter',
  async (event: EventBridgeEvent | StartRequest): Promise<unknown> =>
    'detail-type' in event
      ? startFromEvent(deps, event)
      : startStage(deps, event.stage, event.input ?? { linkId: event.linkId }),
  {
    input: eventBridgeOr(startRequest),
  },
);
