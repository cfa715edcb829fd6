/**
 * IAM at the local AWS edge: for an authenticated call, the authorizations the operation needs
 * (request-context.ts), each evaluated (evaluate.ts) with the caller's identity-based policies and
 * the resource's policy, and the service's own AccessDenied for the first one refused (deny.ts).
 * The edge enforces only when given an `IamEnforcement` (docs/local-aws-iam.md).
 */
import { networkOf } from '../common/network.ts';
import type { Principal } from '../credentials.ts';
import type { World } from '../service.ts';
import { accessDenied, deniedMessage } from './deny.ts';
import { type Caller, type Decision, evaluate } from './evaluate.ts';
import { contextOf } from './match.ts';
import { type Policy, parsePolicy } from './policy.ts';
import { type AuthorizationTarget, authorizationTargets, type ResourceLookup } from './request-context.ts';

/** Where the edge finds the policies that apply to a call. */
export interface IamEnforcement {
  /** The caller's identity-based policies (its user's or role's, parsed with parsePolicy). */
  identityPolicies(principal: Principal, world: World): readonly Policy[];
  /**
   * The resource-based policy of a target (bus, queue, key, secret, function; a role's trust policy
   * for sts:AssumeRole), when it has one.
   */
  resourcePolicy?(target: AuthorizationTarget, world: World): Policy | undefined;
  /** Told every decision made (the least-privilege report records them: docs/local-aws-iam.md). */
  record?(caller: Caller, target: AuthorizationTarget, decision: Decision): void;
}

/** The caller as IAM sees it: a session of `assumed-role/<role>/<name>` also answers to its role's ARN. */
export function callerOf(principal: Principal): Caller {
  const session = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(principal.arn);
  return {
    arn: principal.arn,
    accountId: principal.accountId,
    ...(session && { roleArn: `arn:${session[1]}:iam::${session[2]}:role/${session[3]}` }),
  };
}

/**
 * A KMS key created without a policy gets AWS's default key policy, which gives the account (and
 * so the IAM policies of its principals) every KMS action on it ("Default key policy", AWS KMS
 * Developer Guide).
 */
