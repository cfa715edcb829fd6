/**
 * Route 53 ARC's data plane (`@aws-sdk/client-route53-recovery-cluster`): AWS JSON 1.0,
 * `X-Amz-Target: ToggleCustomerAPI.<Op>`, signing name `route53-recovery-cluster`, served only at a
 * cluster's regional endpoints (local/aws/route53/arc-endpoints.ts), each signed for its own region.
 * The model, its safety rules and their semantics: local/aws/route53/arc.ts. Admin actions create
 * clusters, control panels, routing controls and safety rules (as the templates' resources do) and
 * mark one endpoint unavailable.
 *
 * Errors (shapes of the service model): ValidationException 400 (`reason`, `fields`),
 * ResourceNotFoundException 404 and ConflictException 409 (`resourceId`, `resourceType`: a safety
 * rule refusing an update names itself there, and its ARN is in the message, as the ARC guide says
 * of a blocked update), EndpointTemporarilyUnavailableException 503, AccessDeniedException 403
 * (IAM, local/aws/iam), ThrottlingException 429 / InternalServerException 500 (faults).
 */
import { adminError } from '../common/admin-error.ts';
import { AwsError, authError } from '../errors.ts';
import {
  ArcConfigError,
  ArcRefusal,
  arcOf,
  type Cluster,
  type ControlState,
  type RoutingControl,
} from '../route53/arc.ts';
import { endpointOf, openClusterEndpoints } from '../route53/arc-endpoints.ts';
import { defineService, type RequestContext, type World } from '../service.ts';

const ARN = /^[A-Za-z0-9:./_-]{1,256}$/;

function validation(message: string, field: string): AwsError {
  return new AwsError('ValidationException', message, {
    status: 400,
    fields: { reason: 'fieldValidationFailed', fields: [{ name: field, message }] },
  });
}

function fromRefusal(err: unknown): unknown {
  if (!(err instanceof ArcRefusal)) return err;
  if (err.kind === 'validation') return validation(err.message, err.field ?? '');
  return new AwsError(
    err.kind === 'not-found' ? 'ResourceNotFoundException' : 'ConflictException',
    err.message,
    {
      status: err.kind === 'not-found' ? 404 : 409,
      fields: { resourceId: err.resourceId, resourceType: err.resourceType },
    },
  );
}

/** The cluster whose endpoint answered, checked as ARC's endpoints check a call. */
function clusterOf(ctx: RequestContext<unknown>): Cluster {
  const at = endpointOf(ctx.via);
  if (!at)
    throw new AwsError(
      'UnknownOperationException',
      "Route 53 ARC's data plane answers only at a cluster's regional endpoints (the cluster's ClusterEndpoints).",
      { status: 404 },
    );
  const cluster = arcOf(ctx.clock).clusters.get(at.clusterArn);
  const endpoint = cluster?.endpoints.find((e) => e.region === at.region);
  if (!cluster || !endpoint)
    throw new AwsError(
      'EndpointTemporarilyUnavailableException',
      'The cluster endpoint is no longer in service.',
      {
        status: 503,
      },
    );
  if (ctx.region !== at.region)
    throw authError(
      'json1.0',
      'bad-signature',
      `Credential should be scoped to a valid region. The endpoint of region ${at.region} was signed for '${ctx.region}'.`,
    );
  if (endpoint.unavailable)
    throw new AwsError(
      'EndpointTemporarilyUnavailableException',
      "The cluster endpoint isn't available. Try another cluster endpoint.",
      { status: 503 },
    );
  return cluster;
}

function arnArg(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '')
    throw validation(`Value null at '${field}' failed to satisfy constraint: Member must not be null`, field);
  if (!ARN.test(v))
    throw validation(
      `Value '${v}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[A-Za-z0-9:.\\/_-]*$ and have length between 1 and 256`,
      field,
    );
  return v;
}

function stateArg(v: unknown, field: string): ControlState {
  if (v !== 'On' && v !== 'Off')
    throw validation(
      `Value '${String(v)}' at '${field}' failed to satisfy constraint: Member must satisfy enum value set: [On, Off]`,
      field,
    );
  return v;
}

function overridesArg(v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v))
    throw validation('SafetyRulesToOverride must be a list of safety rule ARNs', 'SafetyRulesToOverride');
  return v.map((a, i) => arnArg(a, `SafetyRulesToOverride.${i + 1}`));
}

function view(world: World, c: RoutingControl) {
  const panel = arcOf(world.clock).panels.get(c.controlPanelArn);
  return {
    ControlPanelArn: c.controlPanelArn,
    ControlPanelName: panel?.name,
    RoutingControlArn: c.arn,
    RoutingControlName: c.name,
    RoutingControlState: c.state,
    Owner: c.accountId,
  };
}

