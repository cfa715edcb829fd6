/**
 * Function `vpnHalf`: the vpn-half workflow's one step (OIDC, POST `{event}`): one VPN command
 * applied to the Google half (../vpn-half.ts); answers the result, or the named error the workflow
 * raises.
 */
import { ValidationError } from '#core/errors.ts';
import { gcpVpnHalfStep } from '../vpn-half.ts';
import { answerStepError, type Deps, health, logLine, type Request, type Response } from './wrap.ts';

export function vpnHalf(deps: Deps) {
  return async (req: Request, res: Response) => {
    if (health('vpnHalf', req, res)) return;
    try {
      if (req.method !== 'POST')
        throw new ValidationError([{ path: 'method', reason: `must be POST, got ${req.method}` }], 'vpnHalf');
      const event = (req.body as { event?: unknown } | null)?.event;
      if (typeof event !== 'object' || event === null)
        throw new ValidationError(
          [{ path: 'event', reason: 'is required: the command CloudEvent' }],
          'vpnHalf',
        );
      const result = await gcpVpnHalfStep((await deps()).vpn, req.body as never);
      logLine({ severity: 'INFO', function: 'vpnHalf', result });
      res.status(200).json(result);
    } catch (e) {
      answerStepError('vpnHalf', res, e);
    }
  };
}
