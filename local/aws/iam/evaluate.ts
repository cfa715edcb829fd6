/**
 * IAM's authorization decision for one request, as the IAM User Guide's "Policy evaluation logic"
 * describes it: an explicit Deny in any policy wins; within one account an Allow in the caller's
 * identity-based policies or in the resource-based policy (naming the caller) suffices; across
 * accounts both must allow, the resource policy naming the caller or its account. A resource
 * policy that names only the caller's account delegates to the account's identity policies. The
 * root user holds every permission of its own account that no Deny removes. KMS keys
 * (`resourcePolicyRequired`) admit nobody their key policy does not name, directly or through the
 * account. Pure: no I/O, no clock (time arrives as `aws:CurrentTime` / `aws:EpochTime`).
 */
import { conditionsHold } from './conditions.ts';
import { actionMatches, arnMatches, type ContextKeys, contextOf, literal, substitute } from './match.ts';
import type { Policy, PrincipalSet, Statement } from './policy.ts';

/** Who calls: an IAM user, a role (its session), the account root, or an AWS service principal. */
export interface Caller {
  /** The ARN AWS names the caller by in errors: user, `assumed-role/<role>/<session>`, root, role. */
  arn: string;
  /** The caller's account (absent for a service principal). */
  accountId?: string;
  /** For a role session: the role's own ARN (with its path), which resource policies may name. */
  roleArn?: string;
  /** For an AWS service principal (`events.amazonaws.com`). */
  service?: string;
}

export type DecisionKind = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';
export type PolicyType = 'identity-based' | 'resource-based';

export interface DecidingStatement {
  policy: string;
  statement: string;
  effect: 'Allow' | 'Deny';
  policyType: PolicyType;
}

export interface Decision {
  decision: DecisionKind;
  /** The statements that decided: the Deny(s) for ExplicitDeny, the Allow(s) for Allow, none otherwise. */
  statements: DecidingStatement[];
  /** The policy type the decision rests on (absent for Allow). */
  policyType?: PolicyType;
  /** IAM's phrase: `because no identity-based policy allows the dynamodb:GetItem action`, ... */
  reason: string;
}

export interface EvaluationRequest {
  caller: Caller;
  /** `service:Action` as the service authorization reference names it. */
  action: string;
  /** The resource ARN, or `*` for an action without resource types. */
  resource: string;
  /** The account that owns the resource (default: the ARN's account, else the caller's). */
  resourceAccount?: string;
  identityPolicies: readonly Policy[];
  resourcePolicy?: Policy;
  /** The resource policy must allow the caller or its account (KMS key policies). */
  resourcePolicyRequired?: boolean;
  /** Request context keys beyond the principal keys the evaluator derives itself. */
  context?: ContextKeys;
}

type Grant = 'direct' | 'account' | undefined;

const ROOT = /^arn:[^:]+:iam::(\d{12}):root$/;

function callerIdentities(caller: Caller): string[] {
  if (caller.service) return [caller.service];
  return caller.roleArn && caller.roleArn !== caller.arn ? [caller.arn, caller.roleArn] : [caller.arn];
}

/** How a Principal element names the caller: directly, through its account, or not at all. */
function principalGrant(set: PrincipalSet, caller: Caller): Grant {
  if (set === '*') return 'direct';
  let grant: Grant;
  for (const id of set.Service ?? []) if (caller.service === id) return 'direct';
  for (const id of set.AWS ?? []) {
    if (id === '*') return 'direct';
    if (caller.service) continue;
    const account = /^\d{12}$/.test(id) ? id : ROOT.exec(id)?.[1];
    if (account !== undefined) {
      if (account === caller.accountId) grant = ROOT.test(caller.arn) ? 'direct' : 'account';
    } else if (callerIdentities(caller).includes(id)) return 'direct';
  }
  return grant;
}

/** NotPrincipal excludes the caller only when every link of its chain (session, role, account) is listed. */
function notPrincipalApplies(set: PrincipalSet, caller: Caller): boolean {
  if (set === '*') return false;
  const aws = set.AWS ?? [];
  if (aws.includes('*')) return false;
  if (caller.service) return !(set.Service ?? []).includes(caller.service);
  const chain = [...callerIdentities(caller), `arn:aws:iam::${caller.accountId}:root`];
  const listed = (id: string) =>
    aws.includes(id) || (ROOT.test(id) && aws.includes(ROOT.exec(id)?.[1] as string));
  return !chain.every(listed);
}

function resourceMatches(
  patterns: readonly string[],
  resource: string,
  context: ContextKeys,
  version: string,
) {
  return patterns.some((p) => {
    const s = substitute(p, context, version);
    return (
      s !== undefined &&
      (s === '*' || (resource !== '*' && arnMatches(s, resource)) || literal(s) === resource)
    );
  });
}

/** Whether a statement applies to the request, principal aside. */
function statementApplies(
  st: Statement,
  policy: Policy,
  req: EvaluationRequest,
  context: ContextKeys,
): boolean {
  if (st.action && !st.action.some((a) => actionMatches(a, req.action))) return false;
  if (st.notAction?.some((a) => actionMatches(a, req.action))) return false;
  if (st.resource && !resourceMatches(st.resource, req.resource, context, policy.version)) return false;
  if (st.notResource && resourceMatches(st.notResource, req.resource, context, policy.version)) return false;
  return conditionsHold(st.condition, context, policy.version, `${policy.name}: ${st.id}`);
}

