/**
 * DR plans (`config/dr-plans/*.yaml`): a protected service, its primary and standby, the health
 * signals that count and where they are observed, the ordered data-plane actions, and the decider's
 * guardrails. `parseDrPlan` is the only way in: JSON Schema first, then the rules a schema cannot say.
 */
import { parseDocument } from 'yaml';
import planSchema from '../../../config/dr-plans/dr-plan.schema.json' with { type: 'json' };
import { parseDuration } from '../clock.ts';
import { type Issue, ValidationError } from '../errors.ts';
import { schemaIssues } from '../schema.ts';
import { independentObservers, isInside } from './observers.ts';

export type Cloud = 'aws' | 'gcp';
export type Side = 'primary' | 'standby';
export type Approval = 'required' | 'none';
/** What a run does when an action reports a failure (docs/dr-executor.md). */
export type OnFailure = 'stop-and-page' | 'fail-forward';

export interface Location {
  cloud: Cloud;
  region: string;
}

export interface VantagePoint {
  id: string;
  cloud: Cloud | 'external';
  region?: string;
  provider?: string;
  description?: string;
}

export interface SignalSpec {
  name: string;
  observes: Side | 'replication';
  source: string;
  detail?: string;
  vantagePoints: string[];
}

export interface Hook {
  function: string;
  timeout?: string;
}

export type Action =
  | { type: 'fence-writer'; cloud: Cloud; hook: Hook; description?: string }
  | { type: 'promote-replica'; cloud: Cloud; hook: Hook; description?: string }
  | { type: 'scale-standby'; cloud: Cloud; hook: Hook; capacity: number; description?: string }
  | {
      type: 'arc-routing-control';
      cloud: 'aws';
      states: { routingControlArn: string; state: 'On' | 'Off' }[];
      description?: string;
    }
  | {
      type: 'cloud-dns-failover-policy';
      cloud: 'gcp';
      managedZone: string;
      recordName: string;
      serve: 'primary' | 'backup';
      hook: Hook;
      description?: string;
    };

/** The plan as written in YAML. */
export interface DrPlanDocument {
  version: 1;
  service: string;
  description?: string;
  owner?: string;
  primary: Location;
  standby: Location;
  objectives: { rto: string; rpo: string };
  vantagePoints: VantagePoint[];
  signals: SignalSpec[];
  actions: { failover: Action[]; failback: Action[] };
  failback: { stablePeriod: string; approval: Approval };
  execution?: {
    onFailure?: OnFailure;
    actionTimeout?: string;
    approvalTimeout?: string;
  };
  decider?: {
    quorum?: number;
    hysteresis?: string;
    dampening?: string;
    staleAfter?: string;
    approval?: Approval;
  };
}

/** The decider's parameters with defaults applied and durations in milliseconds. */
export interface DeciderSettings {
  quorum: number;
  hysteresisMs: number;
  dampeningMs: number;
  staleAfterMs: number;
  failoverApproval: Approval;
  stablePeriodMs: number;
  failbackApproval: Approval;
  onFailure: OnFailure;
  actionTimeoutMs: number;
  approvalTimeoutMs: number;
}

/** A validated plan: the document plus what the decider derives from it. */
export interface DrPlan extends DrPlanDocument {
  settings: DeciderSettings;
}

export const DECIDER_DEFAULTS = {
  quorum: 2,
  hysteresis: '60s',
  dampening: '30m',
  staleAfter: '5m',
  approval: 'none',
} as const;

export const EXECUTION_DEFAULTS = {
  onFailure: 'stop-and-page',
  actionTimeout: '5m',
  approvalTimeout: '1h',
} as const;

// Which vantage points observe independently: in ./observers.ts, with no schema compiler or YAML
// parser, so that the decider's bundles carry neither.
export { independentObservers, isInside, observerOf } from './observers.ts';

/**
 * Control-plane record edits: Route 53 ChangeResourceRecordSets is served from us-east-1 and Cloud DNS
 * record-set changes are control-plane calls too; a failover must not depend on them.
 */
