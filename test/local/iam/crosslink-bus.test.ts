/**
 * crosslink's own event bus policy (serverless.yml: CrosslinkBusPutPolicy, CrosslinkBusSourceGuard,
 * NetworkAccountsForwardPolicy) through the request context and the evaluator: only crosslink's
 * roles put `crosslink` events, network accounts' forwarding roles only `aws.interconnect` ones.
 */
import { describe, expect, it } from 'vitest';
import { type Caller, evaluate } from '#local/aws/iam/evaluate.ts';
import { contextOf } from '#local/aws/iam/match.ts';
import { parsePolicy } from '#local/aws/iam/policy.ts';
import { authorizationTargets } from '#local/aws/iam/request-context.ts';

const hub = '000000000000';
const bus = `arn:aws:events:us-east-1:${hub}:event-bus/crosslink`;
const putters = [
  `arn:aws:iam::${hub}:role/crosslink-intake`,
  `arn:aws:iam::${hub}:role/crosslink-step-report`,
];
const busPolicy = parsePolicy(
  {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'crosslink-putters',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${hub}:root` },
        Action: 'events:PutEvents',
        Resource: bus,
        Condition: { ArnLike: { 'aws:PrincipalArn': putters } },
      },
      {
        Sid: 'only-crosslink-puts-crosslink',
        Effect: 'Deny',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource: bus,
        Condition: {
          StringEquals: { 'events:source': 'crosslink' },
          ArnNotLike: { 'aws:PrincipalArn': putters },
        },
      },
      {
        Sid: 'network-accounts-forward-interconnect',
        Effect: 'Allow',
        Principal: { AWS: ['111111111111'] },
        Action: 'events:PutEvents',
        Resource: bus,
        Condition: {
          StringEquals: { 'events:source': 'aws.interconnect' },
          ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/crosslink-forward-to-hub-*' },
        },
      },
    ],
  },
  'event bus crosslink',
  'resource',
);
const canPut = parsePolicy(
  { Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 'events:PutEvents', Resource: '*' } },
  'role policy',
  'identity',
);

const session = (account: string, role: string): Caller => ({
  arn: `arn:aws:sts::${account}:assumed-role/${role}/s`,
  roleArn: `arn:aws:iam::${account}:role/${role}`,
  accountId: account,
});

/** The decision for one PutEvents entry from `caller` with `source`, as the edge would ask it. */
async function put(caller: Caller, source: string) {
  const [target] = await authorizationTargets(
    'events',
    'PutEvents',
    { Entries: [{ Source: source, DetailType: 'LinkRequested', EventBusName: bus }] },
    { accountId: caller.accountId as string, region: 'us-east-1' },
  );
  if (!target) throw new Error('no target');
  return evaluate({
    caller,
    action: target.action,
    resource: target.resource,
    identityPolicies: [canPut],
    resourcePolicy: busPolicy,
    context: contextOf(target.context),
  });
}

describe("crosslink's bus policy", () => {
  it('a crosslink role puts crosslink events', async () => {
    expect((await put(session(hub, 'crosslink-intake'), 'crosslink')).decision).toBe('Allow');
  });
  it('another role of the hub, even with events:PutEvents, is denied crosslink events by the guard', async () => {
    const d = await put(session(hub, 'someone-else'), 'crosslink');
    expect(d.decision).toBe('ExplicitDeny');
    expect(d.statements.map((s) => s.statement)).toEqual(['only-crosslink-puts-crosslink']);
  });
  it("a network account's forwarding role puts aws.interconnect events, and nothing else", async () => {
    const forwarder = session('111111111111', 'crosslink-forward-to-hub-us-east-1');
    expect((await put(forwarder, 'aws.interconnect')).decision).toBe('Allow');
    expect((await put(forwarder, 'crosslink')).decision).toBe('ExplicitDeny');
    const other = await put(forwarder, 'custom.app');
    expect(other.decision).toBe('ImplicitDeny');
    expect(other.reason).toBe('because no resource-based policy allows the events:PutEvents action');
  });
  it('a role of an account the policy does not name is refused', async () => {
    const d = await put(session('333333333333', 'crosslink-forward-to-hub-us-east-1'), 'aws.interconnect');
    expect(d.decision).toBe('ImplicitDeny');
  });
});
