/**
 * An applied VPN run end to end, with either cloud coordinating (test/e2e/vpn-run-apply.test.ts: AWS,
 * test/e2e/vpn-run-apply-gcp.test.ts: Google; each file calls `appliedVpnRunScenario` with its side),
 * both halves deployed as `npm start` runs them (IAM on both clouds, the manual clock driven), through
 * the CLI. Both halves are deployed from a copy of their inputs whose policy names the coordinator and
 * applies in both environments, with short planner timings (soak 1 h, idle window 2 h, cooling-off
 * 2 h), and the run's schedule every 30 minutes (AWS: `CROSSLINK_VPN_RUN_SCHEDULE` at packaging;
 * Google: the copy's gcp.yml job `crosslink-vpn-run`): the shipped policy stays dry-run and AWS
 * coordinating. Both halves get the same policy (Google's functions embed it too, and each side
 * refuses the other's events under another policy's hash), so only the coordinator has a schedule.
 *
 * The estate's two VPNs on the virtual private gateway (config/local-estate.yaml: prod and nonprod)
 * are what the example link replaces. The estate's Transit Gateway VPN is left out: out of the link's
 * reach it would stay up, and its dynamic route to the VPC wins over the link's peering route on
 * Google, so Google's traffic to AWS would go over it and the planner's `effective-routes` gate
 * would hold the other two's deletes (as it should). Traffic flows both ways between the VPC and the
 * Google network all along, and the world's flow counters say what was delivered and dropped.
 *
 * 1. The link ACTIVE, the schedule (EventBridge Scheduler or Cloud Scheduler, on the virtual clock) starts runs; the
 *    first after the soak drains both VPNs: their Cloud Router peers disabled, BGP down on both
 *    sides, the VGW and the Google network routing over the link only.
 * 2. `sim link down`: the watcher's LinkStateChanged undrains both at once (the coordinator's
 *    reaction: AWS's vpnRunEvents, Google's vpn-run-events); the traffic comes back
 *    over the VPNs; the bytes dropped in between are measured, and the loss window is at most one
 *    watcher interval plus BGP establishment.
 * 3. `sim link up`: a run after the soak drains each again (the one that carried traffic while the
 *    link was down once that traffic left the idle window); a run after its cooling-off deletes it:
 *    the nonprod VPN at once on both clouds, the prod one only once `crosslink vpn approve` was
 *    given on each side.
 * 4. The deleting runs' reports show the saving at config/pricing.yaml's prices.
 *
 * With `chaos` (test/e2e/vpn-run-chaos.test.ts) the same scenario runs with every relay delivery
 * sent twice, each copy held for its own random delay, both ways (AWS's relay queue; Google's relay
 * push and the pushes of crosslink-peer-events to the functions that take AWS's events), and 20% of
 * the providers' calls throttled on both clouds (EC2, Direct Connect and Compute, and the traffic
 * metrics the coordinator's plan reads: CloudWatch or Monitoring), and a last test checks that each action was applied once per VPN per half (the world's log of
 * what changed each VPN's resources against the runs' `changed` answers), that nothing was
 * dead-lettered and that every fault fired.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEntry } from '#core/vpn/run.ts';
import type { VpnRunHeader, VpnRunResult } from '#core/vpn/run-steps.ts';
import { AWS_HALF_INPUTS } from '#local/aws-half.ts';
import { loadEstate } from '#local/estate.ts';
import { counterKey, gcpNetworkId } from '#local/world/network.ts';
import type { VpnChange } from '#local/world/network-state.ts';
import { Observer } from '../chaos/world.ts';
import { type BothHalves, dumpOnFailure, ROOT, startBothHalves, untilOk, waitFor } from './both-halves.ts';
import { type ClockDriver, driveClock } from './clock-driver.ts';
import { linkFlows } from './link-flows.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Both watchers run every 5 minutes (serverless.yml, gcp.yml). */
const WATCHER_PERIOD = 5 * MINUTE;
/** What BGP establishment may take once a peer is enabled again (the world's sessions come up at once). */
const BGP_ESTABLISHMENT = MINUTE;
/** Every 30 minutes: EventBridge Scheduler's expression, and Cloud Scheduler's unix-cron. */
const SCHEDULE = { aws: 'cron(0/30 * * * ? *)', gcp: '*/30 * * * *' };
/** The schedules' period: each scheduled run's `scheduledAt` is a multiple of it. */
const SCHEDULE_EVERY = 30 * MINUTE;
const SOAK = HOUR;
const COOLING_OFF = 2 * HOUR;
/** Each flow: 100 full-size (1,500-byte) packets a second. */
export const PACKET_BYTES = 1500;
export const FLOW_RATE = 100 * PACKET_BYTES;
export const PROJECT = 'payments-prod';
/**
 * Virtual ms per wall ms while something runs (test/support/clock-driver.ts), except while the
 * undrain is measured (at wall speed): the soak, the idle window and the cooling-off are virtual
 * time the policy counts, which no assertion reads at wall speed.
 */
