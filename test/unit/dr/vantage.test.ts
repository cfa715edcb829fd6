/**
 * A vantage point at work on one side (functions/core/dr/vantage.ts), with an in-memory log and bus:
 * where a probe may run, its streaks kept between scheduled runs, each observation recorded and sent
 * as a valid `DrSignalObserved`, the other side's recorded once, and the replication link's state
 * changes recorded as link signals that never move traffic.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import { replay } from '#core/dr/failover-decider.ts';
import type { Observation, ProbeStreak } from '#core/dr/observations.ts';
import type { HttpGet } from '#core/dr/probe-run.ts';
import {
  type ProbeStreakStore,
  probeVantage,
  recordLinkChange,
  recordPeerSignal,
  type SignalLogStore,
} from '#core/dr/vantage.ts';
import type { CloudEvent, Origin } from '#core/envelope.ts';
import { eventDataIssues } from '#core/events/schemas.ts';
import { planWith, ROOT } from './helpers.ts';

class MemoryLog implements SignalLogStore, ProbeStreakStore {
  readonly lines = new Map<string, Observation>();
  readonly kept = new Map<string, Record<string, ProbeStreak>>();
  async record(observations: readonly Observation[]) {
    let added = 0;
    for (const o of observations) {
      const key = `${new Date(o.time).toISOString()}#${o.vantage}#${o.signal}`;
      if (!this.lines.has(key)) added++;
      if (!this.lines.has(key)) this.lines.set(key, o);
    }
    return added;
  }
  async since(service: string, since = 0) {
    return [...this.lines.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, o]) => o)
      .filter((o) => o.service === service && Date.parse(o.time) >= since);
  }
  async streaks(service: string, vantage: string) {
    return this.kept.get(`${service}/${vantage}`) ?? {};
  }
  async keepStreaks(service: string, vantage: string, streaks: Record<string, ProbeStreak>) {
    this.kept.set(`${service}/${vantage}`, streaks);
  }
}

const AWS: Origin = { cloud: 'aws', accountId: '111122223333', region: 'us-west-2' };
const GCP: Origin = { cloud: 'gcp', project: 'crosslink-hub', region: 'us-west1' } as Origin;
const PRIMARY = 'https://payments.us-east-1.example.com/healthz';

function side(origin: Origin, answers: (url: string) => ReturnType<HttpGet>) {
  const clock = new ManualClock('2026-03-02T10:00:00Z');
  const log = new MemoryLog();
  const sent: CloudEvent[] = [];
  const deps = {
    log,
    streaks: log,
    bus: { put: async (events: CloudEvent[]) => void sent.push(...events) },
    origin,
    clock,
    get: answers,
  };
  return { clock, log, sent, deps };
}

const plan = planWith();
const primaryDown: (url: string) => ReturnType<HttpGet> = async (url) =>
  url === PRIMARY ? { answered: false, error: 'ECONNRESET' } : { answered: true, status: 200 };

describe('a scheduled probe at its vantage point', () => {
  it('refuses to run anywhere but its vantage point, naming the field', async () => {
    const { deps } = side({ ...AWS, region: 'us-east-1' }, primaryDown);

    const refused = await probeVantage(deps, { plan, vantage: 'aws-us-west-2', controlUrl: 'x' }).catch(
      (e: Error & { issues?: unknown }) => e.issues,
    );
    const other = await probeVantage(side(AWS, primaryDown).deps, {
      plan,
      vantage: 'gcp-us-west1',
      controlUrl: 'x',
    }).catch((e: Error & { issues?: unknown }) => e.issues);

    expect(refused).toEqual([
      {
        path: 'vantage',
        reason:
          "aws-us-west-2 is in aws us-west-2; this probe runs in aws us-east-1: deploy it in its vantage point's region",
      },
    ]);
    expect(other).toEqual([expect.objectContaining({ path: 'vantage' })]);
  });

  it('keeps its streaks between runs: the primary turns unhealthy at the third failure, each line recorded and sent', async () => {
    // Prepare
    const { clock, log, sent, deps } = side(AWS, primaryDown);

    // Act: three scheduled runs a minute apart
    for (let run = 0; run < 3; run++) {
      await probeVantage(deps, { plan, vantage: 'aws-us-west-2', controlUrl: 'https://control.example/' });
      clock.advance(60_000);
    }

    // Assess
    const recorded = await log.since('payments-api');
    const primary = recorded.filter((o) => o.signal === 'api-availability').map((o) => o.status);
    expect(primary).toEqual(['unknown', 'unknown', 'unhealthy']);
    expect(recorded.filter((o) => o.signal === 'standby-readiness').map((o) => o.status)).toEqual([
      'healthy',
      'healthy',
      'healthy',
    ]);
    expect(log.kept.get('payments-api/aws-us-west-2')).toEqual({
      'api-availability': { failures: 3, reported: 'unhealthy' },
      'standby-readiness': { failures: 0, reported: 'healthy' },
    });
    expect(sent.map((e) => e.data)).toEqual(recorded);
    for (const e of sent) {
      expect(e).toMatchObject({
        type: 'crosslink.DrSignalObserved.v1',
        crosslinkorigin: 'aws',
        subject: `payments-api/aws-us-west-2/${(e.data as Observation).signal}`,
      });
      expect(eventDataIssues('DrSignalObserved', e.data)).toEqual([]);
    }
  });
});

describe("the other side's observations", () => {
  it('are recorded once; this side own events and other events are not', async () => {
    // Prepare: Google's probe sends what it observed
    const google = side(GCP, primaryDown);
    await probeVantage(google.deps, { plan, vantage: 'gcp-us-west1', controlUrl: 'https://c.example/' });
    const aws = side(AWS, primaryDown);
    const event = google.sent[0] as CloudEvent;

    // Act
    const first = await recordPeerSignal(aws.deps, event);
    const again = await recordPeerSignal(aws.deps, event);
    const own = await recordPeerSignal(google.deps, event);
    const bad = await recordPeerSignal(aws.deps, {
      ...event,
      data: { ...(event.data as object), status: 'down' },
    })
      .then(() => [])
      .catch((e: { issues: unknown }) => e.issues);

    // Assess
    expect(first.outcome).toBe('recorded');
    expect(again).toEqual({ outcome: 'ignored', reason: expect.stringMatching(/already recorded$/) });
    expect(own).toEqual({ outcome: 'ignored', reason: 'own event' });
    expect(bad).toEqual([expect.objectContaining({ path: 'status' })]);
    expect(await aws.log.since('payments-api')).toEqual([event.data]);
  });
});

describe('link signals', () => {
  const sample = JSON.parse(
    readFileSync(join(ROOT, 'events/samples/LinkStateChanged.cloudevent.json'), 'utf8'),
  ) as CloudEvent<Record<string, unknown>>;
  const change = (minute: number, to: string, linkId = sample.data.linkId): CloudEvent => ({
    ...sample,
    id: `01KJQ0F6S0ASQXA40DGDP6E${String(minute).padStart(3, '0')}`,
    time: new Date(Date.parse('2026-03-02T10:00:00Z') + minute * 60_000).toISOString(),
    data: { ...sample.data, linkId, from: 'ACTIVE', to, reason: `bgp sessions ${to}` },
  });

  it("record the replication link's state as the vantage point's replication signal, and never move traffic", async () => {
    // Prepare
    const { log, sent, deps } = side(GCP, primaryDown);
    const input = { plan, vantage: 'gcp-us-west1', linkId: sample.data.linkId as string };

    // Act: the link goes down for ten minutes; another link's change is not this service's
    const outcomes = [];
    for (let m = 0; m < 10; m++)
      outcomes.push(await recordLinkChange(deps, input, change(m, m % 2 ? 'DOWN' : 'FAILED')));
    const other = await recordLinkChange(deps, input, change(11, 'DOWN', 'lk-01kjpx8nh0vmk53zcb2x6e7kzz'));

    // Assess
    const lines = await log.since('payments-api');
    expect(outcomes.every((o) => o.outcome === 'recorded')).toBe(true);
    expect(other.outcome).toBe('ignored');
    expect(lines).toHaveLength(10);
    expect(lines.every((l) => l.signal === 'replication-link' && l.status === 'unhealthy')).toBe(true);
    expect(sent).toHaveLength(10);
    const decisions = replay(plan, lines).decisions;
    expect(decisions.filter((d) => d.decision === 'failover')).toEqual([]);
  });

  it('refuses a LinkStateChanged whose data breaks its schema', async () => {
    const { deps } = side(GCP, primaryDown);
    const bad = { ...change(0, 'DOWN'), data: { ...sample.data, to: 42 } };

    const issues = await recordLinkChange(deps, { plan, vantage: 'gcp-us-west1', linkId: 'x' }, bad)
      .then(() => [])
      .catch((e: { issues: unknown }) => e.issues);

    expect(issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'to' })]));
  });
});
