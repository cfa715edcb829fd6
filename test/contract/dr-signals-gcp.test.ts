/**
 * The Google side's DR signals (functions/gcp/dr-signals.ts) over its real adapters: the signal log
 * in the Firestore emulator, the probes' fetch against the service world's health endpoints on
 * loopback HTTP, on the world's manual clock. The scheduled run of the Google vantage point in its
 * region (refused elsewhere), AWS's observation recorded once, this side's own ignored, and the
 * replication link's state change as the Google vantage point's link signal.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import { buildGcpDrSignalsDeps, gcpDrSignalsEvent, gcpScheduledRun } from '#gcp/dr-signals.ts';
import { fromPubSubPush } from '#gcp/envelope.ts';
import { regionOutagesOf } from '#local/world/region-outages.ts';
import { probesAtWorld, usePaymentsHealth } from '../support/dr-world.ts';
import { startTestFirestore, type TestFirestore } from '../support/firestore.ts';
import { exampleDoc } from '../unit/dr/helpers.ts';

let firestore: TestFirestore;
const world = usePaymentsHealth();
let sent: CloudEvent[];

beforeAll(async () => {
  firestore = await startTestFirestore();
});
afterAll(async () => {
  await firestore?.stop();
});
beforeEach(() => {
  sent = [];
});

/** The example plan as CROSSLINK_DR_PLAN, its probes pointing at the world's endpoints. */
function planVariable(): string {
  return JSON.stringify(probesAtWorld(exampleDoc(), world.base));
}

function depsIn(region: string, env: NodeJS.ProcessEnv = {}) {
  return buildGcpDrSignalsDeps(
    {
      CROSSLINK_DR_PLAN: planVariable(),
      CROSSLINK_DR_CONTROL_URL: `${world.base}/connectivity`,
      ...env,
    },
    { project: 'crosslink-hub', region },
    {
      firestore: firestore.db(),
      bus: { put: async (events) => void sent.push(...events) },
      clock: world.clock,
    },
  );
}

describe('the DR signals on Google', () => {
  it("runs the Google vantage point's probes on the schedule, recording and publishing each observation", async () => {
    // Prepare
    const deps = depsIn('us-west1');

    // Act: four runs a minute apart, us-east-1 out from the second
    const results = [];
    for (let run = 0; run < 4; run++) {
      if (run === 1) regionOutagesOf(world.clock).set('aws', 'us-east-1', true);
      results.push(await gcpScheduledRun(deps));
      await world.clock.advance(60_000);
    }

    // Assess
    const log = await deps.log.since('payments-api');
    expect(log.filter((o) => o.signal === 'api-availability').map((o) => o.status)).toEqual([
      'healthy',
      'healthy',
      'healthy',
      'unhealthy',
    ]);
    expect(log.every((o) => o.vantage === 'gcp-us-west1')).toBe(true);
    expect(results.map((r) => [r.side, r.observations])).toEqual(Array(4).fill(['gcp', 2]));
    expect(sent.map((e) => e.data)).toEqual(log);
    expect(sent.every((e) => e.crosslinkorigin === 'gcp' && e.type === 'crosslink.DrSignalObserved.v1')).toBe(
      true,
    );
  });

  it("refuses to probe outside the Google vantage point's region, and a plan that breaks its schema, naming the field", async () => {
    const refused = await gcpScheduledRun(depsIn('us-central1')).catch((e: { issues: unknown }) => e.issues);
    const bad = (() => {
      try {
        depsIn('us-west1', { CROSSLINK_DR_PLAN: '{"version": 1}' });
        return [];
      } catch (e) {
        return (e as { issues: { path: string }[] }).issues.map((i) => i.path);
      }
    })();

    expect(refused).toEqual([
      {
        path: 'vantagePoints',
        reason: 'plan payments-api has no gcp vantage point in us-central1, where this function runs',
      },
    ]);
    expect(bad).toContain('service');
  });

  it("records AWS's observation once as the push delivers it, and ignores this side's own", async () => {
    // Prepare: the AWS vantage point's observation, and this side's own (the catalog's sample)
    const deps = depsIn('us-west1');
    const fromAws = buildEvent({
      name: 'DrSignalObserved',
      origin: { cloud: 'aws', accountId: '111122223333', region: 'us-west-2' },
      subject: 'payments-api/aws-us-west-2/api-availability',
      data: {
        time: '2026-06-01T10:00:00.000Z',
        service: 'payments-api',
        vantage: 'aws-us-west-2',
        signal: 'api-availability',
        status: 'healthy',
      },
      clock: world.clock,
    });
    const own = fromPubSubPush(
      JSON.parse(readFileSync('events/samples/DrSignalObserved.pubsub-push.json', 'utf8')),
    );

    // Act
    const first = await gcpDrSignalsEvent(deps, fromAws);
    const again = await gcpDrSignalsEvent(deps, fromAws);
    const mine = await gcpDrSignalsEvent(deps, own);

    // Assess
    expect(first).toMatchObject({ side: 'aws', observations: 1, outcome: { outcome: 'recorded' } });
    expect(again).toMatchObject({ side: 'aws', outcome: { outcome: 'ignored' } });
    expect(mine).toEqual({ observations: 0, outcome: { outcome: 'ignored', reason: 'own event' } });
    expect(await deps.log.since('payments-api')).toEqual([fromAws.data]);
  });

  it("records the replication link's state change as the Google vantage point's link signal", async () => {
    const change = fromPubSubPush(
      JSON.parse(readFileSync('events/samples/LinkStateChanged.pubsub-push.json', 'utf8')),
    );
    const linkId = (change.data as { linkId: string }).linkId;
    const deps = depsIn('us-central1', { CROSSLINK_DR_REPLICATION_LINK: linkId });

    const out = await gcpDrSignalsEvent(deps, change);

    expect(out).toMatchObject({ side: 'gcp', observations: 1, outcome: { outcome: 'recorded' } });
    expect(await deps.log.since('payments-api')).toEqual([
      expect.objectContaining({ vantage: 'gcp-us-west1', signal: 'replication-link', status: 'healthy' }),
    ]);
    expect(sent).toHaveLength(1);
  });
});
