/**
 * Function `vpnRun`: the vpn-run workflow's one step (OIDC, POST `{step, ...}`), when Google
 * coordinates the VPN runs (../vpn-run.ts, functions/core/vpn/run-steps.ts `vpnRunStep`); answers the
 * step's result, or the named error the workflow raises. `{step: "start-scheduled"}` is the Cloud
 * Scheduler job's firing: it starts the workflow with the firing's scheduled time
 * (`startScheduledRun`). `{step: "traffic-check"}` is the minute's job `crosslink-vpn-traffic`: the
 * drained VPNs whose traffic returned are undrained (functions/core/vpn/traffic-return.ts), the check
 * named by the firing's scheduled time.
 */
import { ValidationError } from '#core/errors.ts';
import { vpnRunStep } from '#core/vpn/run-steps.ts';
import { undrainForTraffic } from '#core/vpn/traffic-return.ts';
import { callerOfToken } from '../intake.ts';
import { startScheduledRun } from '../vpn-run.ts';
import { answerStepError, type Deps, health, logLine, type Request, type Response } from './wrap.ts';

export function vpnRun(deps: Deps) {
  return async (req: Request, res: Response) => {
    if (health('vpnRun', req, res)) return;
    try {
      if (req.method !== 'POST')
        throw new ValidationError([{ path: 'method', reason: `must be POST, got ${req.method}` }], 'vpnRun');
      const d = await deps();
      const body = req.body as { step?: unknown } | undefined;
      const result =
        body?.step === 'traffic-check'
          ? await undrainForTraffic(await d.vpnTraffic(), checkOf(req.get('x-cloudscheduler-scheduletime')))
          : body?.step === 'start-scheduled'
            ? await startScheduledRun(
                { executions: d.starter.executions, workflow: d.vpnRunWorkflow },
                {
                  scheduleTime: req.get('x-cloudscheduler-scheduletime'),
                  caller: callerOfToken(req.get('authorization'))?.principal,
                },
              )
            : await vpnRunStep(d.vpnRun(), req.body as never);
      logLine({ severity: 'INFO', function: 'vpnRun', step: (req.body as { step?: unknown })?.step, result });
      res.status(200).json(result);
    } catch (e) {
      answerStepError('vpnRun', res, e);
    }
  };
}

/** A traffic check's id: the firing's scheduled time, the same when Cloud Scheduler tries it again. */
function checkOf(scheduleTime: string | undefined): string {
  if (!scheduleTime || Number.isNaN(Date.parse(scheduleTime)))
    throw new ValidationError(
      [
        {
          path: 'X-CloudScheduler-ScheduleTime',
          reason: 'must be the firing’s time (ISO 8601), as Cloud Scheduler sends it',
        },
      ],
      'VPN traffic check',
    );
  return new Date(Date.parse(scheduleTime)).toISOString();
}