const CONTROL_PLANE_TYPES: Record<string, string> = {
  'route53-record': 'a Route 53 record edit (ChangeResourceRecordSets)',
  'route53-record-set': 'a Route 53 record edit (ChangeResourceRecordSets)',
  'route53-change-resource-record-sets': 'a Route 53 record edit (ChangeResourceRecordSets)',
  'change-resource-record-sets': 'a Route 53 record edit (ChangeResourceRecordSets)',
  'cloud-dns-record-set': 'a Cloud DNS record-set change (changes.create / resourceRecordSets.patch)',
  'dns-record': 'a DNS record edit',
};
const CONTROL_PLANE_TEXT =
  /ChangeResourceRecordSets|resourceRecordSets\.(patch|create|delete)|dns\.changes\.create/i;

function controlPlaneIssues(raw: unknown): { issues: Issue[]; paths: string[] } {
  const issues: Issue[] = [];
  const paths: string[] = [];
  const actions = (raw as { actions?: Record<string, unknown> } | null)?.actions;
  if (typeof actions !== 'object' || actions === null) return { issues, paths };
  for (const phase of ['failover', 'failback']) {
    const list = (actions as Record<string, unknown>)[phase];
    if (!Array.isArray(list)) continue;
    list.forEach((action: unknown, i) => {
      const path = `actions.${phase}[${i}]`;
      const type = (action as { type?: unknown } | null)?.type;
      const what =
        typeof type === 'string' && type in CONTROL_PLANE_TYPES
          ? CONTROL_PLANE_TYPES[type]
          : CONTROL_PLANE_TEXT.test(JSON.stringify(action ?? null))
            ? 'an action that calls ChangeResourceRecordSets or a Cloud DNS record-set change'
            : undefined;
      if (what === undefined) return;
      paths.push(path);
      issues.push({
        path: typeof type === 'string' && type in CONTROL_PLANE_TYPES ? `${path}.type` : path,
        reason: `${what} is a control-plane call that can fail with the region it is meant to escape; use a data-plane mechanism: arc-routing-control (Route 53 ARC) or cloud-dns-failover-policy (health-checked Cloud DNS failover policy)`,
      });
    });
  }
  return { issues, paths };
}

function durationIssue(path: string, text: string | undefined, min = 0): Issue | undefined {
  if (text === undefined) return undefined;
  try {
    const ms = parseDuration(text);
    return ms < min ? { path, reason: `must be at least ${min / 1000}s` } : undefined;
  } catch (e) {
    return { path, reason: (e as Error).message };
  }
}

const STEERING = new Set(['arc-routing-control', 'cloud-dns-failover-policy']);

type AddIssue = (path: string, reason: string) => void;

/** Vantage point ids unique, and each names a region or (external) a provider, not both. */
function vantagePointIssues(doc: DrPlanDocument, add: AddIssue): Map<string, number> {
  const ids = new Map<string, number>();
  doc.vantagePoints.forEach((vp, i) => {
    if (ids.has(vp.id))
      add(`vantagePoints[${i}].id`, `duplicates vantagePoints[${ids.get(vp.id)}].id "${vp.id}"`);
    else ids.set(vp.id, i);
    if (vp.cloud === 'external' && vp.region !== undefined)
      add(`vantagePoints[${i}].region`, 'an external checker names its provider, not a region');
    if (vp.cloud !== 'external' && vp.provider !== undefined)
      add(`vantagePoints[${i}].provider`, 'only external checkers name a provider');
  });
  return ids;
}

