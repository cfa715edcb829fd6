/**
 * Every grant a Lambda uses is in its role: the AWS actions each handler's code can reach
 * (test/support/aws-reach.ts, a call graph per function from its own entry) and what Lambda does with the role
 * (its log group, its SQS event source, its failure destination), on the resources its environment
 * names, against the role serverless.yml gives it, packaged offline (`osls package`). The local
 * cloud does not yet run the flows under these roles, so this is where a missing grant shows. Also: the bus policy's Deny spares
 * every role that puts crosslink events, and the network accounts' roles are assumable exactly.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageService } from '#local/aws/wiring/packaging.ts';
import { AWS_HALF_INPUTS, AWS_HALF_PACKAGING } from '#local/aws-half.ts';
import { analyseHandlers, type ReachAnalysis } from '../support/aws-reach.ts';
import {
  deniedBy,
  lambdas,
  type Missing,
  missingGrants,
  resolver,
  roleStatements,
  type Statement,
  type Template,
} from '../support/iam-policy.ts';
import { PACKAGING_BUDGET_MS, packageAwsHalf } from '../support/packaging.ts';

const accountRoles = createRequire(import.meta.url)('../../config/account-roles.cjs') as {
  resolve: (env: Record<string, string | undefined>) => { json: string; arns: string[]; configured: string };
};

/** Network accounts for the packaging with CROSSLINK_ACCOUNT_ROLES set (one role under a path). */
const ROLES = {
  '444455556666': 'arn:aws:iam::444455556666:role/crosslink-network-a',
  '777788889999': 'arn:aws:iam::777788889999:role/ops/net-b',
};

/** The five steps whose roles lacked PutEvents although each flushes the link's outbox. */
const FLUSHING_STEPS = ['stepPark', 'stepKeyDeadline', 'stepReport', 'stepDrainCheck', 'stepDeleteOwnHalf'];

/**
 * What a function's code would use that its entry does not wire, each reviewed: it cannot happen on
 * AWS (its premise is checked below), so neither the port nor its grant is given.
 */
const NOT_ON_AWS: Record<string, { uses: string[]; why: string }> = {
  stepDrainCheck: {
    uses: ['deps.tokens', 'halves.disableHalf', 'tokens.failure', 'tokens.success'],
    why: "drainCheck disables its own half and then answers waits only where halves have disableHalf, and AWS's have none (a connection has no admin switch)",
  },
};

const summary = (ms: Missing[]) =>
  ms.map((m) => `${m.function} (${m.role}) lacks ${m.action} on ${m.resource}: ${m.why}`);

let template: Template;
let withRoles: Template;
let analysis: ReachAnalysis;
let copyDir: string;

beforeAll(async () => {
  // The same inputs as npm start and the e2e test, under the same lock: parallel files never race.
  const { templateFile } = await packageAwsHalf();
  template = JSON.parse(readFileSync(templateFile, 'utf8'));
  analysis = await analyseHandlers(process.cwd(), lambdas(template));
  // The same service, packaged where network accounts are configured (a copy: the shared package stays as is).
  copyDir = mkdtempSync(join(tmpdir(), 'crosslink-iam-'));
  for (const input of AWS_HALF_INPUTS) cpSync(input, join(copyDir, input), { recursive: true });
  symlinkSync(resolve('node_modules'), join(copyDir, 'node_modules'));
  const copy = await packageService(copyDir, {
    force: true,
    environment: { ...AWS_HALF_PACKAGING, CROSSLINK_ACCOUNT_ROLES: JSON.stringify(ROLES) },
    signal: AbortSignal.timeout(PACKAGING_BUDGET_MS),
  });
  withRoles = JSON.parse(readFileSync(copy.templateFile, 'utf8'));
}, 120_000);

afterAll(() => {
  if (copyDir) rmSync(copyDir, { recursive: true, force: true });
});

/** A copy of `t` with `edit` applied to the statements of `roleId`'s inline policies. */
function editRole(t: Template, roleId: string, edit: (statements: Statement[]) => Statement[]): Template {
  const copy = structuredClone(t);
  for (const p of copy.Resources[roleId]?.Properties.Policies ?? [])
    p.PolicyDocument.Statement = edit(p.PolicyDocument.Statement);
  return copy;
}

