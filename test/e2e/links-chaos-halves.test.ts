/**
 * Chaos on the halves, in one local cloud running both halves, the flows through the CLI:
 * - the AWS half deleted out of band: an ACTIVE Google-first link's connection is deleted with the
 *   real Interconnect client as the admin; the link goes DOWN on both sides, and decommission cleans
 *   up: DECOMMISSIONED, the transport deleted, nothing billing.
 * - watcher runs missed: before an AWS-first link is requested, both watchers are silenced: on AWS
 *   the schedule rule and the CloudTrail rule are disabled (the real EventBridge SDK against the
 *   local edge), on Google the watcher's Cloud Scheduler job is paused. The connection becomes
 *   available and the transport ACTIVE (no API call: neither CloudTrail nor the audit log carries
 *   it), two watcher periods pass, and neither side has seen its half up. Once the watchers are back,
 *   their next runs take the link to ACTIVE, with one connection and one transport.
 * Every wait observes state (the clouds' resources, the records, the virtual clock), bounded in wall
 * time; on a failure the phases reached, in wall and virtual time, are printed with both halves' output.
 */
import { DisableRuleCommand, EnableRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteConnectionCommand } from '#aws/interconnect-client.ts';
import { WATCHER_EVERY_MS } from '#core/link/watch.ts';
import {
  AWS_FIRST,
  type BothHalves,
  dumpOnFailure,
  resourcesOf,
  startBothHalves,
  waitFor,
} from '../support/both-halves.ts';
import { type LinkView, linkFlows } from '../support/link-flows.ts';
import { ADMIN_CREDENTIALS, interconnectClient } from '../support/local-cloud.ts';

const BUS = 'crosslink-dev';
const WATCHER_SCHEDULE = 'crosslink-watcher-schedule-dev';
const INTERCONNECT_CALLS = 'crosslink-interconnect-calls-dev';
const GOOGLE_WATCHER_JOB = 'crosslink-watcher';
/** Both watchers' schedule (serverless.yml, gcp.yml): every minute. */
const WATCHER_PERIOD = WATCHER_EVERY_MS;

let both: BothHalves;

beforeAll(async () => {
  // x30 while anything runs, as the relay chaos test (see there).
  both = await startBothHalves({}, { busyRate: 30 });
}, 120_000);

afterAll(async () => {
  await both?.stop();
});

const { bothSides, request, approveBoth, googleFirst, expectActive, decommission } = linkFlows(() => both);