/** The principal context keys IAM sets for every request, merged under the caller's own keys. */
function requestContext(req: EvaluationRequest, resourceAccount: string | undefined): ContextKeys {
  const { caller } = req;
  const derived: Record<string, string> = {};
  if (!caller.service) {
    derived['aws:PrincipalArn'] = caller.roleArn ?? caller.arn;
    if (caller.accountId) derived['aws:PrincipalAccount'] = caller.accountId;
    const user = /^arn:[^:]+:iam::\d{12}:user\/(?:.*\/)?([^/]+)$/.exec(caller.arn);
    if (user) derived['aws:username'] = user[1] as string;
    derived['aws:PrincipalType'] = ROOT.test(caller.arn)
      ? 'Account'
      : user
        ? 'User'
        : /:assumed-role\//.test(caller.arn)
          ? 'AssumedRole'
          : 'Role';
  } else derived['aws:PrincipalServiceName'] = caller.service;
  if (resourceAccount) derived['aws:ResourceAccount'] = resourceAccount;
  const merged = new Map(contextOf(derived));
  for (const [k, v] of req.context ?? []) merged.set(k.toLowerCase(), v);
  return merged;
}

/** The account owning an ARN (its fifth segment), when it names one. */
export function accountOfArn(arn: string): string | undefined {
  const account = arn.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : undefined;
}

/** IAM's decision for one request. Throws PolicyError for a condition operator it does not know. */
export function evaluate(req: EvaluationRequest): Decision {
  const resourceAccount = req.resourceAccount ?? accountOfArn(req.resource) ?? req.caller.accountId;
  const context = requestContext(req, resourceAccount);
  const deciding = (policy: Policy, st: Statement, policyType: PolicyType): DecidingStatement => ({
    policy: policy.name,
    statement: st.id,
    effect: st.effect,
    policyType,
  });

  const identityDenies: DecidingStatement[] = [];
  const identityAllows: DecidingStatement[] = [];
  if (!req.caller.service) {
    for (const policy of req.identityPolicies) {
      for (const st of policy.statements) {
        if (!statementApplies(st, policy, req, context)) continue;
        (st.effect === 'Deny' ? identityDenies : identityAllows).push(deciding(policy, st, 'identity-based'));
      }
    }
  }
  const resourceDenies: DecidingStatement[] = [];
  const directAllows: DecidingStatement[] = [];
  const accountAllows: DecidingStatement[] = [];
  const rp = req.resourcePolicy;
  if (rp) {
    for (const st of rp.statements) {
      let grant: Grant;
      if (st.principal) grant = principalGrant(st.principal, req.caller);
      else if (st.notPrincipal)
        grant = notPrincipalApplies(st.notPrincipal, req.caller) ? 'direct' : undefined;
      if (grant === undefined || !statementApplies(st, rp, req, context)) continue;
      const d = deciding(rp, st, 'resource-based');
      // A Deny that names the caller's account applies to every principal in it.
      if (st.effect === 'Deny') resourceDenies.push(d);
      else (grant === 'direct' ? directAllows : accountAllows).push(d);
    }
  }

  const explicitDeny = (statements: DecidingStatement[], policyType: PolicyType): Decision => ({
    decision: 'ExplicitDeny',
    statements,
    policyType,
    reason: `with an explicit deny in ${policyType === 'identity-based' ? 'an' : 'a'} ${policyType} policy`,
  });
  const implicitDeny = (policyType: PolicyType): Decision => ({
    decision: 'ImplicitDeny',
    statements: [],
    policyType,
    reason: `because no ${policyType} policy allows the ${req.action} action`,
  });
  if (identityDenies.length > 0) return explicitDeny(identityDenies, 'identity-based');
  if (resourceDenies.length > 0) return explicitDeny(resourceDenies, 'resource-based');
  const noIdentity = implicitDeny('identity-based');
  const noResource = implicitDeny('resource-based');
  const allow = (statements: DecidingStatement[]): Decision => ({
    decision: 'Allow',
    statements,
    reason: 'allowed',
  });

  const isRoot = ROOT.test(req.caller.arn);
  const sameAccount = !req.caller.service && req.caller.accountId === resourceAccount;
  // The root user holds its account's permissions without a policy (what another account's
  // resource policy grants that account included).
  const identityAllowed = identityAllows.length > 0 || isRoot;

  if (!sameAccount) {
    if (directAllows.length === 0 && accountAllows.length === 0) return noResource;
    if (req.caller.service) return allow(directAllows);
    // The other account's grant (to the caller or to its account) still needs the caller's own allow.
    return identityAllowed ? allow([...identityAllows, ...directAllows, ...accountAllows]) : noIdentity;
  }
  if (directAllows.length > 0) return allow(directAllows);
  if (req.resourcePolicyRequired) {
    if (accountAllows.length === 0) return noResource;
    return identityAllowed ? allow([...accountAllows, ...identityAllows]) : noIdentity;
  }
  return identityAllowed ? allow(identityAllows) : noIdentity;
}