/** Drops `action` from every statement of the role (statements left with no action go). */
const without = (action: string) => (statements: Statement[]) =>
  statements.flatMap((st) => {
    // Fn::If statements (sts:AssumeRole) keep their shape; their branch is edited.
    const branch = (st as unknown as { 'Fn::If'?: [string, Statement, unknown] })['Fn::If'];
    const target = branch ? branch[1] : st;
    const actions = [target.Action ?? []].flat().filter((a) => a !== action);
    if (actions.length === 0) return [];
    target.Action = actions;
    return [st];
  });

/** What the check finds missing (function, action, resource) once `action` is taken from `roleId` in a copy of `t`. */
const missingWithout = (t: Template, roleId: string, action: string) =>
  missingGrants(editRole(t, roleId, without(action)), analysis.handlers).map((m) => [
    m.function,
    m.action,
    m.resource,
  ]);

describe('what each handler can call (per handler, through the ports)', () => {
  const reaching = (action: string) =>
    Object.entries(analysis.handlers)
      .filter(([, r]) => r.actions.has(action))
      .map(([h]) => h)
      .sort();

  it('maps every SDK use it meets to an action', () => {
    expect(analysis.unmapped).toEqual([]);
    // The network accounts' clients sign with assumed-role credentials (runtime.ts clientsFor).
    expect([...analysis.assumedRoleServices].sort()).toEqual(['directconnect', 'interconnect']);
  });

  it("wires every port each function's code uses, but the reviewed uses that cannot happen on AWS", () => {
    const unwired = Object.fromEntries(
      Object.entries(analysis.handlers)
        .filter(([, r]) => r.unwired.size > 0)
        .map(([fn, r]) => [fn, [...r.unwired.keys()].sort()]),
    );
    expect(unwired).toEqual(Object.fromEntries(Object.entries(NOT_ON_AWS).map(([fn, x]) => [fn, x.uses])));
    // The premise: no AWS halves implement disableHalf.
    const aws = readdirSync('functions/aws', { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    );
    for (const f of aws) expect(readFileSync(`functions/aws/${f}`, 'utf8'), f).not.toContain('disableHalf');
  });

  it('gives each function only what its own entry wires', () => {
    // A port's client is in the bundle (and the reach) of the functions whose entry wires it.
    expect(reaching('states:SendTaskSuccess')).toEqual([
      'intake',
      'peerEvents',
      'stepActivateAccept',
      'stepActivateInitiate',
      'stepConfirmDeleted',
      'stepPark',
      'stepPollHalf',
      'watcher',
    ]);
  });

  it('does not give every step what one step calls', () => {
    expect(reaching('kms:Decrypt')).toEqual(['stepActivateAccept']);
    expect(reaching('secretsmanager:CreateSecret')).toEqual(['stepActivateInitiate']);
    expect(reaching('interconnect:CreateConnection')).toEqual(['stepActivateInitiate']);
    expect(reaching('interconnect:AcceptConnectionProposal')).toEqual(['stepActivateAccept']);
    expect(reaching('states:StartExecution')).toEqual([
      'drControl',
      'drSignals',
      'intake',
      'peerEvents',
      'starter',
    ]);
    expect(reaching('directconnect:UpdateDirectConnectGatewayAssociation')).toEqual(['stepVerifyPrefixes']);
    expect(reaching('sqs:SendMessage')).toEqual(['relayToGoogle']);
    expect([...(analysis.handlers.relayToGoogle?.actions.keys() ?? [])]).toEqual(['sqs:SendMessage']);
  });

  it('sees the outbox flush of the five steps: PutEvents through flushOutbox and the sink', () => {
    for (const step of FLUSHING_STEPS) {
      const path = analysis.handlers[step]?.actions.get('events:PutEvents');
      expect(path, step).toBeDefined();
      expect(path?.join(' -> '), step).toMatch(/flushOutbox.*event-sink\.ts:put/);
    }
  });

  it('sees environment discovery (ListEnvironments) in the steps that place a link, and nowhere else', () => {
    const listing = Object.entries(analysis.handlers)
      .filter(([, h]) => h.actions.has('interconnect:ListEnvironments'))
      .map(([name]) => name)
      .sort();
    expect(listing).toEqual(['stepActivateInitiate', 'stepRequest']);
  });
});

describe('every grant a function uses is in its role', () => {
  it('grants each function what its code and Lambda need (no network accounts)', () => {
    const missing = missingGrants(template, analysis.handlers);
    expect(summary(missing)).toEqual([]);
  });

  it.each(FLUSHING_STEPS)('fails on a copy of the template whose %s role lacks events:PutEvents', (step) => {
    const fn = lambdas(template).find((l) => l.name === step);
    expect(fn).toBeDefined();
    expect(missingWithout(template, fn?.roleId as string, 'events:PutEvents')).toEqual([
      [step, 'events:PutEvents', 'arn:aws:events:us-east-1:111122223333:event-bus/crosslink-dev'],
    ]);
  });

  it("fails on a copy whose role lacks what Lambda itself needs: the event source's queue, the log group", () => {
    expect(missingWithout(template, 'PeerEventsRole', 'sqs:ReceiveMessage')).toEqual([
      ['peerEvents', 'sqs:ReceiveMessage', 'arn:aws:sqs:us-east-1:111122223333:crosslink-peer-events-dev'],
    ]);
    expect(missingWithout(template, 'StepReportRole', 'logs:PutLogEvents')).toEqual([
      [
        'stepReport',
        'logs:PutLogEvents',
        'arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/crosslink-dev-stepReport:log-stream:sample',
      ],
    ]);
  });
});

describe('the bus policy denies no role that puts crosslink events', () => {
  const busArn = 'arn:aws:events:us-east-1:111122223333:event-bus/crosslink-dev';
  const busStatements = (t: Template): Statement[] => {
    const { resolve: r } = resolver(t);
    return Object.values(t.Resources)
      .filter((x) => x.Type === 'AWS::Events::EventBusPolicy')
      .map((x) => r(x.Properties.Statement) as Statement);
  };
  /** Roles whose code puts (source crosslink) or whose policy lets them put on the bus, but EventBridge's own forwarders. */
  const putters = (t: Template) => {
    const fromCode = lambdas(t)
      .filter((l) => analysis.handlers[l.name]?.actions.has('events:PutEvents'))
      .map((l) => [l.roleId, l.roleArn] as const);
    const { getAtt } = resolver(t);
    const byPolicy = Object.entries(t.Resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Role')
      .filter(
        ([, r]) => !JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('events.amazonaws.com'),
      )
      .filter(([id]) =>
        roleStatements(t, id).some(
          (st) => st.Effect === 'Allow' && [st.Action].flat().includes('events:PutEvents'),
        ),
      )
      .map(([id]) => [id, getAtt(id, 'Arn')] as const);
    return new Map([...fromCode, ...byPolicy]);
  };

  it('spares every such role, the five steps included', () => {
    const roles = putters(template);
    for (const step of FLUSHING_STEPS) {
      const fn = lambdas(template).find((l) => l.name === step);
      expect(roles.has(fn?.roleId as string), step).toBe(true);
    }
    for (const [id, arn] of roles)
      expect(
        deniedBy(busStatements(template), 'events:PutEvents', busArn, arn, { 'events:source': 'crosslink' }),
        id,
      ).toEqual([]);
    // It still denies anyone else.
    const other = 'arn:aws:iam::111122223333:role/someone-else';
    expect(
      deniedBy(busStatements(template), 'events:PutEvents', busArn, other, { 'events:source': 'crosslink' }),
    ).toHaveLength(1);
  });

  it('fails on a copy whose Deny no longer spares the stepPark role', () => {
    const broken = structuredClone(template);
    const deny = broken.Resources.CrosslinkBusDenyOthers?.Properties.Statement;
    const list = deny.Condition.ArnNotLike['aws:PrincipalArn'] as unknown[];
    deny.Condition.ArnNotLike['aws:PrincipalArn'] = list.filter(
      (x) => JSON.stringify(x) !== JSON.stringify({ 'Fn::GetAtt': ['StepParkRole', 'Arn'] }),
    );
    expect(list.length - deny.Condition.ArnNotLike['aws:PrincipalArn'].length).toBe(1);
    const arn = resolver(broken).getAtt('StepParkRole', 'Arn');
    expect(
      deniedBy(busStatements(broken), 'events:PutEvents', busArn, arn, { 'events:source': 'crosslink' }),
    ).toHaveLength(1);
  });
});

describe('network accounts: sts:AssumeRole on exactly the configured roles', () => {
  const assumeStatements = (t: Template) =>
    Object.entries(t.Resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Role')
      .flatMap(([id]) =>
        roleStatements(t, id)
          .filter((st) => [st.Action].flat().includes('sts:AssumeRole'))
          .map((st) => [id, st] as const),
      );

  it('grants none without network accounts', () => {
    expect(assumeStatements(template)).toEqual([]);
  });

  it('grants the roles CROSSLINK_ACCOUNT_ROLES names, and only to the functions that call a provider', () => {
    const missing = missingGrants(withRoles, analysis.handlers);
    expect(summary(missing)).toEqual([]);
    const granted = assumeStatements(withRoles);
    for (const [id, st] of granted) expect([st.Resource].flat(), id).toEqual(Object.values(ROLES));
    // Exactly the roles of functions whose code calls Interconnect or Direct Connect through a
    // client their bundle builds with a network account's credentials: vpnInventory calls Direct
    // Connect in its own account only, and has no such grant.
    const callers = lambdas(withRoles)
      .filter((l) => {
        const r = analysis.handlers[l.name];
        return [...(r?.actions.keys() ?? [])].some((a) =>
          r?.assumedRoleServices.has(a.split(':')[0] as string),
        );
      })
      .map((l) => l.roleId)
      .sort();
    expect(granted.map(([id]) => id).sort()).toEqual(callers);
    expect(callers).toContain('StepActivateInitiateRole');
    expect(callers).not.toContain('VpnInventoryRole');
    expect(
      analysis.handlers.vpnInventory?.actions.has('directconnect:DescribeDirectConnectGatewayAssociations'),
    ).toBe(true);
    // The functions see the same map.
    for (const l of lambdas(withRoles))
      expect(JSON.parse(l.environment.CROSSLINK_ACCOUNT_ROLES ?? '')).toEqual(ROLES);
  });

  it('fails on a copy whose stepPollHalf role cannot assume them', () => {
    expect(missingWithout(withRoles, 'StepPollHalfRole', 'sts:AssumeRole')).toEqual(
      Object.values(ROLES).map((arn) => ['stepPollHalf', 'sts:AssumeRole', arn]),
    );
  });

  it('refuses a malformed CROSSLINK_ACCOUNT_ROLES, naming the entry and the reason', () => {
    expect(accountRoles.resolve({})).toEqual({ json: '{}', arns: [], configured: 'false' });
    expect(() => accountRoles.resolve({ CROSSLINK_ACCOUNT_ROLES: '[' })).toThrow(
      /CROSSLINK_ACCOUNT_ROLES: not JSON/,
    );
    expect(() => accountRoles.resolve({ CROSSLINK_ACCOUNT_ROLES: '["x"]' })).toThrow(/must be an object/);
    expect(() =>
      accountRoles.resolve({ CROSSLINK_ACCOUNT_ROLES: '{"4444":"arn:aws:iam::444455556666:role/a"}' }),
    ).toThrow('CROSSLINK_ACCOUNT_ROLES["4444"]: the key must be a 12-digit AWS account id');
    expect(() =>
      accountRoles.resolve({ CROSSLINK_ACCOUNT_ROLES: '{"444455556666":"crosslink-network-a"}' }),
    ).toThrow('CROSSLINK_ACCOUNT_ROLES["444455556666"]: "crosslink-network-a" is not an IAM role ARN');
    expect(() =>
      accountRoles.resolve({
        CROSSLINK_ACCOUNT_ROLES: '{"444455556666":"arn:aws:iam::777788889999:role/a"}',
      }),
    ).toThrow(
      'CROSSLINK_ACCOUNT_ROLES["444455556666"]: arn:aws:iam::777788889999:role/a is a role of account 777788889999, not 444455556666',
    );
    expect(() =>
      accountRoles.resolve({
        CROSSLINK_ACCOUNT_ROLES: '{"444455556666":"arn:aws:iam::444455556666:role/*"}',
      }),
    ).toThrow(/is not an IAM role ARN/);
  });
});
