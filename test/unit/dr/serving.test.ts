import { describe, expect, it } from 'vitest';
import {
  arcCells,
  type ClusterEndpoint,
  type ControlRead,
  parseClusterEndpoints,
  type RoutingControlReader,
  readArcServing,
  servingOf,
  signalGaps,
} from '#core/dr/serving.ts';
import type { SignalRecord } from '#core/dr/signal-log.ts';
import { issuesOf, planWith } from './helpers.ts';

const plan = planWith();
const STANDBY_CELL =
  'arn:aws:route53-recovery-control::123456789012:controlpanel/5f2c8e1a9b7d4c3e/routingcontrol/a1b2c3d4e5f60718';
const PRIMARY_CELL =
  'arn:aws:route53-recovery-control::123456789012:controlpanel/5f2c8e1a9b7d4c3e/routingcontrol/0f1e2d3c4b5a6978';
const ENDPOINTS: ClusterEndpoint[] = ['us-east-1', 'us-west-2', 'eu-west-1'].map((region) => ({
  region,
  url: `https://host-${region}.example.com/v1`,
}));

/**
 * A cluster: one state per routing control, shared by every endpoint; an endpoint in `down` does not
 * answer, and `downAfter` takes one down after it has answered that many reads. Every read is logged.
 */
class FakeCluster implements RoutingControlReader {
  readonly reads: string[] = [];
  private readonly states: Record<string, 'On' | 'Off'>;
  private readonly down: Set<string>;
  private readonly downAfter: Record<string, number>;
  constructor(
    states: Record<string, 'On' | 'Off'>,
    down = new Set<string>(),
    downAfter: Record<string, number> = {},
  ) {
    this.states = states;
    this.down = down;
    this.downAfter = downAfter;
  }
  async state(endpoint: ClusterEndpoint, arn: string): Promise<ControlRead> {
    this.reads.push(`${endpoint.region} ${arn.slice(-4)}`);
    const left = this.downAfter[endpoint.region];
    if (left !== undefined) {
      if (left === 0) this.down.add(endpoint.region);
      this.downAfter[endpoint.region] = left - 1;
    }
    if (this.down.has(endpoint.region)) return { unreachable: 'no connection' };
    const state = this.states[arn];
    if (!state) throw new Error(`ResourceNotFoundException: ${arn}`);
    return { state };
  }
}

describe('the serving side read from Route 53 ARC', () => {
  it("takes the plan's cells from the failover action: the cell turned On is the standby's", () => {
    expect(arcCells(plan)).toEqual([
      { side: 'standby', routingControlArn: STANDBY_CELL },
      { side: 'primary', routingControlArn: PRIMARY_CELL },
    ]);
    // The same plan with Cloud DNS as its switch, both ways (one cloud owns the switch).
    const noArc = planWith((d) => {
      for (const [way, serve] of [
        ['failover', 'backup'],
        ['failback', 'primary'],
      ] as const)
        d.actions[way] = d.actions[way].map((a) =>
          a.type === 'arc-routing-control'
            ? {
                cloud: 'gcp',
                type: 'cloud-dns-failover-policy',
                managedZone: 'payments',
                recordName: 'api.payments.example.com.',
                serve,
                hook: { function: 'payments-dns-failover', timeout: '5m' },
              }
            : a,
        );
    });
    expect(arcCells(noArc)).toBeUndefined();
  });

  it('says which side serves from the cells On', () => {
    const cell = (side: 'primary' | 'standby', state: 'On' | 'Off') => ({
      side,
      routingControlArn: side,
      state,
    });
    expect(servingOf([cell('primary', 'On'), cell('standby', 'Off')])).toBe('primary');
    expect(servingOf([cell('primary', 'Off'), cell('standby', 'On')])).toBe('standby');
    expect(servingOf([cell('primary', 'On'), cell('standby', 'On')])).toBe('both');
    expect(servingOf([cell('primary', 'Off'), cell('standby', 'Off')])).toBe('none');
  });

  it('reads at the first endpoint that answers, naming the ones skipped', async () => {
    const cluster = new FakeCluster({ [STANDBY_CELL]: 'On', [PRIMARY_CELL]: 'Off' }, new Set(['us-east-1']));
    const r = await readArcServing(arcCells(plan) ?? [], ENDPOINTS, cluster);
    expect(r).toEqual({
      switch: 'arc',
      serving: 'standby',
      endpoint: 'us-west-2',
      cells: [
        { side: 'standby', routingControlArn: STANDBY_CELL, state: 'On' },
        { side: 'primary', routingControlArn: PRIMARY_CELL, state: 'Off' },
      ],
      skipped: [{ region: 'us-east-1', reason: 'no connection' }],
    });
    expect(cluster.reads).toEqual(['us-east-1 0718', 'us-west-2 0718', 'us-west-2 6978']);
  });

  it('reads every cell again at the next endpoint when one fails between two reads', async () => {
    const cluster = new FakeCluster({ [STANDBY_CELL]: 'Off', [PRIMARY_CELL]: 'On' }, new Set(), {
      'us-east-1': 1,
    });
    const r = await readArcServing(arcCells(plan) ?? [], ENDPOINTS, cluster);
    expect(r.serving).toBe('primary');
    expect(cluster.reads).toEqual(['us-east-1 0718', 'us-east-1 6978', 'us-west-2 0718', 'us-west-2 6978']);
  });

  it('says no endpoint answered, naming each one tried', async () => {
    const cluster = new FakeCluster({}, new Set(ENDPOINTS.map((e) => e.region)));
    expect(await readArcServing(arcCells(plan) ?? [], ENDPOINTS, cluster)).toEqual({
      switch: 'arc',
      serving: 'unknown',
      tried: ENDPOINTS.map((e) => ({ region: e.region, reason: 'no connection' })),
    });
  });

  it('passes on a refusal: an unknown routing control is not an endpoint down', async () => {
    const cluster = new FakeCluster({ [STANDBY_CELL]: 'On' });
    await expect(readArcServing(arcCells(plan) ?? [], ENDPOINTS, cluster)).rejects.toThrow(
      /ResourceNotFound/,
    );
  });
});