const BUSY_RATE = 10;
/**
 * Wall ms a wait for Google's results on AWS's run may take, a guard against a hang only: each
 * result crosses the relay, whose chaos holds and duplicates every push, and on a loaded machine a
 * push can miss its ack deadline and wait for Pub/Sub's backoff before it is tried again.
 */
const RELAYED_MS = 600_000;

export type Coordinator = 'aws' | 'gcp';

/** config/policy.yaml with `vpn.coordinator` set to `coordinator`. */
export function policyCoordinatedBy(coordinator: Coordinator): string {
  const policy = readFileSync(join(ROOT, 'config', 'policy.yaml'), 'utf8');
  if (!/^ {2}coordinator: aws$/m.test(policy))
    throw new Error('config/policy.yaml no longer names its vpn.coordinator as "  coordinator: aws"');
  return policy.replace(/^ {2}coordinator: aws$/m, `  coordinator: ${coordinator}`);
}

/**
 * The policy whose `vpn` section names `coordinator` and applies in both environments, with short
 * planner timings (`planner`: the section's lines, by default these). The idle window is 2 h: CloudWatch and the run's Monitoring reads take complete
 * 5-minute samples only, so the samples of a window ending now cover at most all but its last 5
 * minutes, and the planner needs 95% of it covered.
 */
export function applyingPolicy(
  coordinator: Coordinator,
  planner = '    soak: 1h\n    idleWindow: 2h\n    coolingOff: 2h\n',
): string {
  const policy = policyCoordinatedBy(coordinator);
  const shipped = '  mode:\n    prod: dry-run\n    nonprod: dry-run\n';
  if (!policy.endsWith(shipped))
    throw new Error(`config/policy.yaml no longer ends with the vpn section's\n${shipped}`);
  return `${policy.slice(0, -shipped.length)}  mode:\n    prod: apply\n    nonprod: apply\n  planner:\n${planner}`;
}

/**
 * Both halves' inputs (AWS_HALF_INPUTS and gcp.yml, whose functions and workflows are among them)
 * in `.crosslink/<name>` (git-ignored; the AWS package is kept there and made again only when the
 * inputs change), with `policy` as config/policy.yaml and `gcpYml` applied to gcp.yml.
 */
export function halvesCopy(
  name: string,
  policy: string,
  gcpYml: (text: string) => string = (t) => t,
): string {
  const dir = join(ROOT, '.crosslink', name);
  for (const input of [...AWS_HALF_INPUTS, 'gcp.yml']) {
    const from = join(ROOT, input);
    rmSync(join(dir, input), { recursive: true, force: true });
    if (!existsSync(from)) continue;
    mkdirSync(dirname(join(dir, input)), { recursive: true });
    cpSync(from, join(dir, input), { recursive: true });
  }
  if (!existsSync(join(dir, 'node_modules')))
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'config', 'policy.yaml'), policy);
  writeFileSync(join(dir, 'gcp.yml'), gcpYml(readFileSync(join(dir, 'gcp.yml'), 'utf8')));
  return dir;
}

/**
 * The applying copy (`.crosslink/vpn-run-apply`, `-gcp` when Google coordinates, `vpn-run-chaos[-gcp]`
 * under chaos: each file its own, so files run at once do not share one); Google's run job every 30
 * minutes.
 */
function applyingCopy(coordinator: Coordinator, chaos: boolean): string {
  const daily = '    schedule: "0 3 * * *"\n    timeZone: Etc/UTC\n    when: { vpnCoordinator: gcp }\n';
  return halvesCopy(
    `${chaos ? 'vpn-run-chaos' : 'vpn-run-apply'}${coordinator === 'aws' ? '' : '-gcp'}`,
    applyingPolicy(coordinator),
    (text) => {
      if (!text.includes(daily)) throw new Error(`gcp.yml's VPN run job no longer reads\n${daily}`);
      return text.replace(daily, daily.replace('0 3 * * *', SCHEDULE.gcp));
    },
  );
}

export type RunView = VpnRunHeader & { entries: RunEntry[]; results: VpnRunResult[] };

let both: BothHalves;
let driver: ClockDriver | undefined;

