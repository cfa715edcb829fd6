/**
 * serverless.yml, packaged offline with no AWS credentials (`osls package`), read as CloudFormation:
 * every function, both state machines on exact Lambda versions, rules with DLQs and retry policies,
 * least-privilege IAM; and asl-validator on every ASL file, as written and as packaged.
 */
import { readdirSync, readFileSync } from 'node:fs';
// @ts-expect-error asl-validator ships no types
import aslValidatorModule from 'asl-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { packageService } from '#local/aws/wiring.ts';
import { AWS_HALF_INPUTS } from '#local/aws-half.ts';
import { resolveDefinition } from '../support/aws-half.ts';

type Validator = (d: unknown) => { isValid: boolean; errorsText: (sep?: string) => string };
const aslValidator: Validator = aslValidatorModule.default ?? aslValidatorModule;

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation is read ad hoc.
type Resource = { Type: string; Properties: any };
let resources: Record<string, Resource>;

/** Resource "*" is allowed only for these actions: they have no resource type. */
const NO_RESOURCE_TYPE = new Set([
  'interconnect:CreateConnection',
  'interconnect:AcceptConnectionProposal',
  'interconnect:DescribeConnectionProposal',
  'interconnect:ListConnections',
  'interconnect:GetEnvironment',
  'states:SendTaskSuccess',
  'states:SendTaskFailure',
]);

beforeAll(async () => {
  // The same inputs as npm start and the e2e test, under the same lock: parallel files never race.
  const { templateFile } = await packageService('.', { inputs: AWS_HALF_INPUTS });
  resources = JSON.parse(readFileSync(templateFile, 'utf8')).Resources;
}, 180_000);

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe('serverless.yml packaged', () => {
  it('has a Lambda function on nodejs24.x for every function, each with its own role', () => {
    const declared = Object.keys(
      parseYaml(readFileSync('serverless.yml', 'utf8'), {
        logLevel: 'silent',
        customTags: [
          { tag: '!Ref', resolve: (v: string) => v },
          { tag: '!GetAtt', resolve: (v: string) => v },
          { tag: '!Sub', resolve: (v: string) => v },
        ],
      }).functions,
    );
    const fns = ofType('AWS::Lambda::Function');
    expect(fns).toHaveLength(declared.length);
    for (const [, fn] of fns) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.Role['Fn::GetAtt']?.[0]).toMatch(/^(IntakeRole|StepsRole)$/);
    }
  });

  it('has both state machines, on exact Lambda versions, with valid ASL', () => {
    const machines = ofType('AWS::StepFunctions::StateMachine');
    expect(machines.map(([id]) => id).sort()).toEqual([
      'LinkDecommissioningStateMachine',
      'LinkProvisioningStateMachine',
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

  it('validates every ASL file with asl-validator', () => {
    const files = readdirSync('workflows/aws').filter((f) => f.endsWith('.asl.json'));
    expect(files.sort()).toEqual(['link-decommissioning.asl.json', 'link-provisioning.asl.json']);
    for (const f of files) {
      const d = JSON.parse(
        resolveDefinition(
          `workflows/aws/${f}`,
          (fn) => `arn:aws:lambda:us-east-1:000000000000:function:${fn}`,
        ),
      );
      expect(aslValidator(d).isValid).toBe(true);
      // Every Task retries Lambda's transient errors and has a way out.
      for (const [name, s] of Object.entries(
        d.States as Record<string, { Type: string; Retry?: { ErrorEquals: string[] }[]; Catch?: unknown[] }>,
      )) {
        if (s.Type !== 'Task') continue;
        expect(s.Retry?.[0]?.ErrorEquals, `${f} ${name}`).toEqual(
          expect.arrayContaining([
            'Lambda.ServiceException',
            'Lambda.AWSLambdaException',
            'Lambda.SdkClientException',
          ]),
        );
      }
    }
  });

  it('gives every rule target a retry policy and a dead-letter queue', () => {
    const rules = ofType('AWS::Events::Rule');
    expect(rules.length).toBeGreaterThanOrEqual(4);
    for (const [id, r] of rules) {
      for (const t of r.Properties.Targets) {
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

  it('grants Resource "*" only for actions without a resource type, and no wildcard actions', () => {
    for (const [id, role] of ofType('AWS::IAM::Role')) {
      for (const policy of role.Properties.Policies ?? []) {
        for (const st of policy.PolicyDocument.Statement) {
          const actions: string[] = [st.Action].flat();
          for (const a of actions) expect(a, id).not.toMatch(/\*$/);
          if (st.Resource === '*')
            for (const a of actions) expect(NO_RESOURCE_TYPE.has(a), `${id} ${a}`).toBe(true);
        }
      }
    }
  });

  it('has the table, the KMS key for sealed keys, the bus with its policy, and alarms on the automation', () => {
    expect(ofType('AWS::DynamoDB::Table')).toHaveLength(1);
    expect(ofType('AWS::KMS::Key')[0]?.[1].Properties).toMatchObject({
      KeySpec: 'RSA_2048',
      KeyUsage: 'ENCRYPT_DECRYPT',
    });
    expect(ofType('AWS::Events::EventBusPolicy')).toHaveLength(1);
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([id]) => id);
    expect(alarms).toEqual(
      expect.arrayContaining([
        'PeerEventsDlqAlarm',
        'ProvisioningFailedAlarm',
        'DecommissioningFailedAlarm',
        'WatcherStaleAlarm',
      ]),
    );
  });
});
