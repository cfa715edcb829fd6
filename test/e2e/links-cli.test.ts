/**
 * Both link flows end to end through the CLI only, in one local cloud that runs both halves as
 * `npm start` does (test/support/both-halves.ts): alice requests, bob approves for AWS, carol for
 * Google, each from the cloud they belong to; the events cross between the clouds through the relay
 * (SQS -> Lambda -> Pub/Sub one way, push with OIDC -> JWT route -> bus the other). Each link reaches
 * ACTIVE on both halves, then `link decommission` takes it to DECOMMISSIONED with both halves gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BothHalves, dumpOnFailure, startBothHalves } from '../support/both-halves.ts';
import { linkFlows } from '../support/link-flows.ts';

let both: BothHalves;

beforeAll(async () => {
  both = await startBothHalves();
}, 240_000);

afterAll(async () => {
  await both?.stop();
});

const { awsFirst, googleFirst, expectActive, expectCrossed, decommission } = linkFlows(() => both);

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
  }, 900_000);

  it('Google first: requested by alice, approved by carol (Google) and bob (AWS), ACTIVE, then DECOMMISSIONED', async (ctx) => {
    dumpOnFailure(ctx, both, 'google-first');
    const id = await googleFirst();
    await expectActive(id);
    await expectCrossed(id, 'gcp');
    // alice asks on Google; bob approves from AWS.
    await decommission(id, ['--side', 'gcp', '--as', 'alice'], ['--as', 'bob']);
  }, 900_000);
});