function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromRefusal(err);
  }
}

const str = (v: unknown, name: string): string => {
  if (typeof v !== 'string' || v === '') throw adminError(400, 'BadRequest', `${name} is required`);
  return v;
};

/** What an admin create action takes: the account, the parent's ARN (`parentField`) and a name. */
function createArgs(body: Record<string, unknown>, parentField?: string) {
  return {
    accountId: str(body.accountId, 'accountId'),
    parent: parentField ? str(body[parentField], parentField) : '',
    name: str(body.name, 'name'),
  };
}

export default defineService<Record<string, never>>({
  name: 'route53-recovery-cluster',
  signingName: 'route53-recovery-cluster',
  protocol: 'json1.0',
  targetPrefix: 'ToggleCustomerAPI',
  errors: {
    throttling: { code: 'ThrottlingException', status: 429 },
    server: { code: 'InternalServerException', status: 500 },
  },
  createState: () => ({}),
  operations: {
    GetRoutingControlState(input: { RoutingControlArn?: unknown }, ctx) {
      const cluster = clusterOf(ctx);
      const arn = arnArg(input.RoutingControlArn, 'RoutingControlArn');
      const c = guarded(() => arcOf(ctx.clock).control(ctx.accountId, cluster, arn));
      return { RoutingControlArn: c.arn, RoutingControlState: c.state, RoutingControlName: c.name };
    },
    ListRoutingControls(
      input: { ControlPanelArn?: unknown; NextToken?: unknown; MaxResults?: unknown },
      ctx,
    ) {
      const cluster = clusterOf(ctx);
      const panel =
        input.ControlPanelArn === undefined ? undefined : arnArg(input.ControlPanelArn, 'ControlPanelArn');
      const max = input.MaxResults ?? 500;
      if (!Number.isInteger(max) || (max as number) < 1 || (max as number) > 1000)
        throw validation(
          `Value '${String(max)}' at 'MaxResults' failed to satisfy constraint: Member must have value between 1 and 1000`,
          'MaxResults',
        );
      const all = guarded(() => arcOf(ctx.clock).list(ctx.accountId, cluster, panel));
      let from = 0;
      if (input.NextToken !== undefined) {
        const t = typeof input.NextToken === 'string' ? /^rc-(\d+)-(.*)$/.exec(input.NextToken) : null;
        if (!t || t[2] !== (panel ?? ''))
          throw validation('The NextToken is not valid for this request.', 'NextToken');
        from = Number(t[1]);
      }
      const page = all.slice(from, from + (max as number));
      const next = from + page.length < all.length ? `rc-${from + page.length}-${panel ?? ''}` : undefined;
      return { RoutingControls: page.map((c) => view(ctx.world, c)), ...(next && { NextToken: next }) };
    },
    UpdateRoutingControlState(
      input: { RoutingControlArn?: unknown; RoutingControlState?: unknown; SafetyRulesToOverride?: unknown },
      ctx,
    ) {
      const cluster = clusterOf(ctx);
      const arn = arnArg(input.RoutingControlArn, 'RoutingControlArn');
      const state = stateArg(input.RoutingControlState, 'RoutingControlState');
      const overrides = overridesArg(input.SafetyRulesToOverride);
      guarded(() => arcOf(ctx.clock).update(ctx.accountId, cluster, [{ arn, state }], overrides));
      return {};
    },
    UpdateRoutingControlStates(
      input: { UpdateRoutingControlStateEntries?: unknown; SafetyRulesToOverride?: unknown },
      ctx,
    ) {
      const cluster = clusterOf(ctx);
      const entries = input.UpdateRoutingControlStateEntries;
      if (!Array.isArray(entries) || entries.length === 0)
        throw validation(
          "Value null at 'UpdateRoutingControlStateEntries' failed to satisfy constraint: Member must not be null",
          'UpdateRoutingControlStateEntries',
        );
      const parsed = entries.map((e: { RoutingControlArn?: unknown; RoutingControlState?: unknown }, i) => ({
        arn: arnArg(
          e?.RoutingControlArn,
          `UpdateRoutingControlStateEntries.${i + 1}.member.RoutingControlArn`,
        ),
        state: stateArg(
          e?.RoutingControlState,
          `UpdateRoutingControlStateEntries.${i + 1}.member.RoutingControlState`,
        ),
      }));
      const overrides = overridesArg(input.SafetyRulesToOverride);
      guarded(() => arcOf(ctx.clock).update(ctx.accountId, cluster, parsed, overrides));
      return {};
    },
  },
  admin: {
    async 'create-cluster'(body: Record<string, unknown>, world) {
      const { accountId, name } = createArgs(body);
      const cluster = arcOf(world.clock).createCluster(accountId, name, world.random);
      await openClusterEndpoints(world, cluster);
      return describeCluster(cluster);
    },
    'create-control-panel'(body: Record<string, unknown>, world) {
      const { accountId, parent, name } = createArgs(body, 'clusterArn');
      const p = arcOf(world.clock).createControlPanel(accountId, parent, name, world.random);
      return { ControlPanelArn: p.arn, ClusterArn: p.clusterArn, Name: p.name, Status: p.status };
    },
    'create-routing-control'(body: Record<string, unknown>, world) {
      const { accountId, parent, name } = createArgs(body, 'controlPanelArn');
      const c = arcOf(world.clock).createRoutingControl(accountId, parent, name, world.random);
      return {
        RoutingControlArn: c.arn,
        ControlPanelArn: c.controlPanelArn,
        Name: c.name,
        Status: 'DEPLOYED',
      };
    },
    /** `{accountId, ControlPanelArn, Name, RuleConfig, AssertionRule | GatingRule}`, as the template resource. */
    'create-safety-rule'(body: Record<string, unknown>, world) {
      const rule = createSafetyRuleFrom(world, str(body.accountId, 'accountId'), body);
      return { SafetyRuleArn: rule.arn, Name: rule.name, Status: 'DEPLOYED' };
    },
    /** `{clusterArn, region, available}`: one endpoint answers EndpointTemporarilyUnavailableException, or again normally. */
    'set-endpoint'(body: { clusterArn?: string; region?: string; available?: boolean }, world) {
      const cluster = arcOf(world.clock).clusters.get(str(body.clusterArn, 'clusterArn'));
      if (!cluster) throw adminError(404, 'NotFound', `no cluster ${body.clusterArn}`);
      const ep = cluster.endpoints.find((e) => e.region === body.region);
      if (!ep)
        throw adminError(
          400,
          'BadRequest',
          `region: ${String(body.region)} is not one of the cluster's endpoint regions (${cluster.endpoints.map((e) => e.region).join(', ')})`,
        );
      if (typeof body.available !== 'boolean')
        throw adminError(400, 'BadRequest', 'available must be true or false');
      ep.unavailable = !body.available;
      return describeCluster(cluster);
    },
    clusters(_body: unknown, world) {
      return { clusters: [...arcOf(world.clock).clusters.values()].map(describeCluster) };
    },
  },
});