/** Signal names unique, their vantage points known, and both sides observed. */
function signalIssues(doc: DrPlanDocument, ids: ReadonlyMap<string, number>, add: AddIssue): void {
  const names = new Map<string, number>();
  doc.signals.forEach((s, i) => {
    if (names.has(s.name))
      add(`signals[${i}].name`, `duplicates signals[${names.get(s.name)}].name "${s.name}"`);
    else names.set(s.name, i);
    s.vantagePoints.forEach((id, j) => {
      if (!ids.has(id))
        add(
          `signals[${i}].vantagePoints[${j}]`,
          `names no vantage point (known: ${[...ids.keys()].join(', ')})`,
        );
    });
  });
  for (const side of ['primary', 'standby'] as const)
    if (!doc.signals.some((s) => s.observes === side))
      add('signals', `needs at least one signal that observes the ${side}`);
}

/**
 * Independence: at least three observers of the primary outside its region, one from each cloud
 * and one external, and a quorum that is a strict majority of them (two observers never suffice);
 * the standby observed by a quorum too.
 */
function independenceIssues(doc: DrPlanDocument, add: AddIssue): void {
  const primaryObservers = independentObservers(doc, 'primary');
  const kinds = new Set(primaryObservers.map((o) => o.split(':')[0]));
  const missingKinds = (['aws', 'gcp', 'external'] as const).filter((k) => !kinds.has(k));
  if (primaryObservers.length < 3 || missingKinds.length > 0) {
    const inside = doc.vantagePoints.filter((vp) => isInside(vp, doc.primary)).map((vp) => vp.id);
    add(
      'vantagePoints',
      `the primary needs at least 3 independent vantage points (AWS and Google outside ${doc.primary.cloud} ${doc.primary.region}, and an external checker) observing its signals; found ${primaryObservers.length}${missingKinds.length ? `, missing ${missingKinds.join(', ')}` : ''}${inside.length ? ` (${inside.join(', ')} in the primary's region do not count)` : ''}`,
    );
  }
  const quorum = doc.decider?.quorum ?? DECIDER_DEFAULTS.quorum;
  const n = primaryObservers.length;
  if (n >= 3 && (quorum > n || quorum * 2 <= n))
    add(
      'decider.quorum',
      `must be a strict majority of the ${n} independent vantage points of the primary (${Math.floor(n / 2) + 1}..${n})`,
    );
  const standbyObservers = independentObservers(doc, 'standby');
  if (standbyObservers.length < quorum)
    add(
      'signals',
      `the standby's signals are observed by ${standbyObservers.length} independent vantage points outside ${doc.standby.cloud} ${doc.standby.region}; "standby healthy" needs a quorum of ${quorum}`,
    );
}

/**
 * Actions: each phase ends with a data-plane traffic flip, after the fence, promote and scale steps;
 * a phase that promotes fences the old writer first.
 */
function actionIssues(doc: DrPlanDocument, add: AddIssue): void {
  switchOwnerIssues(doc, add);
  for (const phase of ['failover', 'failback'] as const) {
    const list = doc.actions[phase];
    const target = phase === 'failover' ? doc.standby : doc.primary;
    fenceIssues(doc, phase, add);
    const firstSteer = list.findIndex((a) => STEERING.has(a.type));
    if (firstSteer === -1)
      add(
        `actions.${phase}`,
        'needs a traffic flip: an arc-routing-control or cloud-dns-failover-policy action',
      );
    list.forEach((a, i) => {
      const path = `actions.${phase}[${i}]`;
      if (!STEERING.has(a.type) && firstSteer !== -1 && i > firstSteer)
        add(
          `${path}.type`,
          `${a.type} must come before the traffic flip (${list[firstSteer]?.type} at [${firstSteer}]): fence, promote and scale first, then move traffic`,
        );
      if ((a.type === 'promote-replica' || a.type === 'scale-standby') && a.cloud !== target.cloud)
        add(
          `${path}.cloud`,
          `${a.type} on ${phase} acts on the side taking traffic (${target.cloud}); each cloud acts only on its own half`,
        );
      if (a.type === 'arc-routing-control' && !a.states.some((s) => s.state === 'On'))
        add(`${path}.states`, 'turns every routing control Off: at least one side must stay serving');
      if (a.type === 'cloud-dns-failover-policy') {
        const want = phase === 'failover' ? 'backup' : 'primary';
        if (a.serve !== want) add(`${path}.serve`, `must be "${want}" on ${phase}`);
      }
    });
  }
}

/**
 * The fence: a phase that promotes a database first revokes writes to the old writer, on the side
 * giving up traffic (the primary's cloud on failover, the standby's on failback), or that writer
 * takes writes again when its region returns and the two databases are both writers.
 */
function fenceIssues(doc: DrPlanDocument, phase: 'failover' | 'failback', add: AddIssue): void {
  const list = doc.actions[phase];
  const giving = phase === 'failover' ? doc.primary : doc.standby;
  const firstFence = list.findIndex((a) => a.type === 'fence-writer');
  const promote = list.findIndex((a) => a.type === 'promote-replica');
  if (promote !== -1 && firstFence === -1)
    add(
      `actions.${phase}`,
      `promotes a database (promote-replica at [${promote}]) with no fence-writer before it: the old writer on ${giving.cloud} would take writes again when its region returns, and the two databases would both be writers`,
    );
  list.forEach((a, i) => {
    if (a.type !== 'fence-writer') return;
    const path = `actions.${phase}[${i}]`;
    if (a.cloud !== giving.cloud)
      add(
        `${path}.cloud`,
        `fence-writer on ${phase} acts on the side giving up traffic (${giving.cloud}), whose database was the writer; each cloud acts only on its own half`,
      );
    if (promote !== -1 && i > promote)
      add(
        `${path}.type`,
        `fence-writer must come before the promotion (promote-replica at [${promote}]): promoting first leaves two writers until the fence runs`,
      );
  });
}

/**
 * One executor per plan: the cloud that owns the traffic switch runs the plan. Every flip of both
 * phases must be on that one cloud, or two clouds would each own part of the switch.
 */
function switchOwnerIssues(doc: DrPlanDocument, add: AddIssue): void {
  let owner: { cloud: Cloud; path: string } | undefined;
  for (const phase of ['failover', 'failback'] as const)
    doc.actions[phase].forEach((a, i) => {
      if (!STEERING.has(a.type)) return;
      const path = `actions.${phase}[${i}]`;
      if (!owner) owner = { cloud: a.cloud, path };
      else if (a.cloud !== owner.cloud)
        add(
          `${path}.cloud`,
          `the traffic switch is on ${owner.cloud} (${owner.path}); one cloud owns the switch and executes the plan, so every flip must be on ${owner.cloud}`,
        );
    });
}

/** Rules the schema cannot express. Runs only on a document the schema accepted. */
function semanticIssues(doc: DrPlanDocument): Issue[] {
  const issues: Issue[] = [];
  const add: AddIssue = (path, reason) => issues.push({ path, reason });

  if (doc.primary.cloud === doc.standby.cloud)
    add(
      'standby.cloud',
      `must differ from the primary's cloud (${doc.primary.cloud}): the standby runs on the other cloud, outside the primary's failure domain`,
    );
  for (const [path, text, min] of [
    ['objectives.rto', doc.objectives.rto, 1],
    ['objectives.rpo', doc.objectives.rpo, 0],
    ['failback.stablePeriod', doc.failback.stablePeriod, 60_000],
    ['decider.hysteresis', doc.decider?.hysteresis, 0],
    ['decider.dampening', doc.decider?.dampening, 0],
    ['decider.staleAfter', doc.decider?.staleAfter, 1_000],
    ['execution.actionTimeout', doc.execution?.actionTimeout, 1_000],
    ['execution.approvalTimeout', doc.execution?.approvalTimeout, 1_000],
  ] as const) {
    const issue = durationIssue(path, text, min);
    if (issue) issues.push(issue);
  }
  const ids = vantagePointIssues(doc, add);
  signalIssues(doc, ids, add);
  independenceIssues(doc, add);
  actionIssues(doc, add);
  return issues;
}

/**
 * Validates a DR plan (already parsed from YAML) and applies the decider defaults.
 * Throws ValidationError naming every bad field with a reason.
 */
export function validateDrPlan(raw: unknown, subject = 'DR plan'): DrPlan {
  const refused = controlPlaneIssues(raw);
  const issues: Issue[] = [...refused.issues];
  // A refused action is already explained; the schema's complaints about it would only repeat that.
  const fromSchema = schemaIssues(planSchema, raw).filter(
    (i) => !refused.paths.some((p) => i.path === p || i.path.startsWith(`${p}.`)),
  );
  if (fromSchema.length > 0) throw new ValidationError([...issues, ...fromSchema], subject);
  const doc = raw as DrPlanDocument;
  issues.push(...semanticIssues(doc));
  if (issues.length > 0) throw new ValidationError(issues, subject);
  const d = doc.decider ?? {};
  const e = doc.execution ?? {};
  return {
    ...doc,
    settings: {
      quorum: d.quorum ?? DECIDER_DEFAULTS.quorum,
      hysteresisMs: parseDuration(d.hysteresis ?? DECIDER_DEFAULTS.hysteresis),
      dampeningMs: parseDuration(d.dampening ?? DECIDER_DEFAULTS.dampening),
      staleAfterMs: parseDuration(d.staleAfter ?? DECIDER_DEFAULTS.staleAfter),
      failoverApproval: d.approval ?? DECIDER_DEFAULTS.approval,
      stablePeriodMs: parseDuration(doc.failback.stablePeriod),
      failbackApproval: doc.failback.approval,
      onFailure: e.onFailure ?? EXECUTION_DEFAULTS.onFailure,
      actionTimeoutMs: parseDuration(e.actionTimeout ?? EXECUTION_DEFAULTS.actionTimeout),
      approvalTimeoutMs: parseDuration(e.approvalTimeout ?? EXECUTION_DEFAULTS.approvalTimeout),
    },
  };
}

/** Parses a DR plan from YAML text; YAML syntax errors become issues naming their line and column. */
export function parseDrPlan(text: string, subject = 'DR plan'): DrPlan {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0)
    throw new ValidationError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const message =
          e.message.split('\n')[0]?.replace(/ at line \d+, column \d+.*$/, '') ?? 'syntax error';
        return { path: pos ? `line ${pos.line}:${pos.col}` : '', reason: `not valid YAML: ${message}` };
      }),
      subject,
    );
  return validateDrPlan(doc.toJS({ maxAliasCount: 50 }), subject);
}