/**
 * Both halves deployed from the applying copy with `coordinator` coordinating, the estate's two VPNs
 * on the virtual private gateway, the clock driven at `busyRate` 10; the CLI reads the same policy.
 * The module's helpers below act on them.
 */
export async function startApplyingHalves(coordinator: Coordinator, chaos = false): Promise<BothHalves> {
  const dir = applyingCopy(coordinator, chaos);
  const estate = loadEstate(join(ROOT, 'config', 'local-estate.yaml'));
  both = await startBothHalves(
    {
      gcpConfig: join(dir, 'gcp.yml'),
      estate: {
        ...estate,
        aws: { ...estate.aws, vpns: estate.aws.vpns.filter((v) => v.attach === 'vpn-gateway') },
      },
      awsHalf: { repoDir: dir, packaging: { CROSSLINK_VPN_RUN_SCHEDULE: SCHEDULE.aws } },
    },
    { busyRate: BUSY_RATE },
  );
  // The CLI reads the same policy as the halves.
  writeFileSync(join(both.home, 'config', 'policy.yaml'), applyingPolicy(coordinator));
  return both;
}

/** The relay's deliveries, both ways: Google's push subscriptions, and AWS's relay queue. */
const RELAY_DELIVERIES = {
  gcp: [
    // Google -> AWS: every event of crosslink-events pushed to AWS's relay route.
    'crosslink-events-relay',
    // AWS -> Google: AWS's events on crosslink-peer-events, pushed to the functions taking them.
    'crosslink-peer-events-push',
    'crosslink-vpn-inventory-push',
    'crosslink-vpn-run-peer-events-push',
  ],
  aws: ['crosslink-relay-dev'],
};
/**
 * What the halves and the runs call on each cloud, 20% of their calls throttled: the VPNs (EC2,
 * Compute), the Direct Connect associations AWS's inventory carries, and the VPN traffic the
 * coordinator's plan reads (CloudWatch on AWS, Monitoring on Google).
 */
function throttled(coordinator: Coordinator): { aws: string[]; gcp: string[] } {
  return {
    aws: ['ec2', 'directconnect', ...(coordinator === 'aws' ? ['cloudwatch'] : [])],
    gcp: ['compute', ...(coordinator === 'gcp' ? ['monitoring'] : [])],
  };
}

async function addChaos(coordinator: Coordinator): Promise<void> {
  const fault = async (...args: string[]) => {
    const r = await both.cli('sim', 'fault', ...args);
    if (r.code !== 0) throw new Error(`sim fault ${args.join(' ')}: ${r.err}`);
  };
  for (const kind of ['duplicate', 'reorder']) {
    for (const sub of RELAY_DELIVERIES.gcp)
      await fault(kind, '--service', 'pubsub', '--operation', sub, '--edge', 'gcp');
    for (const queue of RELAY_DELIVERIES.aws)
      await fault(kind, '--service', 'sqs', '--operation', queue, '--edge', 'aws');
  }
  for (const side of ['aws', 'gcp'] as const)
    for (const service of throttled(coordinator)[side])
      await fault('throttle', '--service', service, '--rate', '0.2', '--edge', side);
}

export interface ScenarioOptions {
  /** Relay deliveries duplicated and reordered both ways, 20% of the providers' calls throttled. */
  chaos?: boolean;
}

/** The scenario, with `coordinator` coordinating: its hooks and its tests, in the calling file. */
export function appliedVpnRunScenario(coordinator: Coordinator, options: ScenarioOptions = {}): void {
  const chaos = options.chaos ?? false;
  beforeAll(async () => {
    await startApplyingHalves(coordinator, chaos);
    if (chaos) await addChaos(coordinator);
  }, 900_000);

  afterAll(async () => {
    await driver?.stop();
    await both?.stop();
  });
  scenario(coordinator, chaos);
}

const { awsFirst, expectActive, bothSides } = linkFlows(() => both);

/** The world's VPN connection id of an estate VPN, by its Google tunnels' names. */
export function vpnIdOf(name: string): string {
  const w = both.cloud.network;
  for (const v of w.vpnConnections.values())
    if (w.pairedTunnels(v.vpnConnectionId).some((p) => p.gcpTunnel.name.startsWith(`${name}-tunnel-`)))
      return v.vpnConnectionId;
  throw new Error(`no VPN connection of the world pairs with ${name}'s tunnels`);
}

export async function runs(): Promise<VpnRunHeader[]> {
  return both.json<VpnRunHeader[]>('vpn', 'runs', 'ls', '--limit', '200');
}