describe('cluster endpoints from describe-cluster', () => {
  it('reads the describe-cluster output and the bare list', () => {
    const list = [{ Endpoint: 'https://a.example.com/v1', Region: 'us-west-2' }];
    expect(parseClusterEndpoints(JSON.stringify({ Cluster: { ClusterEndpoints: list } }), 'f')).toEqual([
      { url: 'https://a.example.com/v1', region: 'us-west-2' },
    ]);
    expect(parseClusterEndpoints(JSON.stringify(list), 'f')).toEqual([
      { url: 'https://a.example.com/v1', region: 'us-west-2' },
    ]);
  });

  it('names the field that is wrong', () => {
    expect(issuesOf(() => parseClusterEndpoints('{', 'f'))[0]?.reason).toMatch(/^not JSON/);
    expect(issuesOf(() => parseClusterEndpoints('{"Cluster": {}}', 'f'))).toEqual([
      { path: 'Cluster.ClusterEndpoints', reason: expect.stringMatching(/non-empty list/) },
    ]);
    expect(
      issuesOf(() => parseClusterEndpoints('[{"Endpoint": "a.example.com", "Region": "west"}]', 'f')),
    ).toEqual([
      { path: '[0].Endpoint', reason: expect.stringMatching(/URL/) },
      { path: '[0].Region', reason: expect.stringMatching(/AWS region/) },
    ]);
  });
});

describe("each side's gaps", () => {
  const T0 = Date.parse('2026-03-02T10:00:00Z');
  const line = (vantage: string, minute: number): SignalRecord => ({
    time: new Date(T0 + minute * 60_000).toISOString(),
    service: plan.service,
    vantage,
    signal: 'api-availability',
    status: 'healthy',
  });
  const minutes = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it('shows a relay partition as a gap in the other side, from its last line to its next', () => {
    // AWS's copy: its own lines every minute; Google's stop at minute 3 and come back at minute 12.
    const log = [
      ...minutes(0, 20).map((m) => line('aws-us-west-2', m)),
      ...minutes(0, 20).map((m) => line('route53-checkers', m)),
      ...[...minutes(0, 3), ...minutes(12, 20)].map((m) => line('gcp-us-west1', m)),
    ];
    expect(signalGaps(plan, log, T0 + 20 * 60_000)).toEqual([
      { side: 'gcp', from: '2026-03-02T10:03:00Z', to: '2026-03-02T10:12:00Z', ms: 9 * 60_000 },
    ]);
  });

  it('says a side is silent since its last line, and one never heard from has no line at all', () => {
    const log = [
      ...minutes(0, 20).map((m) => line('aws-us-west-2', m)),
      ...minutes(0, 8).map((m) => line('gcp-us-west1', m)),
    ];
    expect(signalGaps(plan, log, T0 + 20 * 60_000)).toEqual([
      { side: 'gcp', from: '2026-03-02T10:08:00Z', ms: 12 * 60_000 },
      { side: 'external' },
    ]);
  });

  it('counts only stretches longer than staleAfter, and nothing after now', () => {
    // staleAfter is 5 m: a 5 m stretch is no gap; the line at minute 30 is after now and not read.
    const log = ['aws-us-west-2', 'gcp-us-west1', 'route53-checkers'].flatMap((v) =>
      [0, 5, 10, 30].map((m) => line(v, m)),
    );
    expect(signalGaps(plan, log, T0 + 15 * 60_000)).toEqual([]);
    expect(signalGaps(plan, log, T0 + 15 * 60_000 + 1).map((g) => g.side)).toEqual([
      'aws',
      'gcp',
      'external',
    ]);
  });
});
