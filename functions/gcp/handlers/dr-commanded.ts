/**
 * Function `drCommanded`: Google's commanded side of a DR plan AWS executes (../dr-commanded.ts,
 * docs/dr-executor.md "The commanded side on Google"). The push of `crosslink-peer-events` (OIDC):
 * AWS's `DrActionStarted` for an action on Google (`via: relay`) is admitted through the fence, the
 * plan's hook runs, and `DrActionFinished` goes back on crosslink-events; every other event is
 * acknowledged unread. A command whose hook is still running answers 500 (Pub/Sub delivers it again
 * later, when its recorded result is sent); an event naming another action than the plan's is
 * dropped (204) with the reason logged.
 */
import { parseEventType } from '#core/envelope.ts';
import { onCommand } from '../dr-commanded.ts';
import { fromPubSubPush } from '../envelope.ts';
import { type Deps, pushHandler } from './wrap.ts';

export function drCommanded(deps: Deps) {
  return pushHandler('drCommanded', async (body) => {
    const event = fromPubSubPush(body);
    // Built only for a command: the other events of the topic need no dependencies.
    if (parseEventType(event.type)?.name !== 'DrActionStarted')
      return { outcome: 'ignored', reason: event.type };
    return onCommand((await deps()).drCommanded(), event);
  });
}