export async function show(runId: string): Promise<RunView> {
  return both.json<RunView>('vpn', 'runs', 'show', runId);
}

/**
 * The first reported scheduled run after `after` (ms) that commands `action` of every VPN of
 * `vpnIds` (a reported run's plan no longer changes: each is read once); on a timeout, the error
 * names what the last run planned.
 */
export async function scheduledRunDoing(action: string, vpnIds: string[], after: number): Promise<RunView> {
  const seen = new Set<string>();
  let last = 'none reported';
  // The latest schedule instant whose reported run was read: no run of a later instant exists
  // before the virtual clock reaches it, so until then the CLI is not asked (each request keeps
  // the driven clock flowing at its busy rate rather than jumping to the next timer).
  let latest = after;
  try {
    return await waitFor(
      `a scheduled run after ${new Date(after).toISOString()} commanding ${action} of ${vpnIds.join(', ')}`,
      async () => {
        if (both.cloud.clock.now() < (Math.floor(latest / SCHEDULE_EVERY) + 1) * SCHEDULE_EVERY)
          return undefined;
        const candidates = (await runs())
          .filter(
            (h) =>
              h.trigger === 'schedule' &&
              h.status === 'reported' &&
              Date.parse(h.scheduledAt) > after &&
              !seen.has(h.runId),
          )
          .sort((a, b) => a.scheduledAt.localeCompare(b.scheduledAt));
        for (const h of candidates) {
          const r = await show(h.runId);
          seen.add(h.runId);
          latest = Math.max(latest, Date.parse(h.scheduledAt));
          // Each VPN's action, and the reasons of the gates that failed.
          last = `${r.runId}: ${r.entries
            .map((e) => {
              const failed = e.gates.filter((g) => g.verdict === 'fail').map((g) => `${g.gate}: ${g.reason}`);
              return `${e.vpnId} ${e.action}${e.emit ? '' : ' (not commanded)'}: ${e.summary}${failed.length ? ` (${failed.join('; ')})` : ''}`;
            })
            .join('; ')}`;
          console.info(last);
          const emitted = r.entries.filter((e) => e.emit && e.action === action).map((e) => e.vpnId);
          if (vpnIds.every((id) => emitted.includes(id))) return r;
        }
        return undefined;
      },
      1_200_000,
      2000,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; the last run: ${last}`);
  }
}

/** Every BGP session of the VPN's tunnels (both sides see the same session). */
export function bgpUp(vpnId: string): boolean[] {
  return both.cloud.network.pairedTunnels(vpnId).map((p) => p.bgpUp);
}

/** What the VPC's virtual private gateway routes 10.20.0.0/16 (Google's subnet) over, and Google's 10.10.0.0/16. */
function routesOverLinkOnly(vgwId: string): { aws: string[]; gcp: string[] } {
  const w = both.cloud.network;
  const aws = w
    .vgwRoutes(vgwId)
    .filter((r) => r.destinationCidrBlock === '10.20.0.0/16')
    .map((r) => `${r.target.kind}`);
  const gcp = w
    .gcpEffectiveRoutes(PROJECT, 'payments-vpc')
    .filter((r) => r.destRange === '10.10.0.0/16' && r.best)
    .map((r) => r.routeType);
  return { aws, gcp };
}

/** Whether the VPN connection is gone on AWS and its tunnels on Google. */
function goneOnBoth(name: string, vpnId: string): boolean {
  const w = both.cloud.network;
  const aws = w.vpnConnections.get(vpnId);
  const tunnels = [...w.vpnTunnels.values()].filter((t) => t.name.startsWith(`${name}-tunnel-`));
  return (aws === undefined || aws.state === 'deleted') && tunnels.length === 0;
}

/** Who a scheduled run is requested by: the schedule's role on AWS, the job's account on Google. */
const SCHEDULE_REQUESTER = {
  aws: /:role\/crosslink-dev-VpnRunScheduleRole/,
  gcp: /^crosslink-vpn-scheduler@[a-z0-9-]+\.iam\.gserviceaccount\.com$/,
};

/** A change to a VPN's resources as the half's action it belongs to. */
const ACTION_OF: Record<VpnChange['kind'], string> = {
  'bgp-peer-disabled': 'drain',
  'bgp-peer-enabled': 'undrain',
  'tgw-propagation-disabled': 'drain',
  'tgw-propagation-enabled': 'undrain',
  'bgp-peer-removed': 'delete',
  'vpn-tunnel-deleted': 'delete',
  'vpn-connection-deleted': 'delete',
};

/**
 * The actions applied to one VPN on one side, in order, from the world's log: one action's changes
 * (both peers of a drain, both tunnels and peers of a delete) are consecutive, and a change is
 * logged only when it changes something, so an action applied again shows only after another.
 */
function appliedActions(vpnId: string, side: 'aws' | 'gcp'): string[] {
  const out: string[] = [];
  for (const c of both.cloud.network.vpnChangesOf(vpnId))
    if (c.side === side && out.at(-1) !== ACTION_OF[c.kind]) out.push(ACTION_OF[c.kind]);
  return out;
}

function scenario(coordinator: Coordinator, chaos: boolean): void {
  describe(`an applied VPN run, ${coordinator === 'aws' ? 'AWS' : 'Google'} coordinating, on the local cloud`, () => {
    const state = {
      linkId: '',
      sharedId: '',
      activeAt: 0,
      vgwId: '',
      prod: '',
      nonprod: '',
      flows: [] as string[],
      deleteRuns: [] as string[],
    };

    it('drains the two VPNs the ACTIVE link replaces, on schedule after the soak: routes withdrawn on both clouds', async (ctx) => {
      dumpOnFailure(ctx, both, 'vpn-run-apply-drain');
      // Arrange
      state.linkId = await awsFirst();
      await expectActive(state.linkId);
      const view = await bothSides(state.linkId);
      state.activeAt = Date.parse(view.aws.stages.find((s) => s.state === 'ACTIVE')?.at ?? '');
      state.prod = vpnIdOf('payments-vpn-vgw');
      state.nonprod = vpnIdOf('payments-vpn-vgw-2');
      const w = both.cloud.network;
      state.vgwId = w.vpnConnections.get(state.prod)?.vpnGatewayId ?? '';
      const vpc = [...w.vpcs.values()].find((v) => v.cidrBlocks.includes('10.10.0.0/16'));
      if (!vpc) throw new Error('the estate has no VPC of 10.10.0.0/16');
      state.flows = [
        w.addFlow({ name: 'aws-to-gcp', from: vpc.vpcId, to: '10.20.1.10', bytesPerSecond: FLOW_RATE }).id,
        w.addFlow({
          name: 'gcp-to-aws',
          from: gcpNetworkId(PROJECT, 'payments-vpc'),
          to: '10.10.1.10',
          bytesPerSecond: FLOW_RATE,
        }).id,
      ];

      // Act: nothing but time; the schedule fires every 30 virtual minutes.
      const drained = await scheduledRunDoing('drain', [state.prod, state.nonprod], 0);
      await waitFor(
        'both VPNs drained on Google and reported to AWS',
        async () => {
          const r = await show(drained.runId);
          const gcpDrained = r.results.filter(
            (x) => x.action === 'drain' && x.side === 'gcp' && x.outcome === 'changed',
          );
          return (
            gcpDrained.length === 2 &&
            bgpUp(state.prod).every((u) => !u) &&
            bgpUp(state.nonprod).every((u) => !u)
          );
        },
        RELAYED_MS,
      );
      const afterDrain = both.cloud.clock.now();
      await waitFor(
        'ten virtual minutes after the drain',
        async () => both.cloud.clock.now() > afterDrain + 10 * MINUTE,
      );
      const quiet = [state.prod, state.nonprod].map((id) =>
        (w.vpnConnections.get(id)?.tunnels ?? []).reduce(
          (sum, t) =>
            sum +
            w.counter(counterKey.awsTunnelIn(id, t.outsideIpAddress), afterDrain, afterDrain + 10 * MINUTE) +
            w.counter(counterKey.awsTunnelOut(id, t.outsideIpAddress), afterDrain, afterDrain + 10 * MINUTE),
          0,
        ),
      );

      // Assess: the scheduled run, after the soak, by the schedule's role.
      expect(drained.trigger).toBe('schedule');
      expect(drained.requestedBy).toMatch(SCHEDULE_REQUESTER[coordinator]);
      expect(drained.run?.modes).toEqual({ prod: 'apply', nonprod: 'apply' });
      expect(Date.parse(drained.scheduledAt) % SCHEDULE_EVERY).toBe(0);
      expect(Date.parse(drained.scheduledAt) - state.activeAt).toBeGreaterThanOrEqual(SOAK);
      expect(drained.entries.map((e) => e.vpnId).sort()).toEqual([state.prod, state.nonprod].sort());
      // Each half answered once per VPN: Google disabled the peers, AWS left a VGW VPN to Google.
      const results = (await show(drained.runId)).results.map(
        (x) => `${x.vpnId} ${x.action} ${x.side} ${x.outcome}`,
      );
      expect(results.sort()).toEqual(
        [
          `${state.nonprod} drain aws unchanged`,
          `${state.nonprod} drain gcp changed`,
          `${state.prod} drain aws unchanged`,
          `${state.prod} drain gcp changed`,
        ].sort(),
      );
      // The world: BGP down on every tunnel of both VPNs (AWS's telemetry too), the VGW and the Google
      // network route each other's prefix over the link only, the flows delivered over it.
      for (const id of [state.prod, state.nonprod]) {
        expect(bgpUp(id)).toEqual([false, false]);
        for (const t of w.vgwTelemetry(id))
          expect(t).toMatchObject({ status: 'DOWN', acceptedRouteCount: 0 });
      }
      expect(routesOverLinkOnly(state.vgwId)).toEqual({ aws: ['link'], gcp: ['PEERING'] });
      for (const f of state.flows)
        expect(w.flow(f).path).toMatchObject({
          delivered: true,
          via: { kind: 'link', linkId: state.linkId },
        });
      expect(quiet).toEqual([0, 0]);
    }, 1_500_000);

    it('undrains them when the link goes DOWN: traffic back over the VPNs within one watcher interval plus BGP establishment, the loss measured', async (ctx) => {
      dumpOnFailure(ctx, both, 'vpn-run-apply-undrain');
      if (!state.prod) throw new Error('the drain phase did not complete');
      // Arrange: the functions' own time at wall speed from here, so the undrain's delivery through
      // the bus, the relay and the Google half counts as the seconds it takes, not 60 times that.
      await both.driver.stop();
      driver = driveClock(both.cloud.clock, { busyRate: 1 });
      const listed = (
        await both.json<{ links: { sharedId: string; gcp: { name: string } | null }[] }>(
          'sim',
          'link',
          'list',
        )
      ).links;
      state.sharedId =
        listed.find((l) => l.gcp?.name.endsWith(`/transports/${state.linkId}`))?.sharedId ?? '';
      const w = both.cloud.network;

      // Act
      const down = await both.cli('sim', 'link', 'down', state.sharedId);
      expect(down.code, down.err).toBe(0);
      const downAt = both.cloud.clock.now();
      await waitFor(
        'the flows delivered over the VPNs again',
        async () =>
          state.flows.every((f) => w.flow(f).path.delivered) &&
          bgpUp(state.prod).every((u) => u) &&
          bgpUp(state.nonprod).every((u) => u),
        600_000,
      );
      const resumedAt = both.cloud.clock.now();
      const undrain = await waitFor(
        'the link-state run and its results',
        async () => {
          const h = (await runs()).find(
            (r) => r.trigger === 'link-state' && r.undrain?.linkId === state.linkId,
          );
          if (!h) return undefined;
          const r = await show(h.runId);
          return r.results.filter((x) => x.side === 'gcp').length === 2 ? r : undefined;
        },
        RELAYED_MS,
      );
      const lost = state.flows.map((f) => w.counter(counterKey.flowDropped(f), downAt, resumedAt));
      const lossWindowMs = lost.map((bytes) => (bytes / FLOW_RATE) * 1000);
      // The link-state run's id is the time of the LinkStateChanged that started it.
      const detectedAt = Date.parse(undrain.scheduledAt);
      const appliedAt = Math.max(
        ...undrain.results.filter((x) => x.side === 'gcp').map((x) => Date.parse(x.appliedAt)),
      );
      console.info(
        `link down -> VPNs undrained: detected after ${(detectedAt - downAt) / 1000} s, undrain applied ${(appliedAt - detectedAt) / 1000} s later; ` +
          `lost ${lost.map((b, i) => `${w.flow(state.flows[i] as string).name} ${b} bytes (${b / PACKET_BYTES} packets, ${(lossWindowMs[i] as number) / 1000} s)`).join(', ')}`,
      );

      // Assess
      expect(undrain.undrain).toEqual({
        linkId: state.linkId,
        to: expect.stringMatching(/^(DEGRADED|DOWN)$/),
        vpns: expect.arrayContaining([state.prod, state.nonprod]),
      });
      expect(undrain.undrain?.vpns).toHaveLength(2);
      expect(undrain.results.map((x) => `${x.vpnId} ${x.side} ${x.outcome}`).sort()).toEqual(
        [
          `${state.nonprod} aws unchanged`,
          `${state.nonprod} gcp changed`,
          `${state.prod} aws unchanged`,
          `${state.prod} gcp changed`,
        ].sort(),
      );
      for (const f of state.flows)
        expect(w.flow(f).path).toMatchObject({ delivered: true, via: { kind: 'vpn' } });
      // Traffic was lost (the link was down and the VPNs drained), and for no longer than the bound.
      expect(Math.max(...lost)).toBeGreaterThan(0);
      for (const ms of lossWindowMs) expect(ms).toBeLessThanOrEqual(WATCHER_PERIOD + BGP_ESTABLISHMENT);
      expect(detectedAt - downAt).toBeLessThanOrEqual(WATCHER_PERIOD);
    }, 900_000);

    it('drains them again once the link is back and has soaked, then deletes them on both clouds after the cooling-off; the prod one only once approved', async (ctx) => {
      dumpOnFailure(ctx, both, 'vpn-run-apply-delete');
      if (!state.sharedId) throw new Error('the undrain phase did not complete');
      const w = both.cloud.network;
      // Arrange: the undrain is measured; the soak, idle window and cooling-off to come flow at the
      // scenario's rate again.
      await driver?.stop();
      driver = driveClock(both.cloud.clock, { busyRate: BUSY_RATE });
      // Act: the link up again.
      const up = await both.cli('sim', 'link', 'up', state.sharedId);
      expect(up.code, up.err).toBe(0);
      const upAt = both.cloud.clock.now();
      const again = await waitFor(`${state.linkId} ACTIVE again`, async () => {
        const v = await bothSides(state.linkId);
        return v.aws.state === 'ACTIVE' && v.gcp.state === 'ACTIVE' ? v : undefined;
      });
      // The soak counts from the link's last move back to ACTIVE in the record the run reads (AWS's).
      const healthyAgainAt = Date.parse(again.aws.stages.at(-1)?.at ?? '');
      // Each VPN drains and is deleted in its own time: one that carried traffic while the link was
      // down waits for the idle window to pass before `effective-routes` lets it drain (both did when
      // the VPNs shared it, so one run may drain, and delete, both).
      const redrained = {
        prod: await scheduledRunDoing('drain', [state.prod], upAt),
        nonprod: await scheduledRunDoing('drain', [state.nonprod], upAt),
      };
      const deleting = {
        nonprod: await scheduledRunDoing(
          'delete',
          [state.nonprod],
          Date.parse(redrained.nonprod.scheduledAt),
        ),
        prod: await scheduledRunDoing('delete', [state.prod], Date.parse(redrained.prod.scheduledAt)),
      };
      state.deleteRuns = [deleting.nonprod.runId, deleting.prod.runId];
      await waitFor(
        'the nonprod VPN gone on both clouds',
        async () => goneOnBoth('payments-vpn-vgw-2', state.nonprod),
        600_000,
      );
      const prodBeforeApproval = goneOnBoth('payments-vpn-vgw', state.prod);
      // Each side's half parks the prod delete before its approver can approve it (404 until then).
      const approve = (side: string, who: string) =>
        untilOk(both.cli, ['vpn', 'approve', deleting.prod.runId, state.prod, '--side', side, '--as', who]);
      const approvedAws = await approve('aws', 'bob');
      const approvedGcp = await approve('gcp', 'carol');
      await waitFor(
        'the prod VPN gone on both clouds',
        async () => goneOnBoth('payments-vpn-vgw', state.prod),
        600_000,
      );
      const deleteResults = async (runId: string, vpnId: string) =>
        waitFor(
          `both delete results of ${vpnId} in ${runId}`,
          async () => {
            const r = (await show(runId)).results
              .filter((x) => x.action === 'delete' && x.vpnId === vpnId)
              .map((x) => `${x.side} ${x.outcome}`)
              .sort();
            return r.length === 2 ? r : undefined;
          },
          RELAYED_MS,
        );
      const deleted = {
        nonprod: await deleteResults(deleting.nonprod.runId, state.nonprod),
        prod: await deleteResults(deleting.prod.runId, state.prod),
      };

      // Assess
      for (const env of ['prod', 'nonprod'] as const) {
        expect(Date.parse(redrained[env].scheduledAt) - healthyAgainAt).toBeGreaterThanOrEqual(SOAK);
        expect(
          Date.parse(deleting[env].scheduledAt) - Date.parse(redrained[env].scheduledAt),
        ).toBeGreaterThanOrEqual(COOLING_OFF);
        expect(deleted[env]).toEqual(['aws changed', 'gcp changed']);
      }
      expect(prodBeforeApproval).toBe(false);
      expect(approvedAws.code, approvedAws.err).toBe(0);
      expect(approvedGcp.code, approvedGcp.err).toBe(0);
      // Both flows go over the link.
      for (const f of state.flows)
        expect(w.flow(f).path).toMatchObject({
          delivered: true,
          via: { kind: 'link', linkId: state.linkId },
        });
    }, 1_500_000);

    it('reports the saving of the deletes at config/pricing.yaml’s prices', async () => {
      if (state.deleteRuns.length !== 2) throw new Error('the delete phase did not complete');
      // The two VPNs are deleted by one run or by two (each in its own time): count per run.
      const deletesOf = new Map<string, number>();
      for (const id of state.deleteRuns) deletesOf.set(id, (deletesOf.get(id) ?? 0) + 1);
      const last = state.deleteRuns[1] as string;
      const shown = await Promise.all(
        [...deletesOf].map(async ([id, n]) => ({ n, saving: (await show(id)).run?.saving.monthly })),
      );
      const table = await both.cli('vpn', 'runs', 'show', last);
      // One VPN connection at 0.05 USD an hour, 730 hours a month; Google's tunnel price is unknown.
      for (const r of shown) expect(r.saving).toEqual({ aws: 36.5 * r.n, gcp: null });
      expect(table.out).toContain(
        `saved per month by its deletes: aws $${(36.5 * (deletesOf.get(last) ?? 0)).toFixed(2)}, gcp unknown`,
      );
    });

    if (chaos)
      it('applied each action once per VPN per half, dead-lettered nothing, and every fault fired', async () => {
        if (state.deleteRuns.length !== 2) throw new Error('the delete phase did not complete');
        const w = both.cloud.network;
        // Each half's `changed` answers, over every run, in the order they were applied.
        const answered = new Map<string, { at: number; action: string }[]>();
        for (const h of await runs())
          for (const r of (await show(h.runId)).results)
            if (r.outcome === 'changed') {
              const key = `${r.vpnId} ${r.side}`;
              answered.set(key, [
                ...(answered.get(key) ?? []),
                { at: Date.parse(r.appliedAt), action: r.action },
              ]);
            }
        const reported = (vpnId: string, side: string) =>
          (answered.get(`${vpnId} ${side}`) ?? []).sort((a, b) => a.at - b.at).map((x) => x.action);
        const observer = await Observer.start(both);
        const deadLetters = [...(await observer.deadLetters()), ...(await observer.relayDeadLetters())];
        const { faults } = await both.json<{
          faults: { kind: string; service: string; operation?: string; fired: number }[];
        }>('sim', 'fault', 'list');

        // Assess: per VPN, the world changed each half once per action its answers report: Google
        // drained, undrained on the link's weakening, drained again and deleted; AWS only deleted
        // (a VGW VPN is drained from Google's side). Each action touched each of its two peers or
        // tunnels once.
        for (const id of [state.prod, state.nonprod]) {
          const gcp = appliedActions(id, 'gcp');
          console.info(`${id}: Google ${gcp.join(', ')}; AWS ${appliedActions(id, 'aws').join(', ')}`);
          expect(gcp).toEqual(reported(id, 'gcp'));
          expect(appliedActions(id, 'aws')).toEqual(reported(id, 'aws'));
          expect(gcp.slice(0, 2)).toEqual(['drain', 'undrain']);
          expect(gcp.slice(-2)).toEqual(['drain', 'delete']);
          expect(appliedActions(id, 'aws')).toEqual(['delete']);
          const count = (kind: VpnChange['kind']) => w.vpnChangesOf(id).filter((c) => c.kind === kind).length;
          const drains = gcp.filter((a) => a === 'drain').length;
          expect(count('bgp-peer-disabled')).toBe(2 * drains);
          expect(count('bgp-peer-enabled')).toBe(2 * (drains - 1));
          expect([
            count('vpn-tunnel-deleted'),
            count('bgp-peer-removed'),
            count('vpn-connection-deleted'),
          ]).toEqual([2, 2, 1]);
        }
        // Both copies of the link's weakening (AWS's and Google's, each delivered twice) made one run.
        expect(
          (await runs()).filter((h) => h.trigger === 'link-state' && h.undrain?.linkId === state.linkId),
        ).toHaveLength(1);
        expect(deadLetters).toEqual([]);
        const { aws, gcp } = throttled(coordinator);
        expect(faults).toHaveLength(
          2 * (RELAY_DELIVERIES.gcp.length + RELAY_DELIVERIES.aws.length) + aws.length + gcp.length,
        );
        for (const f of faults)
          expect(f.fired, `${f.kind} ${f.service} ${f.operation ?? ''}`).toBeGreaterThan(0);
      });
  });
}
