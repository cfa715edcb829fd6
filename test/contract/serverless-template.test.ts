/**
 * serverless.yml, packaged offline with no AWS credentials (`osls package`), read as CloudFormation:
 * every function with its own role and its own artifact (the SDK bundled, no source map), both state machines on exact Lambda versions, rules with DLQs and
 * retry policies, least-privilege IAM, the alarms; asl-validator on every ASL file, as written and as
 * packaged; and the network-account forwarding stack (stacks/), checked offline against the hub's
 * bus policy.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
// @ts-expect-error asl-validator ships no types
import aslValidatorModule from 'asl-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { NAMESPACE, SERVICE } from '#aws/approval-metrics.ts';
import { PEER_EVENT_LEASE_MS } from '#core/link/intake.ts';
import { unzip } from '#local/aws/zip.ts';
import { resolveDefinition } from '../support/aws-half.ts';
// Resource "*" is allowed only for these actions: they have no resource type.
import { grantedOnStar } from '../support/iam-policy.ts';
import { packageAwsHalf } from '../support/packaging.ts';

const requireCjs = createRequire(import.meta.url) as (id: string) => {
  vpnCoordinator: (file: string) => string;
};

type Validator = (d: unknown) => { isValid: boolean; errorsText: (sep?: string) => string };
const aslValidator: Validator = aslValidatorModule.default ?? aslValidatorModule;

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation is read ad hoc.
type Resource = { Type: string; Properties: any; Condition?: string };
let resources: Record<string, Resource>;
let templateDir: string;
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation is read ad hoc.
let conditions: Record<string, any>;

/** CloudFormation short-form tags, read as their long forms. */
const CFN_TAGS = ['Ref', 'GetAtt', 'Sub', 'Split', 'Not', 'Equals', 'If', 'Join', 'Select'].map((t) => ({
  tag: `!${t}`,
  resolve: (v: unknown) =>
    t === 'Ref' ? { Ref: v } : { [`Fn::${t}`]: t === 'GetAtt' && typeof v === 'string' ? v.split('.') : v },
}));
const CFN_SEQ_TAGS = CFN_TAGS.map((t) => ({ ...t, collection: 'seq' as const }));

beforeAll(async () => {
  // The same inputs as npm start and the e2e test, under the same lock: parallel files never race.
  const { templateFile } = await packageAwsHalf();
  ({ Resources: resources, Conditions: conditions } = JSON.parse(readFileSync(templateFile, 'utf8')));
  templateDir = dirname(templateFile);
}, 120_000);

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
/** A policy's statements, those under `Fn::If` by their condition's name and both branches. */
const statementsOf = (policy: { PolicyDocument: { Statement: unknown[] } }): Statement[] =>
  policy.PolicyDocument.Statement.flatMap((st) => {
    const branch = (st as { 'Fn::If'?: [string, unknown, unknown] })['Fn::If'];
    return (branch ? [branch[1], branch[2]] : [st]).filter(
      (x): x is Statement => typeof x === 'object' && x !== null && 'Effect' in x,
    );
  });

