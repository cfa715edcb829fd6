/**
 * Route 53 ARC (Application Recovery Controller) routing control, as the local cloud holds it: clusters
 * with their five regional endpoints, control panels, routing controls with their On / Off state,
 * and safety rules (assertion and gating) checked on every state update. The control-configuration
 * side is made by CloudFormation (`AWS::Route53RecoveryControl::*`, local/aws/wiring/route53.ts) and
 * the admin API; the data plane (get, list, update states) is the `route53-recovery-cluster` module,
 * served only at a cluster's endpoints (local/aws/route53/arc-endpoints.ts).
 *
 * ARC's control configuration is global: ARNs have no region, and one model per local cloud is
 * found from its clock (`arcOf`). Rules follow the ARC Developer Guide, "Safety rules":
 *
 * - a rule's `RuleConfig` counts the controls it names that are On: `ATLEAST` holds when at least
 *   `Threshold` are, `AND` when all are, `OR` when one is; `Inverted` negates the result;
 * - an assertion rule holds on the states an update would leave its asserted controls in (so one
 *   `UpdateRoutingControlStates` can turn one cell Off and another On);
 * - a gating rule lets its target controls change only while it holds on its gating controls;
 * - `WaitPeriodMs`: after a change to one of a rule's controls, further updates to them fail until
 *   that time has passed on the virtual clock (inferred from "an evaluation period during which any
 *   request against the target routing controls will fail");
 * - a rule named in `SafetyRulesToOverride` is not checked (IAM decides who may: the condition key
 *   `route53-recovery-cluster:AllowSafetyRulesOverrides`).
 */
import type { Clock } from '#core/clock.ts';
import type { Random } from '#local/random.ts';
import { perClock } from '#local/world/per-clock.ts';
import { AdminRefusal } from '../common/admin-error.ts';

export type ControlState = 'On' | 'Off';
export type RuleType = 'ATLEAST' | 'AND' | 'OR';

/** The five regions of a cluster's endpoints (ARC creates one cluster endpoint in each). */
export const CLUSTER_ENDPOINT_REGIONS = [
  'us-east-1',
  'us-west-2',
  'eu-west-1',
  'ap-southeast-2',
  'ap-northeast-1',
] as const;

export interface ClusterEndpoint {
  region: string;
  /** `http://127.0.0.1:<port>/v1` once its listener is open. */
  url: string;
  /** A fault: the endpoint answers EndpointTemporarilyUnavailableException. */
  unavailable: boolean;
}

export interface Cluster {
  arn: string;
  accountId: string;
  name: string;
  status: 'DEPLOYED';
  endpoints: ClusterEndpoint[];
}

export interface ControlPanel {
  arn: string;
  accountId: string;
  clusterArn: string;
  name: string;
  status: 'DEPLOYED';
}

export interface RoutingControl {
  arn: string;
  accountId: string;
  controlPanelArn: string;
  name: string;
  state: ControlState;
}

export interface RuleConfig {
  type: RuleType;
  threshold: number;
  inverted: boolean;
}

export interface SafetyRule {
  arn: string;
  accountId: string;
  controlPanelArn: string;
  name: string;
  kind: 'assertion' | 'gating';
  /** Assertion: the asserted controls. Gating: the gating controls. */
  controls: string[];
  /** Gating: the controls whose updates the rule gates. */
  targets: string[];
  config: RuleConfig;
  waitPeriodMs: number;
  /** Virtual time before which updates to the rule's controls fail (its wait period). */
  waitUntil: number;
}

/** Why an update was refused, in the data plane's vocabulary (the module maps it to its errors). */
export class ArcRefusal extends Error {
  readonly kind: 'validation' | 'not-found' | 'conflict';
  readonly resourceId: string | undefined;
  readonly resourceType: string | undefined;
  readonly field: string | undefined;
  constructor(
    kind: ArcRefusal['kind'],
    message: string,
    extra: { resourceId?: string; resourceType?: string; field?: string } = {},
  ) {
    super(message);
    this.kind = kind;
    this.resourceId = extra.resourceId;
    this.resourceType = extra.resourceType;
    this.field = extra.field;
  }
}

/** A configuration refused (admin API, template): the field and the reason. */
export class ArcConfigError extends AdminRefusal {
  constructor(message: string, status = 400) {
    super(message, status, status === 404 ? 'NotFound' : status === 409 ? 'Conflict' : 'BadRequest');
  }
}