describe('the halves under chaos', () => {
  it('the AWS half deleted out of band: DOWN on both sides, then decommission cleans up', async () => {
    const id = await googleFirst();
    const { aws } = await expectActive(id);
    await interconnectClient(both.cloud).send(
      new DeleteConnectionCommand({ identifier: aws.halves.aws.connectionId as string }),
    );
    // The AWS watcher (every virtual minute, and at once on the CloudTrail call) sees it; the peer
    // event carries it to Google. The Google watcher may take the link DOWN first (its transport
    // falls back once its partner is gone), so the wait is for both sides to know the AWS half gone.
    const awsGone = (v: LinkView) => v.state === 'DOWN' && /^(DELETING|GONE)$/.test(v.halves.aws.state);
    const down = await waitFor(
      'the link DOWN on both sides, its AWS half gone',
      async () => {
        const views = await bothSides(id);
        return awsGone(views.aws) && awsGone(views.gcp) ? views : undefined;
      },
      90_000,
    );
    for (const view of [down.aws, down.gcp]) {
      // The transport stays, billing, until decommission deletes it. Once its partner is gone it
      // falls back to PENDING_CONFIG (local TransportManager); whether the Google watcher has read
      // that yet when both sides say DOWN depends on which poll came first.
      const gcp = view.halves.gcp;
      expect(['UP/ACTIVE', 'PENDING/PENDING_CONFIG']).toContain(`${gcp.state}/${gcp.nativeState}`);
    }
    // alice asks on AWS; carol approves from Google. The transport is deleted, nothing bills.
    await decommission(id, ['--as', 'alice'], ['--side', 'gcp', '--as', 'carol']);
    const left = await resourcesOf(both, id);
    expect(left.transports.filter((t) => !t.deleting)).toEqual([]);
    // A whole lifecycle, the fault and a decommission: at a load average of 30 to 40 on two cores,
    // 78 s to ACTIVE, 9 s to DOWN with the half gone, then the decommission.
  }, 180_000);

  it('watcher runs missed on both sides (the CloudTrail path too): the next runs take the link to ACTIVE', async (ctx) => {
    dumpOnFailure(ctx, both, 'missed-watcher');
    const phases: string[] = [];
    const phase = (what: string) =>
      phases.push(
        `${new Date().toISOString()} (virtual ${new Date(both.cloud.clock.now()).toISOString()}) ${what}`,
      );
    ctx.onTestFailed(() => console.error(`phases reached:\n${phases.join('\n')}`));
    const now = () => both.cloud.clock.now();
    const scheduler = both.cloud.plumbing?.scheduler;
    if (!scheduler) throw new Error('the local cloud runs no Google plumbing');
    const eb = new EventBridgeClient({
      region: both.cloud.aws.region,
      endpoint: both.cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    let silenced = false;
    const restore = async () => {
      if (!silenced) return;
      silenced = false;
      scheduler.resume(GOOGLE_WATCHER_JOB);
      await eb.send(new EnableRuleCommand({ Name: WATCHER_SCHEDULE }));
      await eb.send(new EnableRuleCommand({ Name: INTERCONNECT_CALLS, EventBusName: BUS }));
    };
    try {
      silenced = true;
      await eb.send(new DisableRuleCommand({ Name: WATCHER_SCHEDULE }));
      await eb.send(new DisableRuleCommand({ Name: INTERCONNECT_CALLS, EventBusName: BUS }));
      scheduler.pause(GOOGLE_WATCHER_JOB);
      await both.cloud.plumbing?.idle(); // a firing that began before the pause counts when it ends
      const googleRuns = scheduler.job(GOOGLE_WATCHER_JOB)?.runs;
      phase('watchers silenced');

      const id = await request(AWS_FIRST);
      const flow = approveBoth(id, 'aws');
      flow.catch(() => {}); // awaited below; a failure before then must not go unhandled
      phase(`link ${id} requested`);
      await waitFor(
        'the connection available and the transport ACTIVE',
        async () => {
          const r = await resourcesOf(both, id);
          return r.connections[0]?.state === 'available' && r.transports[0]?.state === 'ACTIVE';
        },
        90_000,
      );
      const upInTheClouds = now();
      phase('both halves up in the clouds');

      // Two watcher periods go by with no run on either side.
      await waitFor('two watcher periods', async () => now() > upInTheClouds + 2 * WATCHER_PERIOD);
      const missed = await bothSides(id);
      phase(`two periods missed: aws ${missed.aws.state}, gcp ${missed.gcp.state}`);
      expect(scheduler.job(GOOGLE_WATCHER_JOB)?.runs).toBe(googleRuns);
      expect(missed.aws.halves.aws.state).not.toBe('UP');
      expect(missed.gcp.halves.gcp.state).not.toBe('UP');
      for (const view of [missed.aws, missed.gcp]) expect(view.state).toBe('PROVISIONING');

      // The records' times are the functions' clock: the virtual one.
      const resumed = now();
      await restore();
      phase('watchers back');
      await Promise.race([
        flow,
        new Promise((_, reject) =>
          setTimeout(
            () => reject(new Error('the flow did not reach ACTIVE within 60 s of the watchers coming back')),
            60_000,
          ).unref(),
        ),
      ]).catch(async (err) => {
        phase(`records when it failed: ${JSON.stringify(await bothSides(id).catch((e) => String(e)))}`);
        phase(
          `pushes: ${JSON.stringify(
            both.cloud.pushProxy
              ?.deliveries()
              .slice(-40)
              .map((d) => ({ ...d, at: new Date(d.at).toISOString() })),
          )}`,
        );
        throw err;
      });
      phase('flow ACTIVE');
      const { aws, gcp } = await expectActive(id);
      // Nothing saw the halves up before the watchers came back.
      for (const view of [aws, gcp]) {
        const active = view.stages.find((s) => s.state === 'ACTIVE');
        expect(Date.parse(active?.at ?? '')).toBeGreaterThanOrEqual(resumed);
      }
      await decommission(id, ['--as', 'alice'], ['--side', 'gcp', '--as', 'carol']);
      phase('DECOMMISSIONED');
    } finally {
      await restore();
      eb.destroy();
    }
  }, 120_000);
});
