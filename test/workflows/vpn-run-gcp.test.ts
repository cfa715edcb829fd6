/**
 * The vpn-run workflow (workflows/gcp/vpn-run.workflows.yaml) on the local Workflows interpreter,
 * its one function played by the core steps with Google as the coordinator: the runs' store in
 * memory, this side's export the acme Google export, AWS's inventory through the exchange (the AWS
 * responder's pages handed to Google's store, as the relay carries them). A run claims, asks AWS,
 * waits for every page, plans, commands page by page and reports; a second start of the same time
 * does nothing; a scheduled firing's run is named by its scheduled time and requested by the scheduler's account; an
 * inventory that never comes fails the run with nothing planned.
 */
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import type { CloudEvent } from '#core/envelope.ts';
import { readPolicy } from '#core/vpn/policy.ts';
import type { RunDrain } from '#core/vpn/run.ts';
import type { PlannerLinkJson } from '#core/vpn/run-links.ts';
import type { VpnRunDeps } from '#core/vpn/run-steps.ts';
import { relayedPeerInventory } from '#core/vpn/run-steps.ts';
import { startScheduledRun } from '#gcp/vpn-run.ts';
import { MemoryVpnRuns } from '../support/memory-vpn-runs.ts';
import { relayedPeer, runGcpWorkflow } from '../support/vpn-run-engines.ts';

