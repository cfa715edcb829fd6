/**
 * Function `drSignals`: the Google vantage point of a DR plan (../dr-signals.ts,
 * docs/dr-signals.md). Two callers:
 * - Cloud Scheduler every minute (OIDC, POST): the plan's Google vantage point runs its probes in
 *   this function's region; each line is recorded and published, and one `dr signals recorded` log
 *   line counts them (the log-based metric the staleness alert reads). A run refused (the plan's
 *   Google vantage point is in another region, a setting missing) answers 400 naming the field;
 *   with no plan deployed nothing is probed (200).
 * - the pushes of `crosslink-peer-events` and `crosslink-events` (OIDC): AWS's `DrSignalObserved`
 *   recorded once, a `LinkStateChanged` of the replication link as this side's link signal; any
 *   other event is acknowledged unread.
 * The same function is Google's DR executor when the plan's traffic switch is a Cloud DNS failover
 * policy (../dr-executor.ts, docs/dr-executor.md "On Google: the dr-failover workflow"), with the
 * same plan, account and grants (Firestore, publishing on crosslink-events):
 * - the dr-failover workflow (OIDC), POST `{step, ...}`: one executor step
 *   (functions/core/dr/executor-steps.ts), answered with what to do next or the named error the
 *   workflow raises (an advance saved first by another call is a retryable RunVersionConflict);
 * - the push of `crosslink-peer-events`: AWS's `DrActionFinished`, the result of a command it was
 *   relayed, kept for the run's next poll;
 * - after each scheduled run and each pushed observation it recorded, the decision hook
 *   (../dr-decide.ts): the decider on this side's log, each new move starting the workflow.
 */
import { type DecideOutcome, type DecisionHookDeps, handOnDecisions } from '#core/dr/decision-hook.ts';
import { drExecutorStep, keepRelayedResult } from '#core/dr/executor-steps.ts';
import { ValidationError } from '#core/errors.ts';
import { gcpDrSignalsEvent, gcpScheduledRun } from '../dr-signals.ts';
import { fromPubSubPush } from '../envelope.ts';
import {
  answerStepError,
  type Deps,
  health,
  logLine,
  pushHandler,
  type Request,
  type Response,
} from './wrap.ts';

/** The log line the staleness alert's metric counts (gcp.yml logMetrics crosslink_dr_signals_recorded). */
export const RECORDED_MESSAGE = 'dr signals recorded';

const SIGNAL_EVENTS = new Set(['crosslink.DrSignalObserved.v1', 'crosslink.LinkStateChanged.v1']);

export function drSignals(deps: Deps) {
  const pushed = pushHandler('drSignals', async (body) => {
    const event = fromPubSubPush(body);
    if (event.type === 'crosslink.DrActionFinished.v1' && event.crosslinkorigin === 'aws')
      return {
        action: 'kept',
        result: await keepRelayedResult((await deps()).drExecutor(), event.data as never),
      };
    const d = await deps();
    const recorded = await gcpDrSignalsEvent(d.drSignals(), event);
    // The decider runs on what a signal event brought, as on AWS; any other event is not a signal.
    return SIGNAL_EVENTS.has(event.type) ? { ...recorded, decided: await decide(d.drDecide()) } : recorded;
  });
  return async (req: Request, res: Response) => {
    if (health('drSignals', req, res)) return;
    if (typeof (req.body as { message?: unknown } | null)?.message === 'object') return pushed(req, res);
    if (typeof (req.body as { step?: unknown } | null)?.step === 'string')
      return executorStep(deps, req, res);
    try {
      const d = (await deps()).drSignals();
      if (!d.plan) {
        logLine({ severity: 'INFO', function: 'drSignals', message: 'no DR plan deployed: nothing probed' });
        res.status(200).json({ observations: 0, reason: 'no DR plan deployed (CROSSLINK_DR_PLAN)' });
        return;
      }
      const run = await gcpScheduledRun(d);
      // Counted before the decision hook runs: the probe ran, whatever the hook then meets.
      logLine({
        severity: 'INFO',
        function: 'drSignals',
        message: RECORDED_MESSAGE,
        drService: d.plan.service,
        observations: run.observations,
      });
      res.status(200).json({ ...run, decided: await decide((await deps()).drDecide()) });
    } catch (e) {
      // A plan or setting the run refuses: a retry cannot fix it, a person must.
      if (!(e instanceof ValidationError)) throw e;
      logLine({ severity: 'ERROR', function: 'drSignals', message: `refused: ${e.message}` });
      res.status(400).json({ error: { name: e.name, message: e.message } });
    }
  };
}

/** The executor's decision hook, where Google executes the plan (../dr-decide.ts); none elsewhere. */
async function decide(hook: DecisionHookDeps | undefined): Promise<DecideOutcome | undefined> {
  if (!hook) return undefined;
  const outcome = await handOnDecisions(hook);
  if (outcome.decisions.length > 0)
    logLine({
      severity: 'INFO',
      function: 'drSignals',
      message: 'dr decisions handed on',
      drService: hook.plan.service,
      decisions: outcome.decisions.map((x) => ({ epoch: x.epoch, decision: x.decision, time: x.time })),
      started: outcome.started,
    });
  return outcome;
}

/** One step of the dr-failover workflow, logged (a step that raised a page at severity ALERT). */
async function executorStep(deps: Deps, req: Request, res: Response): Promise<void> {
  try {
    const next = await drExecutorStep((await deps()).drExecutor(), req.body);
    logLine({
      severity: next.pages.length > 0 ? 'ALERT' : 'INFO',
      function: 'drSignals',
      step: (req.body as { step: string }).step,
      next,
    });
    res.status(200).json(next);
  } catch (e) {
    answerStepError('drSignals', res, e);
  }
}
