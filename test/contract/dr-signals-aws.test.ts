/**
 * The AWS side's `drSignals` function body (functions/aws/dr-signals.ts) over its real adapters:
 * the signal log in dynalite, the probes' fetch against the service world's health endpoints on
 * loopback HTTP, on the world's manual clock. The schedule's run in the vantage point's region (and
 * refused elsewhere), Google's observation as the bus delivers it (the catalog's sample) recorded
 * once, the replication link's state change as a link signal, each counted by side for the
 * staleness alarms.
 */
import { readFileSync } from 'node:fs';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { beforeEach, describe, expect, it } from 'vitest';
import { countObserved, type DrSignalsDeps, drSignalsStep } from '#aws/dr-signals.ts';
import { EmfMetrics } from '#aws/emf.ts';
import type { EventBridgeEvent } from '#aws/envelope.ts';
import { fetchGet } from '#aws/http-get.ts';
import { DynamoDbSignalLog } from '#aws/signal-log.ts';
import type { CloudEvent } from '#core/envelope.ts';
import { regionOutagesOf } from '#local/world/region-outages.ts';
import { probesAtWorld, usePaymentsHealth } from '../support/dr-world.ts';
import { useDynalite } from '../support/dynalite.ts';
import { planWith } from '../unit/dr/helpers.ts';

const db = useDynalite();
const SCHEDULED: EventBridgeEvent = {
  version: '0',
  id: 'c5c0c5a8-6b0e-4c9f-9d55-1f1b0b7a4e01',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '111122223333',
  time: '2026-06-01T10:00:00Z',
  region: 'us-west-2',
  resources: ['arn:aws:events:us-west-2:111122223333:rule/crosslink-dr-probe-dev'],
  detail: {},
};
const sample = (name: string) => JSON.parse(readFileSync(`events/samples/${name}.eventbridge.json`, 'utf8'));

const world = usePaymentsHealth();
let sent: CloudEvent[];

beforeEach(() => {
  sent = [];
});

async function depsIn(region: string, extra: Partial<DrSignalsDeps> = {}): Promise<DrSignalsDeps> {
  const plan = planWith((d) => probesAtWorld(d, world.base));
  return {
    plan,
    origin: { cloud: 'aws', accountId: '111122223333', region },
    clock: world.clock,
    log: new DynamoDbSignalLog(db.client, await db.linksTable()),
    bus: { put: async (events) => void sent.push(...events) },
    get: (vantage) => fetchGet(vantage, 2_000),
    cloudwatch: undefined as unknown as CloudWatchClient,
    controlUrl: `${world.base}/connectivity`,
    ...extra,
  };
}

describe('the drSignals function on AWS', () => {
  it("runs the AWS vantage point's probes on the schedule, recording and sending each observation", async () => {
    // Prepare
    const deps = await depsIn('us-west-2');
    const emf = new EmfMetrics({ namespace: 'crosslink', serviceName: 'crosslink-aws' });

    // Act: four runs a minute apart, us-east-1 out from the second
    const results = [];
    for (let run = 0; run < 4; run++) {
      if (run === 1) regionOutagesOf(world.clock).set('aws', 'us-east-1', true);
      results.push(await drSignalsStep(deps, SCHEDULED));
      await world.clock.advance(60_000);
    }
    countObserved(emf, results[0] as Awaited<ReturnType<typeof drSignalsStep>>);

    // Assess
    const log = await deps.log.since('payments-api');
    expect(log.filter((o) => o.signal === 'api-availability').map((o) => o.status)).toEqual([
      'healthy',
      'healthy',
      'healthy',
      'unhealthy',
    ]);
    expect(results.map((r) => [r.side, r.observations])).toEqual([
      ['aws', 2],
      ['aws', 2],
      ['aws', 2],
      ['aws', 2],
    ]);
    expect(sent.map((e) => e.data)).toEqual(log);
    expect(sent.every((e) => e.type === 'crosslink.DrSignalObserved.v1')).toBe(true);
    expect(emf.serializeMetrics()).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          { Dimensions: [['service', 'origin']], Metrics: [{ Name: 'DrSignalsRecorded' }] },
        ],
      },
      origin: 'aws',
      DrSignalsRecorded: 2,
    });
  });

  it("refuses to probe outside the AWS vantage point's region, naming the field", async () => {
    const deps = await depsIn('us-east-1');

    const issues = await drSignalsStep(deps, SCHEDULED).catch((e: { issues: unknown }) => e.issues);

    expect(issues).toEqual([
      {
        path: 'vantagePoints',
        reason: 'plan payments-api has no aws vantage point in us-east-1, where this function runs',
      },
    ]);
    expect(sent).toEqual([]);
  });

  it("records Google's observation once, as the bus delivers it, and counts it as Google's", async () => {
    const deps = await depsIn('us-west-2');
    const event = sample('DrSignalObserved');

    const first = await drSignalsStep(deps, event);
    const again = await drSignalsStep(deps, event);

    expect(first).toMatchObject({ side: 'gcp', observations: 1, outcome: { outcome: 'recorded' } });
    expect(again).toMatchObject({ side: 'gcp', outcome: { outcome: 'ignored' } });
    expect(await deps.log.since('payments-api')).toEqual([event.detail.data]);
    expect(sent).toEqual([]);
  });

  it("records the replication link's state change as the AWS vantage point's link signal; other links and no link configured are ignored", async () => {
    const change = sample('LinkStateChanged');
    const linkId = change.detail.data.linkId as string;
    const configured = await depsIn('us-east-1', { replicationLink: linkId });
    const other = await depsIn('us-east-1', { replicationLink: 'lk-01kjpx8nh0vmk53zcb2x6e7kzz' });
    const none = await depsIn('us-east-1');

    const out = await drSignalsStep(configured, change);
    const ignored = await drSignalsStep(other, change);
    const unset = await drSignalsStep(none, change);

    expect(out).toMatchObject({ side: 'aws', observations: 1, outcome: { outcome: 'recorded' } });
    expect(ignored).toMatchObject({ observations: 0, outcome: { outcome: 'ignored' } });
    expect(unset).toMatchObject({ observations: 0, outcome: { outcome: 'ignored' } });
    expect(await configured.log.since('payments-api')).toEqual([
      {
        time: change.detail.time,
        service: 'payments-api',
        vantage: 'aws-us-west-2',
        signal: 'replication-dx',
        status: 'healthy',
        detail: `link ACTIVE: ${change.detail.data.reason}`,
      },
    ]);
  });
});
