/**
 * The local cloud's CloudFormation evaluates a template's `Rules` before it creates anything, as
 * CloudFormation does (local/aws/wiring/rules.ts): a false assertion refuses the stack with its
 * AssertDescription and nothing is made; a rule CloudFormation would not accept (a function that is
 * not a rule function, a `Ref` to a resource) is refused; a rule function the local cloud does not
 * evaluate is refused, never passed unchecked. And the AWS half packaged with a plan AWS executes
 * (the payments plan, its primary in us-east-1) is refused in us-east-1 by its own rule, nothing
 * created, naming the plan.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRules } from '#local/aws/wiring/rules.ts';
import { loadTemplate } from '#local/aws/wiring.ts';
import { AWS_HALF_INPUTS } from '#local/aws-half.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';
import { PACKAGING_BUDGET_MS, packageAwsHalf } from '../support/packaging.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const pseudo = (region: string) => ({ 'AWS::Region': region, 'AWS::AccountId': '123456789012' });
const notIn = (region: string) => ({
  Assertions: [
    {
      Assert: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AWS::Region' }, region] }] },
      AssertDescription: `not in ${region}`,
    },
  ],
});

describe('a template’s Rules, checked before anything is created', () => {
  it('refuses a false assertion with its description, passes a true one', () => {
    const template = { Rules: { Where: notIn('us-east-1') }, Resources: {} };
    expect(() => checkRules(template, pseudo('us-east-1'))).toThrow(/^Where: not in us-east-1$/);
    expect(() => checkRules(template, pseudo('us-west-2'))).not.toThrow();
  });

  it('skips a rule whose RuleCondition is false, and evaluates And, Or, Contains and parameters’ defaults', () => {
    const template = {
      Parameters: { Stage: { Type: 'String', Default: 'prod' } },
      Rules: {
        OnlyProd: {
          RuleCondition: { 'Fn::Equals': [{ Ref: 'Stage' }, 'dev'] },
          Assertions: [{ Assert: { 'Fn::Equals': ['a', 'b'] } }],
        },
        Regions: {
          RuleCondition: {
            'Fn::Or': [{ 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] }, { 'Fn::Equals': ['x', 'y'] }],
          },
          Assertions: [
            {
              Assert: {
                'Fn::And': [
                  { 'Fn::Contains': [['us-west-2', 'eu-west-1'], { Ref: 'AWS::Region' }] },
                  { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, '000000000000'] }] },
                ],
              },
            },
          ],
        },
      },
      Resources: {},
    };
    expect(() => checkRules(template, pseudo('us-west-2'))).not.toThrow();
    expect(() => checkRules(template, pseudo('us-east-1'))).toThrow(
      /^Regions: Assertion failed for rule Regions$/,
    );
  });

  it('refuses what CloudFormation refuses in Rules, and what the local cloud does not evaluate', () => {
    const refused = (rule: unknown) => () =>
      checkRules({ Rules: { R: rule }, Resources: { Q: { Type: 'AWS::SQS::Queue' } } }, pseudo('us-west-2'));
    expect(refused({ Assertions: [{ Assert: { 'Fn::Equals': [{ Ref: 'Q' }, 'x'] } }] })).toThrow(
      /Rules\.R\.Assertions\[0\]\.Assert\.Fn::Equals\[0\]: Ref to "Q": a rule refers only to parameters/,
    );
    expect(refused({ Assertions: [{ Assert: { 'Fn::Equals': [{ 'Fn::Sub': 'x' }, 'x'] } }] })).toThrow(
      /Fn::Sub is not a rule function/,
    );
    expect(refused({ Assertions: [{ Assert: { 'Fn::And': [{ 'Fn::Equals': ['a', 'a'] }] } }] })).toThrow(
      /Fn::And: takes 2 to 10 arguments/,
    );
    expect(
      refused({
        Assertions: [{ Assert: { 'Fn::EachMemberEquals': [{ 'Fn::RefAll': 'AWS::EC2::VPC::Id' }, 'x'] } }],
      }),
    ).toThrow(/Fn::EachMemberEquals is not evaluated by the local cloud/);
    expect(refused({ RuleCondition: { 'Fn::Equals': ['a', 'a'] } })).toThrow(
      /Rules\.R: Assertions is required/,
    );
    expect(refused({ Assertions: [{ AssertDescription: 'x' }] })).toThrow(
      /Assertions\[0\]: Assert is required/,
    );
  });
});

describe('deployed on the local cloud', () => {
  let cloud: LocalCloud;
  let dir: string;
  let templateFile: string;

  beforeAll(async () => {
    cloud = await startTestCloud({ region: 'us-east-1' });
    // The AWS half packaged with the payments plan from a checkout of its own (the repository's
    // package stays the one without a plan the other tests share).
    dir = mkdtempSync(join(tmpdir(), 'crosslink-cfn-rules-'));
    for (const input of AWS_HALF_INPUTS) cpSync(join(ROOT, input), join(dir, input), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    ({ templateFile } = await packageAwsHalf(dir, {
      CROSSLINK_DR_PLAN_FILE: 'config/dr-plans/example-payments.yaml',
    }));
  }, PACKAGING_BUDGET_MS + 10_000);

  afterAll(async () => {
    await cloud?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a stack through the admin API in the region a rule forbids, creating nothing', async () => {
    const clusters = async () =>
      (await admin(cloud, 'POST', '/aws/route53-recovery-cluster/clusters', {})).clusters.length;
    const before = await clusters();
    const template = {
      Rules: { Where: notIn('us-east-1') },
      Resources: { C: { Type: 'AWS::Route53RecoveryControl::Cluster', Properties: { Name: 'ruled' } } },
    };
    await expect(
      admin(cloud, 'POST', '/aws/stacks', { stackName: 'ruled', template, region: 'us-east-1' }),
    ).rejects.toMatchObject({ status: 400, message: expect.stringContaining('Where: not in us-east-1') });
    expect(await clusters()).toBe(before);
    await admin(cloud, 'POST', '/aws/stacks', { stackName: 'ruled', template, region: 'us-west-2' });
    expect(await clusters()).toBe(before + 1);
  });

  it("refuses the AWS half packaged with the payments plan in us-east-1, its primary's region, before any resource", async () => {
    const rules = JSON.parse(readFileSync(templateFile, 'utf8')).Rules;
    expect(Object.keys(rules)).toEqual(['DrExecutorRegion']);
    const load = loadTemplate(cloud.aws.edge.world, {
      serviceDir: dir,
      accountId: cloud.aws.accountId,
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    await expect(load).rejects.toThrow(
      "DrExecutorRegion: The DR executor of payments-api (config/dr-plans/example-payments.yaml) must not run in us-east-1, the primary's region",
    );
    const dynamo = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    expect((await dynamo.send(new ListTablesCommand({}))).TableNames ?? []).toEqual([]);
  });
});