const acme = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../examples/vpn/acme/${name}.json`, import.meta.url), 'utf8'));
const LINKS = acme('links') as {
  links: PlannerLinkJson[];
  drains: Omit<RunDrain, 'runId' | 'links' | 'gcpTunnels'>[];
  policy: unknown;
};
const AT = '2026-11-20T12:00:00.000Z';
const GCP = { cloud: 'gcp' as const, project: 'crosslink-hub', region: 'us-east4' };
const AWS = { cloud: 'aws' as const, accountId: '000000000000', region: 'us-east-1' };
const ALICE = 'alice@crosslink-hub.iam.gserviceaccount.com';

let store: MemoryVpnRuns;
let clock: ManualClock;

function coordinator(o: { mode?: 'dry-run' | 'apply'; answers?: boolean } = {}) {
  const peer = relayedPeer({
    coordinator: GCP,
    peer: AWS,
    peerExport: acme('aws'),
    clock,
    answers: o.answers ?? true,
    pageBytes: 4 * 1024,
  });
  const mode = o.mode ?? 'dry-run';
  const deps: VpnRunDeps = {
    runs: store,
    bus: peer.bus,
    clock,
    origin: GCP,
    installation: 'dev',
    settings: { coordinator: 'gcp', mode: { prod: mode, nonprod: mode }, planner: readPolicy(LINKS.policy) },
    prices: {
      currency: 'USD',
      awsConnectionHour: 0.05,
      gcpTunnelHour: null,
      hoursPerMonth: 730,
      source: 'test',
    },
    sources: {
      own: async () => ({ export: acme('gcp'), traffic: acme('metrics') }),
      ...relayedPeerInventory({ bus: peer.bus, origin: GCP, clock, pages: peer.pages }),
      links: async () => ({ links: LINKS.links, skipped: [] }),
    },
  };
  return { deps, peer };
}

const names = (events: CloudEvent[]) =>
  events.map((e) => `${e.type.split('.').slice(-2, -1)[0]} ${e.subject}`);

beforeEach(() => {
  store = new MemoryVpnRuns();
  for (const d of LINKS.drains)
    void store.putDrain({ ...d, runId: 'vpn-dev-20261101T000000Z', links: [], gcpTunnels: [] });
  clock = new ManualClock(AT);
});

describe('the vpn-run workflow, Google coordinating', () => {
  it('asks AWS for its inventory across the relay, plans with every page, and reports a dry run', async () => {
    // Arrange
    const { deps, peer } = coordinator();
    // Act
    const out = await runGcpWorkflow(() => deps, {
      scheduledAt: AT,
      trigger: 'manual',
      apply: false,
      requestedBy: ALICE,
    });
    // Assess
    expect(out.state).toBe('SUCCEEDED');
    const runId = 'vpn-dev-20261120T120000Z';
    expect(out.result).toMatchObject({ runId, emitted: 0 });
    // The request went to AWS's side, whose report came in several pages, all stored.
    expect(names(peer.put)).toEqual([`VpnInventoryRequested ${runId}`, `VpnRunReported ${runId}`]);
    expect(peer.put[0]?.data).toMatchObject({ runId, side: 'aws' });
    expect(peer.reported.length).toBeGreaterThan(1);
    expect(await peer.pages.pages(runId, 'aws')).toHaveLength(peer.reported.length);
    // Both clouds' VPNs paired: the acme VPNs planned, none commanded in dry-run.
    const h = store.headers.get(runId);
    expect(h?.status).toBe('reported');
    expect(h?.run?.modes).toEqual({ prod: 'dry-run', nonprod: 'dry-run' });
    const entries = [...store.pages.entries()].filter(([k]) => k.startsWith(runId)).flatMap(([, v]) => v);
    expect(entries.length).toBeGreaterThan(0);
    expect(
      entries.every((e) => !e.emit && e.gates.find((g) => g.gate === 'paired')?.verdict === 'pass'),
    ).toBe(true);
    expect(out.calls).toEqual({
      claim: 1,
      'request-peer': 1,
      'peer-ready': 1,
      plan: 1,
      emit: h?.pages,
      report: 1,
    });
  });

  it('commands the applied plan page by page', async () => {
    // Arrange
    const { deps, peer } = coordinator({ mode: 'apply' });
    // Act
    const out = await runGcpWorkflow(() => deps, {
      scheduledAt: AT,
      trigger: 'manual',
      apply: true,
      requestedBy: ALICE,
    });
    // Assess
    expect(out.state).toBe('SUCCEEDED');
    const commands = names(peer.put).filter((n) => /Vpn(Drain|Undrain|Delete)Requested/.test(n));
    expect(commands.length).toBeGreaterThan(0);
    expect(out.result).toMatchObject({ emitted: commands.length });
    // Google's commands name the tunnels its half acts on, and are requested by the caller.
    for (const e of peer.put.filter((x) => /Requested$/.test(x.type.split('.').slice(-2, -1)[0] ?? '')))
      if (!e.type.includes('Inventory')) expect(e.data).toMatchObject({ requestedBy: ALICE });
    expect(names(peer.put).at(-1)).toBe('VpnRunReported vpn-dev-20261120T120000Z');
  });

  it('makes a second start of the same time a no-op', async () => {
    // Arrange
    const { deps, peer } = coordinator();
    const start = { scheduledAt: AT, trigger: 'manual', apply: false, requestedBy: ALICE };
    await runGcpWorkflow(() => deps, start, { execution: 'exec-1' });
    const before = peer.put.length;
    // Act
    const second = await runGcpWorkflow(() => deps, start, { execution: 'exec-2' });
    // Assess
    expect(second.state).toBe('SUCCEEDED');
    expect(second.result).toMatchObject({ runId: 'vpn-dev-20261120T120000Z', duplicate: true });
    expect(peer.put.length).toBe(before);
    expect(second.calls).toEqual({ claim: 1 });
  });

  it('names a scheduled firing’s run by its scheduled time, requested by the scheduler’s account; a start without the time is refused', async () => {
    // Arrange: the function's answer to the job's firing, which starts the workflow.
    const { deps } = coordinator();
    const started: { workflow: string; argument: Record<string, unknown> }[] = [];
    const executions = {
      create: async (workflow: string, body: { argument: unknown }) => {
        started.push({ workflow, argument: body.argument as Record<string, unknown> });
        return { name: `${workflow}/executions/e-1`, state: 'ACTIVE' } as never;
      },
    };
    const firing = await startScheduledRun(
      { executions, workflow: 'projects/crosslink-hub/locations/us-east4/workflows/vpn-run' },
      {
        scheduleTime: '2026-11-21T03:00:00Z',
        caller: 'crosslink-vpn-scheduler@crosslink-hub.iam.gserviceaccount.com',
      },
    );
    // Act: the workflow as started, 2 minutes after the firing's time.
    const out = await runGcpWorkflow(() => deps, started[0]?.argument ?? {}, {
      start: Date.parse('2026-11-21T03:02:41Z'),
    });
    const untimed = await runGcpWorkflow(
      () => deps,
      { trigger: 'schedule', apply: true, requestedBy: 'crosslink-vpn-scheduler' },
      { start: Date.parse('2026-11-21T04:00:41Z') },
    );
    const refused = startScheduledRun(
      { executions, workflow: 'w' },
      { scheduleTime: undefined, caller: undefined },
    );
    // Assess
    expect(firing.scheduledAt).toBe('2026-11-21T03:00:00.000Z');
    expect(out.state).toBe('SUCCEEDED');
    expect(store.headers.get('vpn-dev-20261121T030000Z')).toMatchObject({
      trigger: 'schedule',
      requestedBy: 'crosslink-vpn-scheduler@crosslink-hub.iam.gserviceaccount.com',
      status: 'reported',
    });
    expect(untimed.state).toBe('FAILED');
    expect(untimed.error?.payload).toContain('scheduledAt');
    await expect(refused).rejects.toThrow(/X-CloudScheduler-ScheduleTime: must be .*Authorization: must be/s);
    expect(started).toHaveLength(1);
  });

  it('fails PeerInventoryMissing after 30 checks when AWS never answers, planning nothing', async () => {
    // Arrange
    const { deps, peer } = coordinator({ answers: false });
    // Act
    const out = await runGcpWorkflow(() => deps, {
      scheduledAt: AT,
      trigger: 'manual',
      apply: false,
      requestedBy: ALICE,
    });
    // Assess
    expect(out.state).toBe('FAILED');
    expect(out.error?.payload).toContain('PeerInventoryMissing');
    expect(out.calls['peer-ready']).toBe(30);
    expect(out.calls.plan).toBeUndefined();
    expect(names(peer.put)).toEqual(['VpnInventoryRequested vpn-dev-20261120T120000Z']);
    expect(store.headers.get('vpn-dev-20261120T120000Z')?.status).toBe('claimed');
  });
});