/** A cluster as DescribeCluster shows it. */
export function describeCluster(c: Cluster) {
  return {
    ClusterArn: c.arn,
    Name: c.name,
    Status: c.status,
    Owner: c.accountId,
    ClusterEndpoints: c.endpoints.map((e) => ({
      Endpoint: e.url,
      Region: e.region,
      Available: !e.unavailable,
    })),
  };
}

/**
 * A safety rule from its CloudFormation / CreateSafetyRule form: `ControlPanelArn`, `Name`,
 * `RuleConfig {Type, Threshold, Inverted}` and one of `AssertionRule {AssertedControls,
 * WaitPeriodMs}` or `GatingRule {GatingControls, TargetControls, WaitPeriodMs}`.
 */
export function createSafetyRuleFrom(world: World, accountId: string, p: Record<string, unknown>) {
  const assertion = p.AssertionRule as { AssertedControls?: string[]; WaitPeriodMs?: number } | undefined;
  const gating = p.GatingRule as
    | { GatingControls?: string[]; TargetControls?: string[]; WaitPeriodMs?: number }
    | undefined;
  if ((assertion === undefined) === (gating === undefined))
    throw new ArcConfigError('AssertionRule / GatingRule: exactly one of them is required');
  const rc = p.RuleConfig as { Type?: string; Threshold?: number; Inverted?: boolean } | undefined;
  if (!rc) throw new ArcConfigError('RuleConfig: required (Type, Threshold, Inverted)');
  if (typeof rc.Inverted !== 'boolean')
    throw new ArcConfigError('RuleConfig.Inverted: required, true or false');
  const wait = (assertion ?? gating)?.WaitPeriodMs;
  if (wait === undefined)
    throw new ArcConfigError(`${assertion ? 'AssertionRule' : 'GatingRule'}.WaitPeriodMs: required`);
  return arcOf(world.clock).createSafetyRule(
    accountId,
    {
      controlPanelArn: String(p.ControlPanelArn ?? ''),
      name: String(p.Name ?? ''),
      kind: assertion ? 'assertion' : 'gating',
      controls: (assertion ? assertion.AssertedControls : gating?.GatingControls) ?? [],
      ...(gating && { targets: gating.TargetControls ?? [] }),
      config: {
        type: String(rc.Type),
        ...(rc.Threshold !== undefined && { threshold: Number(rc.Threshold) }),
        inverted: rc.Inverted,
      },
      waitPeriodMs: Number(wait),
    },
    world.random,
  );
}
