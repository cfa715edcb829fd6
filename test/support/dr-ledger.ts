/**
 * The ledger plan (config/dr-plans/example-ledger.yaml): primary on Google europe-west1, standby on
 * AWS eu-west-1, traffic switched by a Cloud DNS failover policy, so Google executes it; its
 * failover fences Cloud SQL (Google's own hook), promotes and scales on AWS (commanded across the
 * relay), then drains the primary targets on Google. And the decider's move for it, as the executor is started with.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Decision } from '#core/dr/failover-state.ts';
import type { Observation } from '#core/dr/observations.ts';
import { type DrPlan, type DrPlanDocument, validateDrPlan } from '#core/dr/plan.ts';

export const LEDGER_PLAN = join(import.meta.dirname, '..', '..', 'config', 'dr-plans', 'example-ledger.yaml');

export function ledgerDoc(): DrPlanDocument {
  return parse(readFileSync(LEDGER_PLAN, 'utf8')) as DrPlanDocument;
}

export function ledgerPlan(edit: (doc: DrPlanDocument) => void = () => {}): DrPlan {
  const doc = ledgerDoc();
  edit(doc);
  return validateDrPlan(doc);
}

/** The ledger plan's probes pointed at a service world's health endpoints (`base`). */
export function ledgerProbesAt(doc: DrPlanDocument, base: string): DrPlanDocument {
  for (const s of doc.signals) {
    if (s.name === 'ledger-api')
      s.detail = `GET ${base}/services/ledger/gcp/europe-west1/healthz, 3 failures in a row`;
    if (s.name === 'standby-ready') s.detail = `GET ${base}/services/ledger/aws/eu-west-1/readyz`;
  }
  return doc;
}

/** A failover (or failback) the decider emitted at `time` under `epoch`, approved unless `approval` says. */
export function moveOf(
  plan: DrPlan,
  epoch: number,
  time: string,
  o: { decision?: 'failover' | 'failback'; approval?: Decision['approval'] } = {},
): Decision {
  const decision = o.decision ?? 'failover';
  const approval = o.approval ?? 'approved';
  return {
    time,
    service: plan.service,
    epoch,
    trigger: 'signal',
    decision,
    approval,
    ...(approval === 'approved' && { by: 'carol@example.com' }),
    active: decision === 'failover' ? 'standby' : 'primary',
    reasons: [{ code: 'quorum', message: 'the primary is down by quorum' }],
    ...(approval !== 'pending' && { actions: plan.actions[decision] }),
  };
}

/** One minute's observations of the ledger plan's every vantage point: the primary as `primary` says, the standby healthy. */
export function ledgerMinute(at: number, primary: 'healthy' | 'unhealthy'): Observation[] {
  const time = new Date(at).toISOString();
  const o = (vantage: string, signal: string, status: Observation['status']): Observation => ({
    time,
    service: 'ledger',
    vantage,
    signal,
    status,
  });
  return [
    o('gcp-europe-west4', 'ledger-api', primary),
    o('aws-eu-central-1', 'ledger-api', primary),
    o('uptime-checks', 'ledger-uptime', primary),
    o('gcp-europe-west4', 'standby-ready', 'healthy'),
    o('aws-eu-central-1', 'standby-ready', 'healthy'),
    o('uptime-checks', 'standby-ready', 'healthy'),
  ];
}
