/**
 * AWS's commanded side (`drCommanded`) as serverless.yml deploys it, for the local cloud's tests
 * (test/local/dr-commanded-aws.test.ts, test/local/dr-executor-aws.test.ts): serverless.yml read
 * with its tags resolved for the cloud's account and region, the links table and the bus, and
 * `DrCommandedRole`'s policy with the hook grant config/dr-plan.cjs writes for a plan.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { parse } from 'yaml';
import type { DrPlan } from '#core/dr/plan.ts';
import type { LocalCloud } from '#local/index.ts';

const repo = resolve(import.meta.dirname, '..', '..');
export const { commandedHookPolicy } = createRequire(import.meta.url)(join(repo, 'config/dr-plan.cjs')) as {
  commandedHookPolicy: (plan: DrPlan | null) => { Statement: Record<string, unknown>[] };
};

/** Where the AWS half's DR pieces are: the links table and the bus, by name. */
export interface HalfNames {
  table: string;
  bus: string;
}

/** serverless.yml with its tags resolved for the cloud's account and region, stage `dev`. */
export function serverlessYml(cloud: LocalCloud, names: HalfNames) {
  const { region, accountId } = cloud.aws;
  const table = `arn:aws:dynamodb:${region}:${accountId}:table/${names.table}`;
  const sub = (v: string) =>
    v
      .replace(/\$\{LinksTable\.Arn\}/g, table)
      .replace(/\$\{AWS::Partition\}/g, 'aws')
      .replace(/\$\{AWS::Region\}/g, region)
      .replace(/\$\{AWS::AccountId\}/g, accountId)
      .replace(/\$\{sls:stage\}/g, 'dev');
  const arns: Record<string, string> = {
    'LinksTable.Arn': table,
    'CrosslinkBus.Arn': `arn:aws:events:${region}:${accountId}:event-bus/${names.bus}`,
  };
  const customTags = [
    { tag: '!GetAtt', resolve: (v: string) => arns[v] ?? `unresolved:${v}` },
    { tag: '!Sub', resolve: sub },
    { tag: '!Ref', resolve: (v: string) => `unresolved:${v}` },
  ];
  return {
    doc: parse(readFileSync(join(repo, 'serverless.yml'), 'utf8'), { customTags, logLevel: 'silent' }),
    sub,
  };
}

/** The hook policy config/dr-plan.cjs gives `plan`, its statements resolved for the cloud. */
export function hookStatements(cloud: LocalCloud, names: HalfNames, plan: DrPlan) {
  const { sub } = serverlessYml(cloud, names);
  return commandedHookPolicy(plan).Statement.map((s) => ({
    ...s,
    Resource: (s.Resource as { 'Fn::Sub': string }[]).map((r) => sub(r['Fn::Sub'])),
  }));
}

/** DrCommandedRole as deployed with `plan`: its statements and its hook policy, one document. */
export function commandedRolePolicy(cloud: LocalCloud, names: HalfNames, plan: DrPlan) {
  const policies = serverlessYml(cloud, names).doc.resources.Resources.DrCommandedRole.Properties
    .Policies as {
    PolicyName: string;
    PolicyDocument: { Statement: unknown[] } | string;
  }[];
  expect(policies.map((p) => p.PolicyName)).toEqual(['drCommanded', 'drCommandedHooks']);
  // serverless.yml's variable: the plan's hook policy, which hookStatements resolves.
  expect(policies[1]?.PolicyDocument).toBe(['$', '{file(config/dr-plan.cjs):commandedHookPolicy}'].join(''));
  const own = policies[0]?.PolicyDocument as { Statement: unknown[] };
  return { Version: '2012-10-17', Statement: [...own.Statement, ...hookStatements(cloud, names, plan)] };
}
