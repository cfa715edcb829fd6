/**
 * Lambda `intake`: the HTTP API routes with IAM auth (functions/aws/intake.ts); a malformed
 * API Gateway event gets the intake's 400. `POST /vpns/{id}/approvals` records a prod VPN delete's
 * approval and resumes the vpn-half execution waiting for it.
 */

import { httpInput } from '../input-parser.ts';
import { type HttpApiEvent, intake } from '../intake.ts';
import { events } from '../ports/events.ts';
import { executions, tokens } from '../ports/step-functions.ts';
import { store } from '../ports/store.ts';
import { vpnApprovals } from '../ports/vpn-approvals.ts';
import { wiredDeps } from '../runtime.ts';
import { wrap } from './wrap.ts';

const deps = wiredDeps({ store, events, executions, tokens, vpnApprovals });

export const handler = wrap('intake', (event: HttpApiEvent) => intake(deps, event), {
  input: httpInput,
});