describe('serverless.yml packaged', () => {
  it('has a Lambda function on nodejs24.x for every function, each with its own role', () => {
    const declared = Object.keys(
      parseYaml(readFileSync('serverless.yml', 'utf8'), {
        logLevel: 'silent',
        customTags: [...CFN_TAGS, ...CFN_SEQ_TAGS],
      }).functions,
    );
    const fns = ofType('AWS::Lambda::Function');
    expect(fns).toHaveLength(declared.length);
    const roles = new Set<string>();
    for (const [id, fn] of fns) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      const role = fn.Properties.Role['Fn::GetAtt']?.[0] as string;
      // <Name>LambdaFunction -> <Name>Role: one role per function, never shared.
      expect(role, id).toBe(id.replace(/LambdaFunction$/, 'Role'));
      expect(resources[role]?.Type).toBe('AWS::IAM::Role');
      roles.add(role);
    }
    expect(roles.size).toBe(fns.length);
    // Every Lambda task of the state machines is a declared function.
    for (const f of readdirSync('workflows/aws').filter((x) => x.endsWith('.asl.json'))) {
      const used = readFileSync(`workflows/aws/${f}`, 'utf8').matchAll(/"Fn::GetAtt":\s*\[\s*"(\w+)"/g);
      for (const [, fn] of used) expect(declared, `${f} uses ${fn}`).toContain(fn);
    }
  });

  it('packages each function on its own: its handler bundled with the SDK and the policy, no source map', () => {
    const fns = ofType('AWS::Lambda::Function');
    const zips = new Set<string>();
    for (const [id, fn] of fns) {
      const zip = String(fn.Properties.Code.S3Key).split('/').pop() as string;
      zips.add(zip);
      const files = unzip(join(templateDir, zip), mkdtempSync(join(tmpdir(), 'crosslink-artifact-')));
      const module = String(fn.Properties.Handler).replace(/\.\w+$/, '');
      // Exactly what Lambda loads: the handler's bundle (SDK and policy inside, no node_modules).
      expect(files.sort(), id).toEqual([`${module}.mjs`]);
      expect(fn.Properties.Environment?.Variables?.NODE_OPTIONS, id).toBeUndefined();
    }
    expect(zips.size).toBe(fns.length);
  });

  it('has the link, VPN and DR failover state machines, on exact Lambda versions, with valid ASL', () => {
    const machines = ofType('AWS::StepFunctions::StateMachine');
    expect(machines.map(([id]) => id).sort()).toEqual([
      'DrFailoverStateMachine',
      'LinkDecommissioningStateMachine',
      'LinkProvisioningStateMachine',
      'VpnHalfStateMachine',
      'VpnRunStateMachine',
    ]);
    for (const [, m] of machines) {
      const [text, refs] = m.Properties.DefinitionString['Fn::Sub'] as [
        string,
        Record<string, { Ref?: string }>,
      ];
      // useExactVersion: every Lambda reference is a version resource, not the function.
      for (const ref of Object.values(refs)) expect(ref.Ref ?? '').toMatch(/LambdaVersion/);
      const definition = JSON.parse(
        text.replace(/\$\{(\w+)\}/g, (_, k) => `arn:aws:lambda:us-east-1:000000000000:function:${k}:1`),
      );
      const result = aslValidator(definition);
      expect(result.errorsText('\n')).toBe('');
      expect(result.isValid).toBe(true);
    }
  });

  type AslState = {
    Type: string;
    Comment?: string;
    Retry?: { ErrorEquals: string[] }[];
    ItemProcessor?: { States: Record<string, AslState> };
    Iterator?: { States: Record<string, AslState> };
    Branches?: { States: Record<string, AslState> }[];
  };
  /** The Task states of a definition, those inside Map and Parallel states included. */
  const taskStates = (states: Record<string, AslState>): [string, AslState][] =>
    Object.entries(states).flatMap(([name, s]) => [
      ...(s.Type === 'Task' ? [[name, s] as [string, AslState]] : []),
      ...[s.ItemProcessor, s.Iterator, ...(s.Branches ?? [])].flatMap((inner) =>
        inner ? taskStates(inner.States) : [],
      ),
    ]);

  /** The Tasks whose Lambda puts LinkApprovalRequested with a fresh event id (not retried on a timeout). */
  const SENDS_APPROVAL_REQUESTS: Record<string, string[]> = {
    'link-provisioning.asl.json': ['ApprovalDeadline'],
    'link-decommissioning.asl.json': ['Request', 'ApprovalDeadline'],
  };

  it('validates every ASL file with asl-validator', () => {
    const files = readdirSync('workflows/aws').filter((f) => f.endsWith('.asl.json'));
    expect(files.sort()).toEqual([
      'dr-failover.asl.json',
      'link-decommissioning.asl.json',
      'link-provisioning.asl.json',
      'vpn-half.asl.json',
      'vpn-run.asl.json',
    ]);
    for (const f of files) {
      const d = JSON.parse(
        resolveDefinition(
          `workflows/aws/${f}`,
          (fn) => `arn:aws:lambda:us-east-1:000000000000:function:${fn}`,
        ),
      );
      expect(aslValidator(d).isValid).toBe(true);
      // Every Task retries Lambda's transient errors and an invocation whose answer was lost (a
      // timeout, a crashed runtime, an unhandled error Lambda names no type for): its step is
      // idempotent (client tokens, claims, conditional writes), so a run again is harmless. The
      // steps that send approvers a LinkApprovalRequested with a new id each time retry only the
      // transient errors, and their Comment says why: a run again after a lost answer would ask
      // the approvers twice.
      for (const [name, s] of taskStates(d.States)) {
        const transient = [
          'Lambda.ServiceException',
          'Lambda.AWSLambdaException',
          'Lambda.SdkClientException',
          'Lambda.TooManyRequestsException',
        ];
        const lostAnswers = [
          'Lambda.ClientExecutionTimeoutException',
          'Sandbox.Timedout',
          'Runtime.ExitError',
          'Lambda.Unknown',
        ];
        const asks = SENDS_APPROVAL_REQUESTS[f]?.includes(name) ?? false;
        const first = s.Retry?.[0]?.ErrorEquals ?? [];
        expect(first, `${f} ${name}`).toEqual(
          expect.arrayContaining(asks ? transient : [...transient, ...lostAnswers]),
        );
        if (asks) {
          for (const t of lostAnswers) expect(first, `${f} ${name}`).not.toContain(t);
          expect(s.Comment, `${f} ${name}`).toMatch(/ask the approvers twice/);
        }
      }
    }
  });

  it('gives every rule target a retry policy and a dead-letter queue', () => {
    const rules = ofType('AWS::Events::Rule');
    expect(rules.length).toBeGreaterThanOrEqual(4);
    for (const [id, r] of rules) {
      // A target only under a condition is the Fn::If's first branch.
      for (const target of r.Properties.Targets) {
        const t = target['Fn::If'] ? target['Fn::If'][1] : target;
        expect(t.RetryPolicy, id).toBeDefined();
        expect(t.DeadLetterConfig?.Arn, id).toBeDefined();
      }
    }
    const forward = rules.find(([, r]) => r.Properties.EventBusName === 'default');
    expect(forward?.[1].Properties.EventPattern.source).toEqual(['aws.interconnect']);
  });

  it("starts executions from this side's LinkRequested and LinkDecommissionRequested through the starter", () => {
    const starter = resources.StarterRule;
    expect(starter?.Properties.EventBusName).toEqual({ Ref: 'CrosslinkBus' });
    expect(starter?.Properties.Targets[0].Arn).toEqual({ 'Fn::GetAtt': ['StarterLambdaFunction', 'Arn'] });
    const pattern = starter?.Properties.EventPattern;
    expect(pattern.$or.map((p: { 'detail-type': string[] }) => p['detail-type'][0]).sort()).toEqual([
      'LinkDecommissionRequested',
      'LinkRequested',
    ]);
    expect(resources.StarterPermission?.Properties.SourceArn).toEqual({
      'Fn::GetAtt': ['StarterRule', 'Arn'],
    });
  });

  it('starts the vpn-half state machine from every VPN command and Google’s drain reports, with a role that may start only it', () => {
    const rule = resources.VpnHalfRule;
    expect(rule?.Properties.EventBusName).toEqual({ Ref: 'CrosslinkBus' });
    // The same pattern test/workflows/vpn-half-aws.test.ts runs on the local bus.
    expect(rule?.Properties.EventPattern).toEqual({
      source: ['crosslink'],
      $or: [
        { 'detail-type': ['VpnDrainRequested', 'VpnUndrainRequested', 'VpnDeleteRequested'] },
        { 'detail-type': ['VpnDrained', 'VpnUndrained'], detail: { crosslinkorigin: ['gcp'] } },
      ],
    });
    const target = rule?.Properties.Targets[0];
    expect(target.Arn).toEqual({ Ref: 'VpnHalfStateMachine' });
    expect(target.RoleArn).toEqual({ 'Fn::GetAtt': ['VpnHalfRuleRole', 'Arn'] });
    const statements = resources.VpnHalfRuleRole?.Properties.Policies.flatMap(statementsOf);
    expect(statements).toEqual([
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: 'VpnHalfStateMachine' } },
    ]);
  });

  it("schedules the VPN run only where the policy's vpn.coordinator is aws, with a role that may start only it", () => {
    // The condition compares the coordinator config/policy-document.cjs read from the policy with aws.
    const coordinator = requireCjs('../../config/policy-document.cjs').vpnCoordinator('config/policy.yaml');
    expect(conditions.VpnRunCoordinatedHere).toEqual({ 'Fn::Equals': [coordinator, 'aws'] });
    const schedule = resources.VpnRunSchedule as Resource & { Condition?: string };
    expect(schedule?.Type).toBe('AWS::Scheduler::Schedule');
    expect(schedule?.Condition).toBe('VpnRunCoordinatedHere');
    expect((resources.VpnRunScheduleRole as Resource & { Condition?: string }).Condition).toBe(
      'VpnRunCoordinatedHere',
    );
    expect(schedule?.Properties.ScheduleExpressionTimezone).toBe('UTC');
    expect(schedule?.Properties.Target.Arn).toEqual({ Ref: 'VpnRunStateMachine' });
    expect(schedule?.Properties.Target.DeadLetterConfig).toBeDefined();
    // Every start of one firing names the same run: the scheduled time, not the start's; its
    // commands are requested by the schedule's role.
    const [input, vars] = [schedule?.Properties.Target.Input['Fn::Sub']].flat();
    expect(vars).toBeUndefined();
    expect(JSON.parse(input)).toEqual({
      scheduledAt: '<aws.scheduler.scheduled-time>',
      trigger: 'schedule',
      apply: true,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub placeholder, as written.
      requestedBy: '${VpnRunScheduleRole.Arn}',
    });
    const role = resources.VpnRunScheduleRole?.Properties;
    expect(role.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({
      Service: 'scheduler.amazonaws.com',
    });
    expect(role.Policies.flatMap(statementsOf).map((st: Statement) => [st.Action, st.Resource])).toEqual([
      ['states:StartExecution', { Ref: 'VpnRunStateMachine' }],
      ['sqs:SendMessage', { 'Fn::GetAtt': ['StarterDlq', 'Arn'] }],
    ]);
  });

  it("names Google as coordinator and the schedule's condition turns false", () => {
    const dir = mkdtempSync(join(tmpdir(), 'crosslink-policy-'));
    const file = join(dir, 'policy.yaml');
    const doc = parseYaml(readFileSync('config/policy.yaml', 'utf8'));
    writeFileSync(file, stringifyYaml({ ...doc, vpn: { ...doc.vpn, coordinator: 'gcp' } }));
    expect(requireCjs('../../config/policy-document.cjs').vpnCoordinator(file)).toBe('gcp');
  });

  it("hands a link's LinkStateChanged to DEGRADED or DOWN and the halves' results to vpnRunEvents", () => {
    const rule = resources.VpnRunEventsRule;
    expect(rule?.Properties.EventBusName).toEqual({ Ref: 'CrosslinkBus' });
    expect(rule?.Properties.EventPattern).toEqual({
      source: ['crosslink'],
      $or: [
        { 'detail-type': ['LinkStateChanged'], detail: { data: { to: ['DEGRADED', 'DOWN'] } } },
        { 'detail-type': ['VpnDrained', 'VpnUndrained', 'VpnHalfDeleted'] },
      ],
    });
    expect(rule?.Properties.Targets[0].Arn).toEqual({ 'Fn::GetAtt': ['VpnRunEventsLambdaFunction', 'Arn'] });
    expect(resources.VpnRunEventsPermission?.Properties.SourceArn).toEqual({
      'Fn::GetAtt': ['VpnRunEventsRule', 'Arn'],
    });
  });

  it("drives vpnRunEvents from the watcher's minute schedule where AWS coordinates: the drained VPNs' traffic checked, CloudWatch read", () => {
    const targets = resources.WatcherSchedule?.Properties.Targets;
    expect(targets[0].Arn).toEqual({ 'Fn::GetAtt': ['WatcherLambdaFunction', 'Arn'] });
    expect(targets[1]).toEqual({
      'Fn::If': [
        'VpnRunCoordinatedHere',
        {
          Id: 'vpn-traffic',
          Arn: { 'Fn::GetAtt': ['VpnRunEventsLambdaFunction', 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['WatcherDlq', 'Arn'] } },
        },
        { Ref: 'AWS::NoValue' },
      ],
    });
    expect(resources.WatcherSchedule?.Properties.ScheduleExpression).toBe('rate(1 minute)');
    const permission = resources.VpnTrafficSchedulePermission;
    expect(permission?.Condition).toBe('VpnRunCoordinatedHere');
    expect(permission?.Properties).toMatchObject({
      FunctionName: { 'Fn::GetAtt': ['VpnRunEventsLambdaFunction', 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': ['WatcherSchedule', 'Arn'] },
    });
    const statements = resources.VpnRunEventsRole?.Properties.Policies.flatMap(
      (p: { PolicyDocument: { Statement: unknown[] } }) => p.PolicyDocument.Statement,
    );
    expect(statements).toContainEqual({ Effect: 'Allow', Action: 'cloudwatch:GetMetricData', Resource: '*' });
  });

  it('grants Resource "*" only for actions without a resource type, and no wildcard actions', () => {
    for (const [id, role] of ofType('AWS::IAM::Role')) {
      for (const policy of role.Properties.Policies ?? []) {
        for (const st of statementsOf(policy)) {
          const actions: string[] = [st.Action].flat();
          for (const a of actions) expect(a, id).not.toMatch(/\*$/);
          // A Deny on "*" grants nothing (the DR executor's Deny of safety-rule overrides).
          if (st.Resource === '*' && st.Effect === 'Allow')
            for (const a of actions) expect(grantedOnStar(a), `${id} ${a}`).toBe(true);
        }
      }
    }
  });

  it("names every AWS region of the policy wherever a statement names an Interconnect connection: a link's half lives in its own region", () => {
    const policy = parseYaml(readFileSync('config/policy.yaml', 'utf8')) as {
      regionPairs: { aws: string }[];
    };
    const regions = [...new Set(policy.regionPairs.map((p) => p.aws))].sort();
    const wanted = regions.map((r) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:interconnect:${r}:\${AWS::AccountId}:connection/*`,
    }));
    let statements = 0;
    for (const [id, role] of ofType('AWS::IAM::Role')) {
      for (const policyDoc of role.Properties.Policies ?? []) {
        for (const st of policyDoc.PolicyDocument.Statement) {
          // A conditional statement (`Fn::If`, sts:AssumeRole) names no connection.
          const named = JSON.stringify(st.Resource ?? null).includes(':connection/');
          if (!named) continue;
          statements++;
          expect(st.Resource, id).toEqual(wanted);
        }
      }
    }
    // The watcher, the steps that read, create, accept or delete, and the decommissioning ones.
    expect(statements).toBeGreaterThanOrEqual(7);
    // The steps that discover the pair's environment may list environments (no resource type).
    for (const role of ['StepRequestRole', 'StepActivateInitiateRole']) {
      const actions = (resources[role]?.Properties.Policies ?? []).flatMap(
        (p: { PolicyDocument: { Statement: { Action: string | string[] }[] } }) =>
          p.PolicyDocument.Statement.flatMap((st) => [st.Action].flat()),
      );
      expect(actions, role).toContain('interconnect:ListEnvironments');
    }
  });

  it('has the table, the KMS key for sealed keys, the bus with its policy, and alarms on the automation', () => {
    expect(ofType('AWS::DynamoDB::Table')).toHaveLength(1);
    expect(ofType('AWS::KMS::Key')[0]?.[1].Properties).toMatchObject({
      KeySpec: 'RSA_2048',
      KeyUsage: 'ENCRYPT_DECRYPT',
    });
    expect(
      ofType('AWS::Events::EventBusPolicy')
        .map(([id]) => id)
        .sort(),
    ).toEqual(['CrosslinkBusDenyOthers', 'CrosslinkBusPolicy', 'NetworkAccountsForwardPolicy']);
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([id]) => id);
    expect(alarms).toEqual(
      expect.arrayContaining([
        'PeerEventsDlqAlarm',
        'ProvisioningFailedAlarm',
        'DecommissioningFailedAlarm',
        'WatcherStaleAlarm',
        'ApprovalsWaitingAlarm',
        'ApprovalEscalationsAlarm',
      ]),
    );
  });

  it('alarms on approvals waiting with the metrics the approval deadlines publish', () => {
    const source = readFileSync('functions/aws/approval-metrics.ts', 'utf8');
    for (const id of ['ApprovalsWaitingAlarm', 'ApprovalEscalationsAlarm', 'OrphanedHalvesAlarm']) {
      const p = resources[id]?.Properties;
      expect(p.Namespace).toBe(NAMESPACE);
      expect(p.Dimensions).toEqual([{ Name: 'service', Value: SERVICE }]);
      expect(source).toContain(`'${p.MetricName}'`);
    }
  });

  it("alarms when the DR vantage points go silent or Google's lines stop arriving, on the count drSignals publishes", () => {
    const source = readFileSync('functions/aws/dr-signals.ts', 'utf8');
    for (const [id, origin, condition] of [
      ['DrProbeSilentAlarm', 'aws', 'DrProbeHere'],
      ['DrPeerSignalsStaleAlarm', 'gcp', 'HasDrPlan'],
    ] as const) {
      const alarm = resources[id];
      expect(alarm?.Condition).toBe(condition);
      expect(alarm?.Properties).toMatchObject({
        Namespace: NAMESPACE,
        MetricName: 'DrSignalsRecorded',
        Dimensions: [
          { Name: 'service', Value: SERVICE },
          { Name: 'origin', Value: origin },
        ],
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
      // No plan packaged: the default staleAfter (5 m).
      expect(alarm?.Properties.Period).toBe(300);
    }
    expect(source).toContain("'DrSignalsRecorded'");
    expect(source).toContain("m.addDimension('origin'");
    // The schedule and the bus rule exist only where a plan is deployed; the schedule runs only in
    // the AWS vantage point's region.
    expect(resources.DrProbeSchedule?.Condition).toBe('HasDrPlan');
    expect(resources.DrProbeSchedule?.Properties.State).toEqual({
      'Fn::If': ['DrProbeHere', 'ENABLED', 'DISABLED'],
    });
    expect(resources.DrSignalsRule?.Condition).toBe('HasDrPlan');
  });

  it("deploys the DR executor: its state machine started by drSignals, the commanded sides' results to drExecutor, its role able to flip ARC but never past a safety rule, invoking no hook", () => {
    const statements = (role: string) =>
      (
        (resources[role]?.Properties.Policies ?? []) as { PolicyDocument: { Statement: unknown[] } }[]
      ).flatMap(statementsOf);
    const executor = statements('DrExecutorRole');
    expect(executor).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Action: [
          'route53-recovery-cluster:UpdateRoutingControlStates',
          'route53-recovery-cluster:GetRoutingControlState',
        ],
      }),
    );
    expect(executor).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Resource: '*',
        Condition: { Bool: { 'route53-recovery-cluster:AllowSafetyRulesOverrides': 'true' } },
      }),
    );
    // No hook on AWS to invoke, plan or none: drCommanded invokes them.
    expect(JSON.stringify(executor)).not.toContain('lambda:');
    expect(
      ((resources.DrExecutorRole?.Properties.Policies ?? []) as { PolicyName: string }[]).map(
        (p) => p.PolicyName,
      ),
    ).toEqual(['drExecutor', 'drExecutorArc']);
    // Its store only: the DREXEC# items of the links table.
    expect(executor).toContainEqual(
      expect.objectContaining({
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['DREXEC#*'] } },
      }),
    );
    expect(statements('DrSignalsRole')).toContainEqual(
      expect.objectContaining({
        Action: 'states:StartExecution',
        Resource: { Ref: 'DrFailoverStateMachine' },
      }),
    );
    const invoked = JSON.stringify(statements('StatesRole'));
    expect(invoked).toContain('-drExecutor');
    // Only where AWS executes the plan: where Google does, Google's DrActionFinished are its own run's.
    // Google's results, and drCommanded's (reportedBy: commanded); never the executor's own record.
    expect(resources.DrExecutorRule?.Condition).toBe('AwsExecutesDrPlan');
    expect(resources.DrExecutorPermission?.Condition).toBe('AwsExecutesDrPlan');
    expect(conditions.AwsExecutesDrPlan).toEqual({
      'Fn::And': [{ Condition: 'HasDrPlan' }, { 'Fn::Equals': ['', 'aws'] }],
    });
    expect(resources.DrExecutorRule?.Properties.EventPattern).toEqual({
      source: ['crosslink'],
      'detail-type': ['DrActionFinished'],
      detail: {
        $or: [
          { crosslinkorigin: ['gcp'] },
          { crosslinkorigin: ['aws'], data: { reportedBy: ['commanded'], action: { cloud: ['aws'] } } },
        ],
      },
    });
    expect(resources.DrExecutorPagedAlarm?.Properties).toMatchObject({
      Namespace: NAMESPACE,
      MetricName: 'DrExecutorPages',
      AlarmActions: [{ Ref: 'AlarmTopic' }],
    });
    expect(readFileSync('functions/aws/handlers/dr-executor.ts', 'utf8')).toContain("'DrExecutorPages'");
  });

  it("deploys AWS's commanded side: Google's relayed commands and AWS's own executor's commanded hooks to drCommanded, its role the fence's items, the bus and no hook without a plan", () => {
    const statements = (
      (resources.DrCommandedRole?.Properties.Policies ?? []) as { PolicyDocument: { Statement: unknown[] } }[]
    ).flatMap(statementsOf);
    expect(resources.DrCommandedRule?.Condition).toBe('HasDrPlan');
    expect(resources.DrCommandedRule?.Properties.EventPattern).toEqual({
      source: ['crosslink'],
      'detail-type': ['DrActionStarted'],
      detail: {
        $or: [
          { crosslinkorigin: ['gcp'], data: { via: ['relay'], action: { cloud: ['aws'] } } },
          { crosslinkorigin: ['aws'], data: { via: ['commanded'], action: { cloud: ['aws'] } } },
        ],
      },
    });
    expect(JSON.stringify(resources.DrCommandedRule?.Properties.Targets)).toContain(
      'DrCommandedLambdaFunction',
    );
    expect(
      statements.map((st) => [st.Effect, st.Action, (st as { Condition?: unknown }).Condition ?? null]),
    ).toEqual([
      ['Allow', ['logs:CreateLogStream', 'logs:PutLogEvents'], null],
      [
        'Allow',
        ['dynamodb:GetItem', 'dynamodb:PutItem'],
        { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['DRFENCE#*'] } },
      ],
      ['Allow', 'events:PutEvents', null],
      // No plan packaged: no hook to invoke.
      ['Deny', 'lambda:InvokeFunction', null],
    ]);
    expect(JSON.stringify(resources.CrosslinkBusPolicy?.Properties.Statement)).toContain('DrCommandedRole');
  });

  it('grants each role what its step calls: Direct Connect to verify, KMS to accept, the key to initiate', () => {
    const actionsOf = (role: string): string[] =>
      resources[role]?.Properties.Policies.flatMap((p: { PolicyDocument: { Statement: unknown[] } }) =>
        statementsOf(p).flatMap((st) => [st.Action].flat()),
      );
    expect(actionsOf('StepVerifyPrefixesRole')).toEqual(
      expect.arrayContaining([
        'directconnect:DescribeDirectConnectGatewayAssociations',
        'directconnect:UpdateDirectConnectGatewayAssociation',
      ]),
    );
    // Report only reads the link, but flushing its outbox puts the events and writes the record without them.
    expect(
      actionsOf('StepReportRole')
        .filter((a) => !a.startsWith('logs:'))
        .sort(),
    ).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'events:PutEvents']);
    // The starter reads the record (the decommission attempt names the execution), raises the
    // attempt past a run that ended (DescribeExecution, a conditional put), and dead-letters.
    expect(
      actionsOf('StarterRole')
        .filter((a) => !a.startsWith('logs:'))
        .sort(),
    ).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'sqs:SendMessage',
      'states:DescribeExecution',
      'states:StartExecution',
    ]);
    expect(actionsOf('StepActivateAcceptRole')).toContain('kms:Decrypt');
    for (const [id] of ofType('AWS::IAM::Role')) {
      const actions = actionsOf(id);
      if (actions.includes('kms:Decrypt')) expect(id).toBe('StepActivateAcceptRole');
      if (actions.includes('secretsmanager:GetSecretValue')) expect(id).toBe('StepActivateInitiateRole');
    }
  });

  it('denies crosslink-source events to every principal but the roles its Allow lists', () => {
    const allow = resources.CrosslinkBusPolicy?.Properties.Statement;
    const deny = resources.CrosslinkBusDenyOthers?.Properties.Statement;
    expect(deny).toMatchObject({ Effect: 'Deny', Principal: '*', Action: 'events:PutEvents' });
    expect(deny.Condition.StringEquals).toEqual({ 'events:source': 'crosslink' });
    // The same list: a role allowed to put is never denied, and nobody else gets through.
    expect(deny.Condition.ArnNotLike['aws:PrincipalArn']).toEqual(
      allow.Condition.ArnLike['aws:PrincipalArn'],
    );
    expect(deny.Condition.ArnNotLike['aws:PrincipalArn'].length).toBeGreaterThan(5);
  });

  it('routes POST /relay/google through a Google JWT authorizer to relayFromGoogle, whose role the bus admits', () => {
    const [[, route]] = ofType('AWS::ApiGatewayV2::Route').filter(
      ([, r]) => r.Properties.RouteKey === 'POST /relay/google',
    ) as [[string, Resource]];
    expect(route.Properties.AuthorizationType).toBe('JWT');
    const authorizer = resources[route.Properties.AuthorizerId.Ref]?.Properties;
    expect(authorizer.AuthorizerType).toBe('JWT');
    expect(authorizer.IdentitySource).toEqual(['$request.header.Authorization']);
    expect(authorizer.JwtConfiguration).toEqual({
      Issuer: 'https://accounts.google.com',
      Audience: ['crosslink-aws-relay'],
    });
    const integration = resources[String(route.Properties.Target['Fn::Join'][1][1].Ref)]?.Properties;
    expect(JSON.stringify(integration.IntegrationUri)).toContain('RelayFromGoogleLambdaFunction');
    // Its role name matches the bus policy's crosslink-relay-* pattern (the only way a relay puts).
    const pattern = resources.CrosslinkBusPolicy?.Properties.Statement.Condition.ArnLike['aws:PrincipalArn']
      .map((p: { 'Fn::Sub'?: string }) => p['Fn::Sub'])
      .find((p: string | undefined) => p?.includes('crosslink-relay-')) as string;
    const roleName = resources.RelayFromGoogleRole?.Properties.RoleName as string;
    const re = new RegExp(
      `^${pattern
        .replace(/\$\{AWS::Partition\}/, 'aws')
        .replace(/\$\{AWS::AccountId\}/, '111122223333')
        .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
        .replaceAll('*', '.*')}$`,
    );
    expect(roleName).toBe('crosslink-relay-from-google-dev');
    expect(re.test(`arn:aws:iam::111122223333:role/${roleName}`)).toBe(true);
    // Least privilege: its log group, the table's relay#<id> items, PutEvents on the bus. Nothing else.
    const statements = resources.RelayFromGoogleRole?.Properties.Policies[0].PolicyDocument.Statement;
    expect(statements.flatMap((st: { Action: unknown }) => [st.Action].flat()).sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'events:PutEvents',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
    const table = statements.find((st: { Action: unknown }) =>
      [st.Action].flat().includes('dynamodb:PutItem'),
    );
    expect(table.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['relay#*'] } });
    const bus = statements.find((st: { Action: unknown }) => st.Action === 'events:PutEvents');
    expect(bus.Resource).toEqual({ 'Fn::GetAtt': ['CrosslinkBus', 'Arn'] });
  });

  it('alarms on the relay refusals the handler counts', () => {
    const source = readFileSync('functions/aws/relay-inbound.ts', 'utf8');
    const metrics = resources.RelayRefusedAlarm?.Properties.Metrics.filter(
      (m: { MetricStat?: unknown }) => m.MetricStat,
    );
    expect(
      metrics.map((m: { MetricStat: { Metric: { MetricName: string } } }) => m.MetricStat.Metric.MetricName),
    ).toEqual(['RelayRefusedAccount', 'RelayPoison']);
    for (const m of metrics) {
      expect(m.MetricStat.Metric.Namespace).toBe(NAMESPACE);
      expect(m.MetricStat.Metric.Dimensions).toEqual([{ Name: 'service', Value: SERVICE }]);
      expect(source).toContain(`'${m.MetricStat.Metric.MetricName}'`);
    }
  });

  it('runs the watcher one at a time: reserved concurrency 1, so a run that comes while one runs is throttled', () => {
    expect(resources.WatcherLambdaFunction?.Properties.ReservedConcurrentExecutions).toBe(1);
  });

  it('drops a watcher run that cannot start within a minute, without dead-lettering it: the next run does its work', () => {
    const [, config] = ofType('AWS::Lambda::EventInvokeConfig').find(
      ([, r]) => r.Properties.FunctionName.Ref === 'WatcherLambdaFunction',
    ) as [string, { Properties: Record<string, unknown> }];
    expect(config.Properties).toMatchObject({ MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 });
    expect(config.Properties.DestinationConfig).toBeUndefined();
    const grants = resources.WatcherRole?.Properties.Policies.flatMap(
      (p: { PolicyDocument: { Statement: { Action: unknown }[] } }) => p.PolicyDocument.Statement,
    );
    expect(grants.flatMap((g: { Action: unknown }) => [g.Action].flat())).not.toContain('sqs:SendMessage');
  });

  it('sends events its asynchronously invoked consumers failed on to their DLQs, with a role that may', () => {
    const configs = Object.fromEntries(
      ofType('AWS::Lambda::EventInvokeConfig').map(([, r]) => [r.Properties.FunctionName.Ref, r.Properties]),
    );
    for (const [fn, dlq, role] of [['StarterLambdaFunction', 'StarterDlq', 'StarterRole']] as const) {
      expect(configs[fn]?.DestinationConfig.OnFailure.Destination, fn).toEqual({
        'Fn::GetAtt': [dlq, 'Arn'],
      });
      const grants = resources[role]?.Properties.Policies.flatMap(
        (p: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } }) =>
          p.PolicyDocument.Statement,
      );
      expect(grants, role).toContainEqual({
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': [dlq, 'Arn'] },
      });
    }
  });

  it("reads the peer's events through a queue: an early event is retried for an hour, then dead-lettered", () => {
    const rule = resources.PeerEventsRule?.Properties;
    expect(rule.EventPattern).toEqual({ source: ['crosslink'], detail: { crosslinkorigin: ['gcp'] } });
    expect(rule.Targets[0].Arn).toEqual({ 'Fn::GetAtt': ['PeerEventsQueue', 'Arn'] });
    expect(rule.Targets[0].DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': ['PeerEventsDlq', 'Arn'] });
    const queue = resources.PeerEventsQueue?.Properties;
    const fn = resources.PeerEventsLambdaFunction?.Properties;
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Timeout);
    // Beyond the dedupe lease, so a retried record never meets its own earlier delivery's claim.
    expect(queue.VisibilityTimeout * 1000).toBeGreaterThan(PEER_EVENT_LEASE_MS);
    expect(queue.RedrivePolicy.deadLetterTargetArn).toEqual({ 'Fn::GetAtt': ['PeerEventsDlq', 'Arn'] });
    // Lambda's async retries gave an event that came before its link's request 3 minutes.
    expect(queue.VisibilityTimeout * queue.RedrivePolicy.maxReceiveCount).toBeGreaterThanOrEqual(3600);
    const [, mapping] = ofType('AWS::Lambda::EventSourceMapping').find(
      ([, m]) => m.Properties.FunctionName['Fn::GetAtt']?.[0] === 'PeerEventsLambdaFunction',
    ) ?? [undefined, undefined];
    expect(mapping?.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['PeerEventsQueue', 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const policy = resources.PeerEventsQueuePolicy?.Properties.PolicyDocument.Statement[0];
    expect(policy.Condition).toEqual({
      ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['PeerEventsRule', 'Arn'] } },
    });
    expect(
      ofType('AWS::Lambda::EventInvokeConfig').map(([, r]) => r.Properties.FunctionName.Ref),
    ).not.toContain('PeerEventsLambdaFunction');
  });

  it("relays this side's own events to Google: rule -> queue (redrive to a DLQ) -> relayToGoogle with partial batch failures", () => {
    const rule = resources.RelayRule?.Properties;
    expect(rule.EventBusName).toEqual({ Ref: 'CrosslinkBus' });
    expect(rule.EventPattern).toEqual({ source: ['crosslink'], detail: { crosslinkorigin: ['aws'] } });
    expect(rule.Targets[0].Arn).toEqual({ 'Fn::GetAtt': ['RelayQueue', 'Arn'] });
    const queue = resources.RelayQueue?.Properties;
    const dlq = resources.RelayDlq?.Properties;
    expect(queue.QueueName).toBe('crosslink-relay-dev');
    expect(dlq.QueueName).toBe('crosslink-relay-dlq-dev');
    const fn = resources.RelayToGoogleLambdaFunction?.Properties;
    // SQS keeps a batch invisible while the function runs: at least 6x its timeout (AWS's advice).
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Timeout);
    const maxReceives = queue.RedrivePolicy.maxReceiveCount;
    expect(queue.RedrivePolicy.deadLetterTargetArn).toEqual({ 'Fn::GetAtt': ['RelayDlq', 'Arn'] });
    expect(maxReceives).toBeGreaterThanOrEqual(2);
    expect(maxReceives).toBeLessThanOrEqual(10);
    // The relay dead-letters a failing record itself on the queue's last receive, with its reason.
    expect(fn.Environment.Variables.CROSSLINK_RELAY_MAX_RECEIVES).toBe(String(maxReceives));
    expect(fn.Environment.Variables.CROSSLINK_RELAY_DLQ_URL).toEqual({ Ref: 'RelayDlq' });
    const [, mapping] = ofType('AWS::Lambda::EventSourceMapping').find(
      ([, m]) => m.Properties.FunctionName['Fn::GetAtt']?.[0] === 'RelayToGoogleLambdaFunction',
    ) ?? [undefined, undefined];
    expect(mapping?.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['RelayQueue', 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(mapping?.Properties.BatchSize).toBeGreaterThan(1);
    // Only the rule may send to the queue (and its DLQ, for deliveries that failed).
    const policy = resources.RelayQueuePolicy?.Properties.PolicyDocument.Statement[0];
    expect(policy.Principal).toEqual({ Service: 'events.amazonaws.com' });
    expect(policy.Condition).toEqual({
      ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['RelayRule', 'Arn'] } },
    });
    expect(ofType('AWS::CloudWatch::Alarm').map(([id]) => id)).toContain('RelayDlqAlarm');
  });

  it('gives the relay a role of its own: its queue, its DLQ and its log group, nothing else', () => {
    const role = resources.RelayToGoogleRole?.Properties;
    expect(role.RoleName).toBe('crosslink-relay-to-google-dev');
    const statements = role.Policies.flatMap(
      (p: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } }) =>
        p.PolicyDocument.Statement,
    );
    const grants = statements.map((st: { Action: unknown; Resource: unknown }) => ({
      actions: [st.Action].flat().sort(),
      resource: st.Resource,
    }));
    expect(grants.slice(1)).toEqual([
      {
        actions: [
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:ReceiveMessage',
        ],
        resource: { 'Fn::GetAtt': ['RelayQueue', 'Arn'] },
      },
      { actions: ['sqs:SendMessage'], resource: { 'Fn::GetAtt': ['RelayDlq', 'Arn'] } },
    ]);
    expect(grants[0].actions).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    // No stored Google key: its Google identity comes from workload identity federation.
    const env = resources.RelayToGoogleLambdaFunction?.Properties.Environment.Variables;
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining([
        'CROSSLINK_GCP_PROJECT',
        'CROSSLINK_GCP_PEER_TOPIC',
        'CROSSLINK_GCP_EXTERNAL_ACCOUNT',
      ]),
    );
    expect(Object.keys(env).some((k) => /GOOGLE_APPLICATION_CREDENTIALS|PRIVATE_KEY/.test(k))).toBe(false);
  });

  it('admits the network accounts only for aws.interconnect events when CROSSLINK_NETWORK_ACCOUNTS is set', () => {
    const policy = resources.NetworkAccountsForwardPolicy as Resource & { Condition?: string };
    expect(policy?.Condition).toBe('HasNetworkAccounts');
    expect(policy.Properties.Statement.Condition.StringEquals).toEqual({
      'events:source': 'aws.interconnect',
    });
  });
});

describe('serverless.yml packaged: least privilege', () => {
  // A rule conditional on its own (`Fn::If [<condition>, !GetAtt <rule>.Arn, AWS::NoValue]`) names that rule.
  const idOf = (x: unknown): string => {
    const v = x as { 'Fn::GetAtt'?: string[]; 'Fn::If'?: unknown[] };
    return v?.['Fn::If'] ? idOf(v['Fn::If'][1]) : (v?.['Fn::GetAtt']?.[0] as string);
  };

  it('lets EventBridge send to a queue only for the rules that target it or dead-letter to it (aws:SourceArn)', () => {
    const senders = new Map<string, string[]>();
    for (const [rule, r] of ofType('AWS::Events::Rule'))
      for (const t of r.Properties.Targets)
        for (const q of [idOf(t.Arn), idOf(t.DeadLetterConfig?.Arn)])
          if (resources[q]?.Type === 'AWS::SQS::Queue')
            senders.set(q, [...new Set([...(senders.get(q) ?? []), rule])]);
    expect([...senders.keys()].sort()).toEqual([
      'DrSignalsDlq',
      'ForwardDlq',
      'PeerEventsDlq',
      'PeerEventsQueue',
      'RelayDlq',
      'RelayQueue',
      'StarterDlq',
      'WatcherDlq',
    ]);
    const allowed = new Map<string, string[]>();
    for (const [id, policy] of ofType('AWS::SQS::QueuePolicy'))
      for (const st of policy.Properties.PolicyDocument.Statement) {
        expect(st.Principal, id).toEqual({ Service: 'events.amazonaws.com' });
        const rules = [st.Condition?.ArnEquals?.['aws:SourceArn'] ?? []].flat().map(idOf);
        expect(rules.length, `${id} names the rules that may send`).toBeGreaterThan(0);
        for (const q of [st.Resource].flat().map(idOf)) allowed.set(q, [...(allowed.get(q) ?? []), ...rules]);
      }
    for (const [q, rules] of senders) expect(allowed.get(q)?.sort(), q).toEqual(rules.sort());
    expect([...allowed.keys()].sort()).toEqual([...senders.keys()].sort());
  });

  it('lets no role assume roles by wildcard: sts:AssumeRole only when network accounts are configured, on their roles', () => {
    // No CROSSLINK_ACCOUNT_ROLES in this package: the condition is false and the grants name no role.
    expect(conditions.HasAccountRoles).toEqual({ 'Fn::Equals': ['false', 'true'] });
    let grants = 0;
    for (const [id, role] of ofType('AWS::IAM::Role'))
      for (const policy of role.Properties.Policies ?? [])
        for (const st of policy.PolicyDocument.Statement) {
          const branch = st['Fn::If'];
          const inner = branch ? branch[1] : st;
          if (![inner.Action].flat().includes('sts:AssumeRole')) continue;
          grants++;
          expect(branch?.[0], id).toBe('HasAccountRoles');
          expect(branch?.[2], id).toEqual({ Ref: 'AWS::NoValue' });
          expect(inner.Resource, id).toEqual([]);
        }
    // The steps that call Interconnect or Direct Connect in a network account, and the watcher
    // (test/contract/iam-grants.test.ts checks the grants against the code and against a package
    // with roles configured). Not the VPN run's nor the VPN inventory's: the inventory reads its own
    // account, and the run reads its links' gateways from that inventory.
    expect(grants).toBe(9);
  });

  it('names the state machines with the stage, and so every ARN that names one', () => {
    const names = ofType('AWS::StepFunctions::StateMachine')
      .map(([, m]) => m.Properties.StateMachineName)
      .sort();
    expect(names).toEqual([
      'crosslink-dr-failover-dev',
      'crosslink-link-decommissioning-dev',
      'crosslink-link-provisioning-dev',
      'crosslink-vpn-half-dev',
      'crosslink-vpn-run-dev',
    ]);
    const named = [...JSON.stringify(resources).matchAll(/:(?:stateMachine|execution):([\w-]+)/g)].map(
      (m) => m[1],
    );
    expect(named.length).toBeGreaterThan(10);
    for (const n of named) expect(names).toContain(n);
    const env = resources.IntakeLambdaFunction?.Properties.Environment.Variables;
    expect(env.CROSSLINK_PROVISIONING_ARN['Fn::Sub']).toMatch(
      /:stateMachine:crosslink-link-provisioning-dev$/,
    );
    expect(env.CROSSLINK_DECOMMISSIONING_ARN['Fn::Sub']).toMatch(
      /:stateMachine:crosslink-link-decommissioning-dev$/,
    );
  });
});

describe('stacks/network-account-forwarder.yml (offline)', () => {
  // biome-ignore lint/suspicious/noExplicitAny: CloudFormation is read ad hoc.
  const template: any = parseYaml(readFileSync('stacks/network-account-forwarder.yml', 'utf8'), {
    customTags: [...CFN_TAGS, ...CFN_SEQ_TAGS],
  });
  const res = template.Resources as Record<string, Resource>;

  it('refers only to its own parameters, resources and pseudo parameters', () => {
    const known = new Set([
      ...Object.keys(template.Parameters),
      ...Object.keys(res),
      'AWS::AccountId',
      'AWS::Partition',
      'AWS::Region',
    ]);
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) {
        for (const x of v) walk(x);
        return;
      }
      if (!v || typeof v !== 'object') return;
      const o = v as Record<string, unknown>;
      if (typeof o.Ref === 'string') expect(known, o.Ref).toContain(o.Ref);
      if (Array.isArray(o['Fn::GetAtt'])) expect(known).toContain(o['Fn::GetAtt'][0]);
      if (typeof o['Fn::Sub'] === 'string')
        for (const [, name] of o['Fn::Sub'].matchAll(/\$\{([\w:]+)(?:\.\w+)?\}/g))
          expect(known, name).toContain(name);
      for (const x of Object.values(o)) walk(x);
    };
    walk(res);
    expect(template.AWSTemplateFormatVersion).toBe('2010-09-09');
    expect(
      new RegExp(template.Parameters.HubBusArn.AllowedPattern).test(
        'arn:aws:events:us-east-1:111122223333:event-bus/crosslink-dev',
      ),
    ).toBe(true);
  });

  it("forwards the default bus's CloudTrail interconnect calls to the hub bus, with retries, a DLQ and its own role", () => {
    const [rule] = Object.values(res).filter((r) => r.Type === 'AWS::Events::Rule');
    expect(rule?.Properties.EventBusName).toBe('default');
    expect(rule?.Properties.EventPattern.source).toEqual(['aws.interconnect']);
    const [target] = rule?.Properties.Targets ?? [];
    expect(target.Arn).toEqual({ Ref: 'HubBusArn' });
    expect(target.RetryPolicy).toBeDefined();
    expect(target.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': ['ForwardDlq', 'Arn'] });
    const role = res[target.RoleArn['Fn::GetAtt'][0]];
    expect(role?.Properties.Policies).toEqual([
      {
        PolicyName: 'put-to-hub-bus',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: { Ref: 'HubBusArn' } }],
        },
      },
    ]);
  });

  it("names its role so that the hub's bus policy admits it, for the source it forwards", () => {
    const hub = resources.NetworkAccountsForwardPolicy?.Properties.Statement;
    const pattern = hub.Condition.ArnLike['aws:PrincipalArn'] as string;
    const roleName = String(res.ForwardRole?.Properties.RoleName['Fn::Sub']).replace(/\$\{Stage\}/, 'dev');
    const re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`);
    expect(re.test(`arn:aws:iam::111122223333:role/${roleName}`)).toBe(true);
    const [rule] = Object.values(res).filter((r) => r.Type === 'AWS::Events::Rule');
    expect(rule?.Properties.EventPattern.source).toEqual([hub.Condition.StringEquals['events:source']]);
  });
});