const NAME = /^\S{1,64}$/;
const PANEL_ARN = /^arn:aws:route53-recovery-control::(\d{12}):controlpanel\/([0-9a-f]{32})$/;

/** Whether a rule's configuration holds over these states. */
export function ruleHolds(config: RuleConfig, states: readonly ControlState[]): boolean {
  const on = states.filter((s) => s === 'On').length;
  const held =
    config.type === 'AND' ? on === states.length : config.type === 'OR' ? on >= 1 : on >= config.threshold;
  return config.inverted ? !held : held;
}

export class ArcModel {
  readonly clusters = new Map<string, Cluster>();
  readonly panels = new Map<string, ControlPanel>();
  readonly controls = new Map<string, RoutingControl>();
  readonly rules = new Map<string, SafetyRule>();
  readonly #clock: Clock;
  readonly #listeners = new Set<(control: RoutingControl) => void>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Called with each control whose state an update changed; returns the unsubscribe function. */
  onStateChange(listener: (control: RoutingControl) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  createCluster(accountId: string, name: string, random: Random): Cluster {
    if (!NAME.test(name)) throw new ArcConfigError(`Name: "${name}" must be 1 to 64 non-blank characters`);
    const arn = `arn:aws:route53-recovery-control::${accountId}:cluster/${random.uuid()}`;
    const cluster: Cluster = {
      arn,
      accountId,
      name,
      status: 'DEPLOYED',
      endpoints: CLUSTER_ENDPOINT_REGIONS.map((region) => ({ region, url: '', unavailable: false })),
    };
    this.clusters.set(arn, cluster);
    return cluster;
  }

  createControlPanel(accountId: string, clusterArn: string, name: string, random: Random): ControlPanel {
    const cluster = this.clusters.get(clusterArn);
    if (!cluster || cluster.accountId !== accountId)
      throw new ArcConfigError(`ClusterArn: no cluster ${clusterArn} in account ${accountId}`, 404);
    if (!NAME.test(name)) throw new ArcConfigError(`Name: "${name}" must be 1 to 64 non-blank characters`);
    if ([...this.panels.values()].some((p) => p.clusterArn === clusterArn && p.name === name))
      throw new ArcConfigError(`Name: the cluster already has a control panel named ${name}`, 409);
    const arn = `arn:aws:route53-recovery-control::${accountId}:controlpanel/${random.chars(32, '0123456789abcdef')}`;
    const panel: ControlPanel = { arn, accountId, clusterArn, name, status: 'DEPLOYED' };
    this.panels.set(arn, panel);
    return panel;
  }

  createRoutingControl(
    accountId: string,
    controlPanelArn: string,
    name: string,
    random: Random,
    clusterArn?: string,
  ): RoutingControl {
    const panel = this.#panel(accountId, controlPanelArn, 'ControlPanelArn');
    if (clusterArn !== undefined && panel.clusterArn !== clusterArn)
      throw new ArcConfigError(
        `ClusterArn: control panel ${controlPanelArn} is not in cluster ${clusterArn}`,
      );
    if (!NAME.test(name)) throw new ArcConfigError(`Name: "${name}" must be 1 to 64 non-blank characters`);
    if ([...this.controls.values()].some((c) => c.controlPanelArn === controlPanelArn && c.name === name))
      throw new ArcConfigError(`Name: the control panel already has a routing control named ${name}`, 409);
    const arn = `${controlPanelArn}/routingcontrol/${random.chars(16, '0123456789abcdef')}`;
    // A new routing control is Off (ARC Developer Guide, "Creating routing controls").
    const control: RoutingControl = { arn, accountId, controlPanelArn, name, state: 'Off' };
    this.controls.set(arn, control);
    return control;
  }

  createSafetyRule(
    accountId: string,
    spec: {
      controlPanelArn: string;
      name: string;
      kind: 'assertion' | 'gating';
      controls: string[];
      targets?: string[];
      config: { type: string; threshold?: number; inverted?: boolean };
      waitPeriodMs: number;
    },
    random: Random,
  ): SafetyRule {
    const panel = this.#panel(accountId, spec.controlPanelArn, 'ControlPanelArn');
    if (!NAME.test(spec.name))
      throw new ArcConfigError(`Name: "${spec.name}" must be 1 to 64 non-blank characters`);
    if ([...this.rules.values()].some((r) => r.controlPanelArn === panel.arn && r.name === spec.name))
      throw new ArcConfigError(`Name: the control panel already has a safety rule named ${spec.name}`, 409);
    const field = spec.kind === 'assertion' ? 'AssertionRule.AssertedControls' : 'GatingRule.GatingControls';
    const checkControls = (arns: string[], at: string) => {
      if (!Array.isArray(arns) || arns.length === 0)
        throw new ArcConfigError(`${at}: at least one routing control is required`);
      for (const a of arns) {
        const c = this.controls.get(a);
        if (!c || c.accountId !== accountId) throw new ArcConfigError(`${at}: no routing control ${a}`, 404);
        if (c.controlPanelArn !== panel.arn)
          throw new ArcConfigError(`${at}: routing control ${a} is not in control panel ${panel.arn}`);
      }
    };
    checkControls(spec.controls, field);
    const targets = spec.kind === 'gating' ? (spec.targets ?? []) : [];
    if (spec.kind === 'gating') checkControls(targets, 'GatingRule.TargetControls');
    const type = spec.config.type;
    if (type !== 'ATLEAST' && type !== 'AND' && type !== 'OR')
      throw new ArcConfigError(`RuleConfig.Type: "${type}" must be ATLEAST, AND or OR`);
    const threshold = spec.config.threshold;
    if (!Number.isInteger(threshold))
      throw new ArcConfigError('RuleConfig.Threshold: an integer is required');
    if (type === 'ATLEAST' && ((threshold as number) < 1 || (threshold as number) > spec.controls.length))
      throw new ArcConfigError(
        `RuleConfig.Threshold: ${threshold} must be between 1 and the ${spec.controls.length} controls the rule names`,
      );
    if (!Number.isInteger(spec.waitPeriodMs) || spec.waitPeriodMs < 0)
      throw new ArcConfigError(
        `WaitPeriodMs: ${spec.waitPeriodMs} must be a whole number of milliseconds >= 0`,
      );
    const arn = `${panel.arn}/safetyrule/${random.chars(16, '0123456789abcdef')}`;
    const rule: SafetyRule = {
      arn,
      accountId,
      controlPanelArn: panel.arn,
      name: spec.name,
      kind: spec.kind,
      controls: [...spec.controls],
      targets: [...targets],
      config: { type, threshold: threshold as number, inverted: spec.config.inverted === true },
      waitPeriodMs: spec.waitPeriodMs,
      waitUntil: 0,
    };
    this.rules.set(arn, rule);
    return rule;
  }

  /** Deletes a resource by ARN (a template's deletion); a panel or cluster still holding others is refused. */
  delete(arn: string): void {
    if (this.rules.delete(arn)) return;
    if (this.controls.has(arn)) {
      const inRule = [...this.rules.values()].find(
        (r) => r.controls.includes(arn) || r.targets.includes(arn),
      );
      if (inRule)
        throw new ArcConfigError(`routing control ${arn} is named by safety rule ${inRule.arn}`, 409);
      this.controls.delete(arn);
      return;
    }
    if (this.panels.has(arn)) {
      if ([...this.controls.values()].some((c) => c.controlPanelArn === arn))
        throw new ArcConfigError(`control panel ${arn} still has routing controls`, 409);
      this.panels.delete(arn);
      return;
    }
    if (this.clusters.has(arn)) {
      if ([...this.panels.values()].some((p) => p.clusterArn === arn))
        throw new ArcConfigError(`cluster ${arn} still has control panels`, 409);
      this.clusters.delete(arn);
    }
  }

  /** The routing control `arn` as seen through `cluster` by `accountId`; ResourceNotFound otherwise. */
  control(accountId: string, cluster: Cluster, arn: string): RoutingControl {
    const c = this.controls.get(arn);
    const panel = c && this.panels.get(c.controlPanelArn);
    if (!c || c.accountId !== accountId || panel?.clusterArn !== cluster.arn)
      throw new ArcRefusal('not-found', `Routing control ${arn} was not found.`, {
        resourceId: arn,
        resourceType: 'RoutingControl',
      });
    return c;
  }

  /** The controls of `cluster` visible to `accountId`, in one panel when `panelArn` is given. */
  list(accountId: string, cluster: Cluster, panelArn?: string): RoutingControl[] {
    if (panelArn !== undefined) {
      const p = this.panels.get(panelArn);
      if (!p || p.accountId !== accountId || p.clusterArn !== cluster.arn)
        throw new ArcRefusal('not-found', `Control panel ${panelArn} was not found.`, {
          resourceId: panelArn,
          resourceType: 'ControlPanel',
        });
    }
    return [...this.controls.values()]
      .filter(
        (c) =>
          c.accountId === accountId &&
          this.panels.get(c.controlPanelArn)?.clusterArn === cluster.arn &&
          (panelArn === undefined || c.controlPanelArn === panelArn),
      )
      .sort((a, b) => a.arn.localeCompare(b.arn));
  }

  /**
   * Applies a set of state changes as one transaction, or refuses it whole: every control must
   * exist in the cluster, every rule named in `overrides` must exist in a panel of the cluster, and
   * every safety rule not overridden must hold (and be past its wait period).
   */
  update(
    accountId: string,
    cluster: Cluster,
    entries: readonly { arn: string; state: ControlState }[],
    overrides: readonly string[],
  ): void {
    const now = this.#clock.now();
    const touched = new Map<string, ControlState>();
    for (const e of entries) {
      const c = this.control(accountId, cluster, e.arn);
      if (touched.has(c.arn))
        throw new ArcRefusal('validation', `Routing control ${c.arn} appears more than once in the update.`, {
          field: 'UpdateRoutingControlStateEntries',
        });
      touched.set(c.arn, e.state);
    }
    for (const arn of overrides) {
      const r = this.rules.get(arn);
      if (!r || r.accountId !== accountId || this.panels.get(r.controlPanelArn)?.clusterArn !== cluster.arn)
        throw new ArcRefusal(
          'validation',
          `SafetyRulesToOverride: ${arn} is not a safety rule of this cluster.`,
          {
            field: 'SafetyRulesToOverride',
          },
        );
    }
    const after = (arn: string): ControlState =>
      touched.get(arn) ?? (this.controls.get(arn) as RoutingControl).state;
    const changed = [...touched.entries()].filter(([arn, s]) => this.controls.get(arn)?.state !== s);
    for (const rule of this.rules.values()) {
      if (overrides.includes(rule.arn)) continue;
      const guarded = rule.kind === 'assertion' ? rule.controls : rule.targets;
      if (!guarded.some((a) => touched.has(a))) continue;
      if (now < rule.waitUntil)
        throw conflict(
          rule,
          `the wait period of safety rule ${rule.arn} (${rule.waitPeriodMs} ms) has not ended since its last change`,
        );
      const holds = ruleHolds(rule.config, rule.controls.map(after));
      if (!holds)
        throw conflict(
          rule,
          rule.kind === 'assertion'
            ? `the update would leave the asserted controls of safety rule ${rule.arn} (${rule.name}) failing ${describe(rule.config)}`
            : `the gating controls of safety rule ${rule.arn} (${rule.name}) do not satisfy ${describe(rule.config)}`,
        );
    }
    for (const [arn, state] of changed) (this.controls.get(arn) as RoutingControl).state = state;
    if (changed.length === 0) return;
    for (const rule of this.rules.values()) {
      if (
        rule.waitPeriodMs > 0 &&
        changed.some(([a]) => rule.controls.includes(a) || rule.targets.includes(a))
      )
        rule.waitUntil = now + rule.waitPeriodMs;
    }
    for (const [arn] of changed) for (const l of this.#listeners) l(this.controls.get(arn) as RoutingControl);
  }

  #panel(accountId: string, arn: string, field: string): ControlPanel {
    if (!PANEL_ARN.test(arn)) throw new ArcConfigError(`${field}: "${arn}" is not a control panel ARN`);
    const p = this.panels.get(arn);
    if (!p || p.accountId !== accountId)
      throw new ArcConfigError(`${field}: no control panel ${arn} in account ${accountId}`, 404);
    return p;
  }
}

function describe(c: RuleConfig): string {
  const base =
    c.type === 'ATLEAST' ? `ATLEAST ${c.threshold} On` : c.type === 'AND' ? 'AND (all On)' : 'OR (one On)';
  return c.inverted ? `NOT ${base}` : base;
}

function conflict(rule: SafetyRule, why: string): ArcRefusal {
  return new ArcRefusal('conflict', `Cannot update the routing control states: ${why}.`, {
    resourceId: rule.arn,
    resourceType: 'SafetyRule',
  });
}

/** The ARC model of the local cloud that owns `clock` (created on first use). */
export const arcOf: (clock: Clock) => ArcModel = perClock((clock: Clock) => new ArcModel(clock));
