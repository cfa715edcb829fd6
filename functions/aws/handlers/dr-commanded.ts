/**
 * Lambda `drCommanded` (functions/aws/dr-commanded.ts): Google's `DrActionStarted` for an action on
 * AWS, relayed to the bus, or AWS's own executor's for an action with a hook on AWS (`via:
 * commanded`), admitted through the fence in the links table; the plan's hook Lambda
 * invoked and `DrActionFinished` put on the bus. A command whose hook is still running fails the
 * invocation (retried later); a malformed or forged command is dropped with the fields logged.
 */
import type { EventBridgeEvent } from '#aws/envelope.ts';
import { drCommandedDepsFromEnv, drCommandedStep } from '../dr-commanded.ts';
import { eventBridgeInput } from '../input-parser.ts';
import { logger, wrap } from './wrap.ts';

export const handler = wrap(
  'drCommanded',
  async (event: EventBridgeEvent, context) => {
    // This invocation's time left: its hook is given at most that, less the time to answer.
    const out = await drCommandedStep(
      drCommandedDepsFromEnv(process.env, () => context.getRemainingTimeInMillis()),
      event,
    );
    if (out.outcome === 'dropped') logger.error('DR command dropped', { reason: out.reason });
    else if (out.outcome === 'ignored') logger.info('DR event ignored', { reason: out.reason });
    else logger.info('DR command answered', { outcome: out.outcome, result: out.result });
    return out;
  },
  { input: eventBridgeInput },
);
