/**
 * Both link flows end to end through the CLI only, in one local cloud that runs both halves as
 * `npm start` does (test/support/both-halves.ts): alice requests, bob approves for AWS, carol for
 * Google, each from the cloud they belong to; the events cross between the clouds through the relay
 * (SQS -> Lambda -> Pub/Sub one way, push with OIDC -> JWT route -> bus the other). Each link reaches
 * ACTIVE on both halves, then `link decommission` takes it to DECOMMISSIONED with both halves gone.
 * The hub runs in AWS us-east-1 and Google us-east4; the links are in three region pairs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReport, leastPrivilegeReport } from '#local/index.ts';
import {
  AWS_FIRST,
  type BothHalves,
  dumpOnFailure,
  FRANKFURT_AWS_FIRST,
  OREGON_GOOGLE_FIRST,
  resourcesOf,
  startBothHalves,
  waitFor,
} from '../support/both-halves.ts';
import { linkFlows } from '../support/link-flows.ts';

let both: BothHalves;

beforeAll(async () => {
  both = await startBothHalves();
}, 120_000);

afterAll(async () => {
  await both?.stop();
});

const { request, awsFirst, googleFirst, expectActive, expectCrossed, decommission, bothSides } = linkFlows(
  () => both,
);

describe.concurrent('a link through the CLI only', () => {
  it('AWS first: requested by alice, approved by bob (AWS) and carol (Google), ACTIVE, then DECOMMISSIONED', async (ctx) => {
    dumpOnFailure(ctx, both, 'aws-first');
    const id = await awsFirst();
    const { aws } = await expectActive(id);
    expect(aws.approvals.map((a) => [a.side, a.by]).sort()).toEqual([
      ['aws', 'arn:aws:iam::000000000000:user/bob'],
      ['gcp', 'carol@example.com'],
    ]);
    await expectCrossed(id, 'aws');
    // alice asks on AWS; carol approves from Google.
    await decommission(id, ['--as', 'alice'], ['--side', 'gcp', '--as', 'carol']);
  }, 120_000);

  it('Google first: requested by alice, approved by carol (Google) and bob (AWS), ACTIVE, then DECOMMISSIONED', async (ctx) => {
    dumpOnFailure(ctx, both, 'google-first');
    const id = await googleFirst();
    await expectActive(id);
    await expectCrossed(id, 'gcp');
    // alice asks on Google; bob approves from AWS.
    await decommission(id, ['--side', 'gcp', '--as', 'alice'], ['--as', 'bob']);
  }, 120_000);

  // One hub (AWS us-east-1, Google us-east4) serves every pair the policy accepts: the halves are
  // made in the link's regions, on the environment and profile discovered there.
  it('Google first in us-west-2 / us-west1 from the same hub: the transport in us-west1, the connection in us-west-2, ACTIVE, then DECOMMISSIONED', async (ctx) => {
    dumpOnFailure(ctx, both, 'google-first-oregon');
    const id = await googleFirst(OREGON_GOOGLE_FIRST);
    await expectActive(id, { aws: 'us-west-2', gcp: 'us-west1' });
    await expectCrossed(id, 'gcp');
    await decommission(id, ['--side', 'gcp', '--as', 'alice'], ['--as', 'bob']);
  }, 120_000);

  it('AWS first in eu-central-1 / europe-west3 from the same hub: the connection in eu-central-1, the transport in europe-west3, ACTIVE, then DECOMMISSIONED', async (ctx) => {
    dumpOnFailure(ctx, both, 'aws-first-frankfurt');
    const id = await awsFirst(FRANKFURT_AWS_FIRST);
    await expectActive(id, { aws: 'eu-central-1', gcp: 'europe-west3' });
    await expectCrossed(id, 'aws');
    await decommission(id, ['--as', 'alice'], ['--side', 'gcp', '--as', 'carol']);
  }, 120_000);

  it('AWS first naming a Google project the Google half cannot place: FAILED on both sides before anyone approves on Google, nothing created', async (ctx) => {
    dumpOnFailure(ctx, both, 'misplaced');
    // Prepare: the example request, but in a project that is neither Google's hub nor a network project
    const file = join(both.home, 'misplaced.yaml');
    writeFileSync(
      file,
      readFileSync(AWS_FIRST, 'utf8').replace('project: payments-prod', 'project: billing-prod'),
    );
    // Act: AWS accepts it (it cannot know Google's projects); the Google side refuses it at its request step
    const id = await request(file);
    const failed = await waitFor(`${id} FAILED on both sides`, async () => {
      const v = await bothSides(id);
      return v.aws.state === 'FAILED' && v.gcp.state === 'FAILED' ? v : undefined;
    });
    // Assess: the reason names the field on both sides; no one approved; nothing exists in either cloud
    for (const view of [failed.aws, failed.gcp]) {
      expect(view.stages.at(-1)?.reason).toMatch(
        /gcp\.project: billing-prod is neither the hub project nor a configured network project/,
      );
      expect(view.approvals).toEqual([]);
    }
    // AWS failed because of Google's LinkFailed, which says which side and stage failed.
    expect(failed.aws.stages.at(-1)?.reason).toMatch(/^gcp request failed: ValidationError: /);
    const held = await resourcesOf(both, id);
    expect(held.connections).toEqual([]);
    expect(held.transports).toEqual([]);
  }, 120_000);
});

// After every flow above: what the Google half's accounts used against what gcp.yml grants them.
describe('least privilege on Google, after the flows', () => {
  it('every permission a gcp.yml account used is granted, none was refused, and every granted role was used or says in gcp.yml why not', () => {
    // Prepare: gcp.yml as this cloud wired it (its federated publishers are no service account)
    const cloud = both.cloud;
    const written = cloud.plumbing?.config;
    if (!written) throw new Error('no gcp.yml wired');
    const config = { ...written, topics: written.topics.map(({ awsPublishers: _, ...t }) => t) };
    // Act
    const report = leastPrivilegeReport(
      config,
      cloud.gcp.project,
      cloud.gcp.iam.projectNumber(cloud.gcp.project),
      cloud.gcp.region,
      cloud.gcp.iam.used(),
    );
    // Assess
    const accounts = new Set(report.map((a) => `serviceAccount:${a.account}`));
    expect(cloud.gcp.iam.refused().filter((r) => accounts.has(r.principal))).toEqual([]);
    expect(report.flatMap((a) => a.ungranted.map((p) => `${a.account}: ${p}`))).toEqual([]);
    expect(
      report.flatMap((a) =>
        a.unused.filter((u) => u.reason === undefined).map((u) => `${a.account}: ${u.role}`),
      ),
      formatReport(report),
    ).toEqual([]);
    // The flows did call through IAM: the network project's account (config/local-estate.yaml),
    // which the functions impersonate, created and deleted the transports.
    const net = cloud.gcp.iam
      .used()
      .get('serviceAccount:crosslink-net@payments-prod.iam.gserviceaccount.com');
    expect([...(net?.keys() ?? [])]).toEqual(
      expect.arrayContaining([
        'networkconnectivity.transports.create',
        'networkconnectivity.transports.delete',
      ]),
    );
  });
});