function defaultKeyPolicy(keyArn: string): Policy {
  const account = keyArn.split(':')[4];
  return parsePolicy(
    {
      Version: '2012-10-17',
      Statement: {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    },
    `key policy of ${keyArn} (default)`,
    'resource',
  );
}

/** Reads the local services' state for what IAM evaluates against (a secret's full ARN, an alias's key). */
function lookupIn(world: World): ResourceLookup {
  const has = (service: string, accountId: string, region: string) =>
    world.scopes(service).some((s) => s.accountId === accountId && s.region === region);
  return {
    secretArn(accountId, region, ref) {
      if (!has('secretsmanager', accountId, region)) return undefined;
      const state = world.stateOf<{ secrets: Map<string, { name: string; arn: string }> }>(
        'secretsmanager',
        accountId,
        region,
      );
      for (const s of state.secrets.values()) {
        if (s.name === ref || s.arn === ref || s.arn.slice(0, -7) === ref) return s.arn;
      }
      return undefined;
    },
    keyIdForAlias(accountId, region, alias) {
      if (!has('kms', accountId, region)) return undefined;
      return world.stateOf<{ aliases: Map<string, string> }>('kms', accountId, region).aliases.get(alias);
    },
    partitionKeyName(accountId, region, table) {
      if (!has('dynamodb', accountId, region)) return undefined;
      return world
        .stateOf<{ partitionKeys: Map<string, string> }>('dynamodb', accountId, region)
        .partitionKeys.get(table);
    },
    resourceTags(arn) {
      const m = /^arn:[^:]+:ec2:([^:]*):(\d{12}):([a-z-]+)\/(.+)$/.exec(arn);
      if (!m) return undefined;
      const [, region, accountId, type, id] = m as unknown as [string, string, string, string, string];
      const net = networkOf(world);
      const maps: Record<string, ReadonlyMap<string, Ec2Tagged>> = {
        'vpn-connection': net.vpnConnections,
        'customer-gateway': net.customerGateways,
        'vpn-gateway': net.vpnGateways,
        'transit-gateway': net.transitGateways,
      };
      const r = maps[type]?.get(id);
      return r && r.accountId === accountId && r.region === region ? r.tags : undefined;
    },
  };
}

/** What an EC2 resource of the network world carries that IAM reads: its place and tags. */
interface Ec2Tagged {
  accountId: string;
  region: string;
  tags: Record<string, string>;
}

/**
 * Resource policies without which nobody is allowed: a KMS key's key policy, a role's trust policy
 * (IAM User Guide, "Policy evaluation logic": a role's trust policy must allow AssumeRole).
 */
function resourcePolicyRequired(target: AuthorizationTarget): boolean {
  return (target.action.startsWith('kms:') && target.resource !== '*') || target.action === 'sts:AssumeRole';
}

/** The decision on one authorization, told to the enforcement's recorder. */
function decide(
  iam: IamEnforcement,
  world: World,
  principal: Principal | undefined,
  caller: Caller,
  target: AuthorizationTarget,
  region: string,
): Decision {
  const isKey = target.action.startsWith('kms:') && target.resource !== '*';
  const resourcePolicy =
    iam.resourcePolicy?.(target, world) ?? (isKey ? defaultKeyPolicy(target.resource) : undefined);
  const now = world.clock.now();
  const decision = evaluate({
    caller,
    action: target.action,
    resource: target.resource,
    identityPolicies: principal ? iam.identityPolicies(principal, world) : [],
    ...(resourcePolicy && { resourcePolicy }),
    resourcePolicyRequired: resourcePolicyRequired(target),
    context: contextOf({
      'aws:CurrentTime': new Date(now).toISOString(),
      'aws:EpochTime': String(Math.floor(now / 1000)),
      'aws:RequestedRegion': region,
      ...target.context,
    }),
  });
  iam.record?.(caller, target, decision);
  return decision;
}

/** Throws the service's AccessDenied unless IAM allows every authorization the call needs. */
export async function authorize(
  iam: IamEnforcement,
  call: {
    signingName: string;
    operation: string;
    input: unknown;
    principal: Principal;
    region: string;
    world: World;
  },
): Promise<void> {
  const { principal, region, world } = call;
  const targets = await authorizationTargets(
    call.signingName,
    call.operation,
    call.input,
    { accountId: principal.accountId, region },
    lookupIn(world),
  );
  if (targets.length === 0) return;
  const caller = callerOf(principal);
  for (const target of targets) {
    const decision = decide(iam, world, principal, caller, target, region);
    if (decision.decision !== 'Allow') {
      throw accessDenied(call.signingName, principal.arn, target.action, target.resource, decision);
    }
  }
}

/** The principal of a session of `roleArn` named `session` (what AssumeRole would give). */
export function sessionOf(roleArn: string, session: string): Principal {
  const [, partition, , , accountId, resource] = roleArn.split(':');
  const roleName = String(resource).split('/').pop();
  return {
    name: session,
    arn: `arn:${partition}:sts::${accountId}:assumed-role/${roleName}/${session}`,
    accountId: accountId as string,
    accessKeyId: '',
  };
}

/** Who an engine acts as: a role's session, or an AWS service principal with the resource it acts for. */
export type ActingAs = { session: Principal } | { service: string; sourceArn: string; sourceAccount: string };

/** A call an engine makes that IAM refused: IAM's sentence, with the action and resource. */
export class EngineAccessDenied extends Error {
  readonly action: string;
  readonly resource: string;
  constructor(action: string, resource: string, message: string) {
    super(message);
    this.name = 'AccessDeniedException';
    this.action = action;
    this.resource = resource;
  }
}

/**
 * For the engines (Step Functions tasks, EventBridge targets, Lambda destinations): throws
 * EngineAccessDenied unless IAM allows `action` on `resource` to whom the engine acts as. Nothing
 * is checked when the edge does not enforce IAM.
 */
export function authorizeEngineCall(
  world: World,
  as: ActingAs,
  action: string,
  resource: string,
  context: Record<string, string | string[]> = {},
): void {
  const iam = world.iam;
  if (!iam) return;
  const region = resource.split(':')[3] || world.defaultRegion;
  const target: AuthorizationTarget = { action, resource, context };
  let decision: Decision;
  let who: string;
  if ('session' in as) {
    who = as.session.arn;
    decision = decide(iam, world, as.session, callerOf(as.session), target, region);
  } else {
    who = as.service;
    target.context = { ...context, 'aws:SourceArn': as.sourceArn, 'aws:SourceAccount': as.sourceAccount };
    decision = decide(iam, world, undefined, { arn: as.service, service: as.service }, target, region);
  }
  if (decision.decision !== 'Allow')
    throw new EngineAccessDenied(action, resource, deniedMessage(who, action, resource, decision));
}
