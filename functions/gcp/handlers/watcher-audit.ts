/** Function `watcherAudit`: the push of `crosslink-audit` (OIDC), a TransportManager audit entry: that transport checked now. */
import { onTransportAuditEntry } from '../watcher.ts';
import { type Deps, pushedMessage, pushHandler } from './wrap.ts';

export function watcherAudit(deps: Deps) {
  return pushHandler('watcherAudit', async (body) => {
    const message = pushedMessage(body);
    return onTransportAuditEntry((await deps()).watch, message);
  });
}