/**
 * Where an external checker's results are read, when the provider fixes it: Route 53 publishes its
 * health checks' `HealthCheckStatus` to CloudWatch in us-east-1 only.
 */
const EXTERNAL_READ_REGION: Partial<Record<string, Location>> = {
  'route53-health-checks': { cloud: 'aws', region: 'us-east-1' },
};

/**
 * What a valid plan should still change: an external checker that depends on the primary's region
 * (its results are read there, or it names that region) goes blind in the very outage it is there
 * to see, so the quorum for a failover rests on the other observers alone.
 */
export function planWarnings(plan: DrPlanDocument): Issue[] {
  const warnings: Issue[] = [];
  const p = plan.primary;
  plan.vantagePoints.forEach((vp, i) => {
    if (vp.cloud !== 'external') return;
    const home = vp.provider ? EXTERNAL_READ_REGION[vp.provider] : undefined;
    if (home && home.cloud === p.cloud && home.region === p.region)
      warnings.push({
        path: `vantagePoints[${i}]`,
        reason: `external checker ${vp.id} (${vp.provider}) is read from ${home.cloud} ${home.region}, the primary's region: its status is published only there, so an outage of ${p.region} can leave it without data and the failover quorum rests on the other observers`,
      });
    else if (vp.region === p.region)
      warnings.push({
        path: `vantagePoints[${i}].region`,
        reason: `external checker ${vp.id} runs in ${vp.region}, the primary's region: it can fail with the region it watches`,
      });
  });
  return warnings;
}
