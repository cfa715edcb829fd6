/**
 * A missing permission breaks the flow it serves, locally as in AWS: the AWS half deployed from a
 * copy of serverless.yml whose request step's role lacks `events:PutEvents` (packaged once here), and
 * the unchanged half with a Deny added to its bus policy through EventBridge's API. Either way the
 * request step cannot put its events, and the link fails with a reason naming AccessDenied and the
 * action.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  DescribeEventBusCommand,
  EventBridgeClient,
  PutPermissionCommand,
} from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWS_HALF_INPUTS, type AwsHalfDeployment, deployAwsHalf } from '#local/aws-half.ts';
import type { LocalCloud } from '#local/index.ts';
import { ACCOUNT, addAssociatedGateway, GATEWAY, LINK_REQUEST, REGION } from '../support/aws-half.ts';
import { callIntake, IDENTITIES } from '../support/intake.ts';
import { ADMIN_CREDENTIALS, startTestCloud } from '../support/local-cloud.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** The request step role's grant to put events on the bus, as serverless.yml writes it. */
const PUT_EVENTS_GRANT = `                - Effect: Allow
                  Action: events:PutEvents
                  Resource: !GetAtt CrosslinkBus.Arn
`;

/** A copy of the AWS half's inputs whose StepRequestRole lacks events:PutEvents (node_modules linked). */
function serviceWithoutGrant(): string {
  const dir = mkdtempSync(join(tmpdir(), 'crosslink-no-grant-'));
  for (const input of AWS_HALF_INPUTS) {
    const from = join(ROOT, input);
    if (!existsSync(from)) continue;
    mkdirSync(dirname(join(dir, input)), { recursive: true });
    cpSync(from, join(dir, input), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const yml = readFileSync(join(ROOT, 'serverless.yml'), 'utf8');
  const role = yml.indexOf('    StepRequestRole:');
  const grant = yml.indexOf(PUT_EVENTS_GRANT, role);
  const nextRole = yml.indexOf('    StepParkRole:', role);
  if (role < 0 || grant < 0 || grant > nextRole)
    throw new Error('serverless.yml: StepRequestRole has no events:PutEvents grant to remove');
  writeFileSync(
    join(dir, 'serverless.yml'),
    yml.slice(0, grant) + yml.slice(grant + PUT_EVENTS_GRANT.length),
  );
  return dir;
}

/**
 * Requests a link as alice and waits for it to fail, moving virtual time a minute at a time (the
 * steps' retries wait on it); returns the FAILED stage's reason.
 */
async function failureOf(cloud: LocalCloud, half: AwsHalfDeployment): Promise<string> {
  const created = await callIntake(half.intake, IDENTITIES.alice, 'POST', '/links', LINK_REQUEST);
  expect(created.status, JSON.stringify(created.body)).toBeLessThan(300);
  const linkId = created.body.link.id as string;
  for (let minutes = 0; minutes <= 60; minutes++) {
    const shown = await callIntake(half.intake, IDENTITIES.alice, 'GET', `/links/${linkId}`);
    const stages = (shown.body?.stages ?? []) as { state: string; reason?: string }[];
    const failed = stages.find((s) => s.state === 'FAILED');
    if (failed) return failed.reason ?? '';
    await new Promise((r) => setTimeout(r, 500));
    await cloud.clock.advance(60_000);
  }
  throw new Error(`link ${linkId} did not fail within an hour of virtual time`);
}

describe('a step role without events:PutEvents (a copy of serverless.yml)', () => {
  let cloud: LocalCloud;
  let half: AwsHalfDeployment;
  let dir: string;

  beforeAll(async () => {
    dir = serviceWithoutGrant();
    // Its refusals are deliberate: not recorded for the least-privilege report.
    cloud = await startTestCloud({
      clock: { mode: 'manual', start: Math.floor(Date.now() / 1000) * 1000 },
      iamDecisionsDir: false,
    });
    half = await deployAwsHalf(cloud, dir);
    await addAssociatedGateway(cloud, GATEWAY, ['10.10.0.0/16']);
  }, 120_000);
  afterAll(async () => {
    await half?.stop();
    await cloud?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fails the link at the request step, the reason naming AccessDenied and events:PutEvents', async () => {
    // Act
    const reason = await failureOf(cloud, half);
    // Assess
    expect(reason).toMatch(/AccessDenied/);
    expect(reason).toContain(
      `assumed-role/crosslink-dev-StepRequestRole/crosslink-dev-stepRequest is not authorized to perform: events:PutEvents on resource: arn:aws:events:${REGION}:${ACCOUNT}:event-bus/crosslink-dev because no identity-based policy allows the events:PutEvents action`,
    );
  }, 90_000);
});

describe('a Deny added to the bus policy', () => {
  let cloud: LocalCloud;
  let half: AwsHalfDeployment;

  beforeAll(async () => {
    // Its refusals are deliberate: not recorded for the least-privilege report.
    cloud = await startTestCloud({
      clock: { mode: 'manual', start: Math.floor(Date.now() / 1000) * 1000 },
      iamDecisionsDir: false,
    });
    half = await deployAwsHalf(cloud, ROOT);
    await addAssociatedGateway(cloud, GATEWAY, ['10.10.0.0/16']);
    // The bus's policy, with one more statement: the request step's role may not put events.
    const eb = new EventBridgeClient({
      region: REGION,
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    try {
      const bus = half.deployment.stack.physicalIds.CrosslinkBus as string;
      const current = await eb.send(new DescribeEventBusCommand({ Name: bus }));
      const policy = JSON.parse(current.Policy as string) as { Statement: unknown[] };
      policy.Statement.push({
        Sid: 'no-request-step',
        Effect: 'Deny',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource: current.Arn,
        Condition: {
          ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/crosslink-dev-StepRequestRole` },
        },
      });
      await eb.send(new PutPermissionCommand({ EventBusName: bus, Policy: JSON.stringify(policy) }));
    } finally {
      eb.destroy();
    }
  }, 120_000);
  afterAll(async () => {
    await half?.stop();
    await cloud?.stop();
  });

  it('fails the link at the request step, the reason naming AccessDenied, the action and the Deny', async () => {
    // Act
    const reason = await failureOf(cloud, half);
    // Assess
    expect(reason).toMatch(/AccessDenied/);
    expect(reason).toContain(
      `is not authorized to perform: events:PutEvents on resource: arn:aws:events:${REGION}:${ACCOUNT}:event-bus/crosslink-dev with an explicit deny in a resource-based policy`,
    );
  }, 90_000);
});
