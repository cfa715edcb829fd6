/**
 * The policies of the local AWS, as the edge enforces them by default: the local identities'
 * identity-based policies (config/local-identities.yaml), the roles' permission and trust policies
 * (the STS module's role table: the template's roles, the network accounts' roles), and the
 * resource-based policies the services store (bus policies, queue policies, key policies, secret
 * policies, Lambda permissions). Each document is parsed once per text and kept, so an evaluation
 * costs a few map lookups besides the statements it matches.
 *
 * It also keeps every decision it is told, per principal (a role for its sessions), action,
 * resource and outcome: what the least-privilege report reads (docs/local-aws-iam.md).
 */
import { writeFileSync } from 'node:fs';
import type { Principal } from '../credentials.ts';
import type { World } from '../service.ts';
import { busPolicyText, findBus } from '../services/events.ts';
import type { KmsState } from '../services/kms.ts';
import { functionPolicyText, lambdaRuntime } from '../services/lambda.ts';
import type { SecretsState } from '../services/secretsmanager.ts';
import { queuesOf } from '../services/sqs.ts';
import { statesOf } from '../services/states.ts';
import { roles } from '../services/sts.ts';
import { callerOf, type IamEnforcement } from './enforce.ts';
import type { Caller, Decision, DecisionKind } from './evaluate.ts';
import { type Policy, parsePolicy } from './policy.ts';
import type { AuthorizationTarget } from './request-context.ts';

/** One recorded decision and how many calls it answered. */
export interface RecordedDecision {
  /** The user, role (for its sessions), root or AWS service principal. */
  principal: string;
  action: string;
  resource: string;
  decision: DecisionKind;
  count: number;
}

/** A function or state machine, the role it acts with, and the actions that role's policies allow. */
export interface RolePrincipal {
  kind: 'function' | 'stateMachine';
  name: string;
  role: string;
  /** The actions (as written, wildcards kept) of the role's Allow statements. */
  grants: string[];
}

/** What the least-privilege report reads: who acts with which role, and what was decided. */
export interface DecisionRecord {
  principals: RolePrincipal[];
  decisions: RecordedDecision[];
}

export class LocalIam implements IamEnforcement {
  readonly #identities = new Map<string, readonly Policy[]>();
  readonly #parsed = new Map<string, Policy>();
  readonly #decisions = new Map<string, RecordedDecision>();

  /** `identities`: each local identity's principal ARN and its policy documents by name. */
  constructor(identities: readonly { principalArn: string; policies?: Record<string, unknown> }[]) {
    for (const id of identities) {
      this.#identities.set(
        id.principalArn,
        Object.entries(id.policies ?? {}).map(([name, doc]) =>
          parsePolicy(doc, `${id.principalArn} policy ${name}`, 'identity'),
        ),
      );
    }
  }

  identityPolicies(principal: Principal, world: World): readonly Policy[] {
    const own = this.#identities.get(principal.arn);
    if (own) return own;
    const role = callerOf(principal).roleArn ?? principal.arn;
    return roles(world).get(role)?.policies ?? [];
  }

  resourcePolicy(target: AuthorizationTarget, world: World): Policy | undefined {
    const { action, resource } = target;
    if (resource === '*') return undefined;
    if (action === 'sts:AssumeRole') return roles(world).get(resource)?.trustPolicy;
    const [, , service, region = '', accountId = '', rest = ''] = resource.split(':');
    const has = (name: string) =>
      world.scopes(name).some((s) => s.accountId === accountId && s.region === region);
    let text: string | undefined;
    if (service === 'events' && rest.startsWith('event-bus/')) {
      const bus = has('events')
        ? findBus(world, accountId, region, rest.slice('event-bus/'.length))
        : undefined;
      text = bus && busPolicyText(bus);
    } else if (service === 'sqs') {
      text = has('sqs') ? queuesOf(world, resource)?.attributes.Policy : undefined;
    } else if (service === 'kms' && rest.startsWith('key/')) {
      text = has('kms')
        ? world.stateOf<KmsState>('kms', accountId, region).keys.get(rest.slice(4))?.policy
        : undefined;
    } else if (service === 'secretsmanager') {
      text = has('secretsmanager')
        ? world.stateOf<SecretsState>('secretsmanager', accountId, region).secrets.get(resource)
            ?.resourcePolicy
        : undefined;
    } else if (service === 'lambda' && rest === 'function') {
      const name = resource.split(':')[6] as string;
      const fn = has('lambda') ? lambdaRuntime(world, accountId, region).functions.get(name) : undefined;
      text = fn && functionPolicyText(fn);
    }
    return text === undefined ? undefined : this.#parse(text, `resource policy of ${resource}`);
  }

  record(caller: Caller, target: AuthorizationTarget, decision: Decision): void {
    const principal = caller.service ?? caller.roleArn ?? caller.arn;
    const key = `${principal}\0${target.action}\0${target.resource}\0${decision.decision}`;
    const seen = this.#decisions.get(key);
    if (seen) seen.count++;
    else
      this.#decisions.set(key, {
        principal,
        action: target.action,
        resource: target.resource,
        decision: decision.decision,
        count: 1,
      });
  }

  /** The decisions made so far, in the order first made. */
  decisions(): RecordedDecision[] {
    return [...this.#decisions.values()].map((d) => ({ ...d }));
  }

  /** The functions and state machines with a role, and the decisions so far. */
  snapshot(world: World): DecisionRecord {
    const grantsOf = (role: string) => [
      ...new Set(
        (roles(world).get(role)?.policies ?? []).flatMap((p) =>
          p.statements.filter((st) => st.effect === 'Allow').flatMap((st) => st.action ?? []),
        ),
      ),
    ];
    const principals: RolePrincipal[] = [];
    for (const { accountId, region } of world.scopes('lambda'))
      for (const fn of lambdaRuntime(world, accountId, region).functions.values())
        if (fn.role)
          principals.push({ kind: 'function', name: fn.name, role: fn.role, grants: grantsOf(fn.role) });
    for (const { accountId, region } of world.scopes('states'))
      for (const m of statesOf(world, accountId, region).machines.values())
        principals.push({ kind: 'stateMachine', name: m.name, role: m.roleArn, grants: grantsOf(m.roleArn) });
    return { principals, decisions: this.decisions() };
  }

  /** Writes the record as JSON lines: the principals first, then one decision a line. */
  writeDecisions(file: string, world: World): void {
    const { principals, decisions } = this.snapshot(world);
    writeFileSync(file, [{ principals }, ...decisions].map((d) => `${JSON.stringify(d)}\n`).join(''));
  }

  #parse(text: string, name: string): Policy {
    let policy = this.#parsed.get(text);
    if (!policy) {
      policy = parsePolicy(JSON.parse(text), name, 'resource');
      this.#parsed.set(text, policy);
    }
    return policy;
  }
}
