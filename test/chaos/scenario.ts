/**
 * A chaos scenario, drawn from a seed with fast-check's arbitraries: a workload (what people ask of
 * crosslink: links on both flows across the policy's region pairs, their approvals, their
 * decommissions) and a fault schedule on the local cloud's virtual clock. fast-check shrinks a
 * failing scenario: the schedule loses faults, a fault loses duration and rate, the workload loses
 * links, until the failure no longer shows.
 *
 * Workloads of other jobs (VPN runs, DR failover) add their own plans beside `links` through the
 * registry (registry.ts); the fault kinds below are the local cloud's, shared by every workload.
 */
import fc from 'fast-check';
import { type DrScenario, drScenarioArb } from './dr-scenario.ts';

/**
 * The policy's region pairs (config/policy.yaml), each with the DX gateway of the estate there
 * (config/local-estate.yaml) and the routes each side sends, as the examples of the pair request
 * them: the AWS routes are the gateway's VPC CIDRs, the prefixes it allows, so verify finds them
 * covered (routes the gateway does not allow fail verify 30 minutes after the link is up).
 */
export const REGION_PAIRS = {
  'us-east': {
    aws: 'us-east-1',
    gcp: 'us-east4',
    gateway: '90392BE3-219C-47FD-BBA5-03DF76D2542A',
    residency: 'US',
    routes: { aws: ['10.10.0.0/16'], gcp: ['10.20.0.0/16'] },
  },
  'us-west': {
    aws: 'us-west-2',
    gcp: 'us-west1',
    gateway: '5B2E8C41-7D3A-4F6B-9E10-2C4D6A8B0F13',
    residency: 'US',
    routes: { aws: ['10.30.0.0/16'], gcp: ['10.31.0.0/16'] },
  },
  eu: {
    aws: 'eu-central-1',
    gcp: 'europe-west3',
    gateway: '8E4A1C27-3B5D-4A9F-B6C2-7D1E3F5A9B24',
    residency: 'EU',
    routes: { aws: ['10.40.0.0/16'], gcp: ['10.41.0.0/16'] },
  },
} as const;
export type RegionPair = keyof typeof REGION_PAIRS;

export interface LinkPlan {
  /** The side that requests the link (and issues the activation key). */
  initiator: 'aws' | 'gcp';
  pair: RegionPair;
  /** `both`: each side's approver approves; `initiator`: the peer's approver never does. */
  approvals: 'both' | 'initiator';
  /** Once ACTIVE, the requester asks to decommission it and the other side's approver approves. */
  decommission: boolean;
}

/**
 * An IPsec VPN between the clouds that a link of the scenario replaces (a VPN run's subject): built
 * for the scenario between the link's AWS gateway (the virtual private gateway its Direct Connect
 * gateway is associated with) and its Google network, then planned by `runs` VPN runs started one
 * after the other under the fault schedule (vpn.ts).
 */
export interface VpnPlan {
  /** The link it runs beside, by index (taken modulo the links there are). */
  link: number;
  /** prod (a delete waits on each side's approval) or nonprod (tagged and labelled so). */
  environment: 'prod' | 'nonprod';
  /** VPN runs started, one after the other. */
  runs: number;
  /** A prod delete a run commands is approved on both sides (bob on AWS, carol on Google). */
  approve: boolean;
}

/** Virtual milliseconds from the scenario's start. */
interface Timed {
  at: number;
}

/** A fault the local cloud holds from `at` for `forMs` of virtual time. */
export type HeldFault = Timed & { forMs: number } & (
    | {
        kind: 'throttle' | 'error';
        service: ProviderService | VpnService;
        rate: number;
        /** `error` only: the HTTP status (the service's own server error when absent). */
        status?: 500 | 503;
      }
    | { kind: 'latency'; service: ProviderService; latencyMs: number }
    | { kind: 'stuck'; service: 'interconnect' | 'networkconnectivity'; state: string }
    | { kind: 'relay'; fault: 'duplicate' | 'reorder' | 'drop'; direction: RelayDirection; rate: number }
    | { kind: 'partition' }
    | { kind: 'crash'; target: CrashTarget; rate: number }
    | { kind: 'link-down' | 'flap'; link: number }
    | { kind: 'region-outage'; pair: RegionPair }
    | { kind: 'watcher-missed'; side: 'aws' | 'gcp' }
  );

/** A fault that happens once at `at`. */
export type InstantFault = Timed & { kind: 'clock-jump'; byMs: number };

export type ChaosFault = HeldFault | InstantFault;

export interface Scenario {
  links: LinkPlan[];
  faults: ChaosFault[];
  /** The protected service's part (dr-scenario.ts), drawn after the links and the faults. */
  dr: DrScenario;
  /** The VPNs the links replace and their runs (absent: none). */
  vpns?: VpnPlan[];
}

/** The services whose calls fail, slow down or throttle: the providers and the secret stores. */
export const PROVIDER_SERVICES = [
  'aws:interconnect',
  'gcp:networkconnectivity',
  'aws:secretsmanager',
  'gcp:secretmanager',
  'aws:kms',
  'gcp:cloudkms',
] as const;
export type ProviderService = (typeof PROVIDER_SERVICES)[number];

/**
 * The services only the VPN runs call: EC2 (the AWS half and inventory) and Compute Engine (the
 * Google half and inventory). Drawn with the VPN part of a scenario, after the links' part.
 */
export const VPN_SERVICES = ['aws:ec2', 'gcp:compute'] as const;
export type VpnService = (typeof VPN_SERVICES)[number];

/**
 * The hops of an event between the clouds: AWS -> Google (the SQS relay queue to the relay Lambda),
 * Google -> AWS (the push to the relay function), Google's peer-event pushes to its consumer and
 * AWS's peer-event queue to its consumer Lambda.
 */
export const RELAY_DIRECTIONS = ['aws-to-gcp', 'gcp-to-aws', 'gcp-peer-push', 'aws-peer-queue'] as const;
export type RelayDirection = (typeof RELAY_DIRECTIONS)[number];

/**
 * Where a function crashes after its effect: an AWS Lambda of serverless.yml (its name without the
 * service and stage) or a Google push subscription (the function it pushes to). The intakes are not
 * among them: a person sees their crash and asks again, which is a workload, not a fault.
 */
export const CRASH_TARGETS = [
  'lambda:peerEvents',
  'lambda:relayToGoogle',
  'lambda:relayFromGoogle',
  'lambda:starter',
  'lambda:watcher',
  'lambda:stepActivateInitiate',
  'lambda:stepActivateAccept',
  'lambda:stepCompensate',
  'lambda:stepDecommissionRequest',
  'lambda:stepDeleteOwnHalf',
  'lambda:stepConfirmDeleted',
  'pubsub:crosslink-peer-events-push',
  'pubsub:crosslink-starter-push',
  'pubsub:crosslink-audit-push',
  'pubsub:crosslink-events-relay',
] as const;
export type CrashTarget = (typeof CRASH_TARGETS)[number];

const MIN = 60_000;

/** Faults start within the first 40 virtual minutes and last up to 30. */
const at = fc.integer({ min: 0, max: 40 * MIN });
const forMs = fc.integer({ min: MIN, max: 30 * MIN });
const rate = fc.double({ min: 0.05, max: 0.6, noNaN: true }).map((r) => Math.round(r * 100) / 100);

function heldFault(links: number): fc.Arbitrary<HeldFault> {
  const service = fc.constantFrom(...PROVIDER_SERVICES);
  const base = { at, forMs };
  const kinds: fc.Arbitrary<HeldFault>[] = [
    fc.record({ ...base, kind: fc.constant('throttle' as const), service, rate }),
    fc.record(
      { ...base, kind: fc.constant('error' as const), service, rate, status: fc.constantFrom(500, 503) },
      { requiredKeys: ['at', 'forMs', 'kind', 'service', 'rate'] },
    ),
    fc.record({
      ...base,
      kind: fc.constant('latency' as const),
      service,
      latencyMs: fc.integer({ min: 50, max: 1500 }),
    }),
    fc.oneof(
      fc.record({
        ...base,
        kind: fc.constant('stuck' as const),
        service: fc.constant('interconnect' as const),
        state: fc.constantFrom('pending', 'requested'),
      }),
      fc.record({
        ...base,
        kind: fc.constant('stuck' as const),
        service: fc.constant('networkconnectivity' as const),
        state: fc.constantFrom('CREATING', 'PENDING_CONFIG'),
      }),
    ),
    fc.record({
      ...base,
      kind: fc.constant('relay' as const),
      fault: fc.constantFrom('duplicate' as const, 'reorder' as const),
      direction: fc.constantFrom(...RELAY_DIRECTIONS),
      rate,
    }),
    // A push lost on the way (Pub/Sub redelivers it). SQS hands every record to its function, so
    // the SQS hops lose nothing: their losses are a partition's (publishes failing) or a crash's.
    fc.record({
      ...base,
      kind: fc.constant('relay' as const),
      fault: fc.constant('drop' as const),
      direction: fc.constantFrom('gcp-to-aws' as const, 'gcp-peer-push' as const),
      rate,
    }),
    fc.record({ ...base, kind: fc.constant('partition' as const) }),
    fc.record({
      ...base,
      kind: fc.constant('crash' as const),
      target: fc.constantFrom(...CRASH_TARGETS),
      rate,
    }),
    fc.record({
      ...base,
      kind: fc.constantFrom('link-down' as const, 'flap' as const),
      link: fc.integer({ min: 0, max: Math.max(0, links - 1) }),
    }),
    fc.record({ ...base, kind: fc.constant('region-outage' as const), pair: pairArb }),
    fc.record({
      ...base,
      kind: fc.constant('watcher-missed' as const),
      side: fc.constantFrom('aws' as const, 'gcp' as const),
    }),
  ];
  return fc.oneof(...kinds);
}

const pairArb = fc.constantFrom(...(Object.keys(REGION_PAIRS) as RegionPair[]));

const clockJump: fc.Arbitrary<InstantFault> = fc.record({
  at,
  kind: fc.constant('clock-jump' as const),
  byMs: fc.integer({ min: MIN, max: 3 * 60 * MIN }),
});

export const linkPlanArb: fc.Arbitrary<LinkPlan> = fc.record({
  initiator: fc.constantFrom('aws' as const, 'gcp' as const),
  pair: pairArb,
  approvals: fc.oneof(
    { weight: 3, arbitrary: fc.constant('both' as const) },
    { weight: 1, arbitrary: fc.constant('initiator' as const) },
  ),
  decommission: fc.boolean(),
});

export const vpnPlanArb = (maxLinks: number): fc.Arbitrary<VpnPlan> =>
  fc.record({
    link: fc.integer({ min: 0, max: Math.max(0, maxLinks - 1) }),
    environment: fc.constantFrom('prod' as const, 'nonprod' as const),
    runs: fc.integer({ min: 1, max: 3 }),
    approve: fc.boolean(),
  });

/** EC2 or Compute calls throttled or failing while the VPN runs run. */
const vpnFault: fc.Arbitrary<HeldFault> = fc.record(
  {
    at,
    forMs,
    kind: fc.constantFrom('throttle' as const, 'error' as const),
    service: fc.constantFrom(...VPN_SERVICES),
    rate,
  },
  { requiredKeys: ['at', 'forMs', 'kind', 'service', 'rate'] },
);

/** The VPN part of a scenario: VPNs beside the links, and faults on the calls only they make. */
function vpnPartArb(
  maxLinks: number,
  maxVpns: number,
): fc.Arbitrary<{ vpns: VpnPlan[]; faults: HeldFault[] }> {
  return fc.record({
    vpns: fc.array(vpnPlanArb(maxLinks), { maxLength: maxVpns }),
    faults: fc.array(vpnFault, { maxLength: 2 }),
  });
}

export interface ScenarioLimits {
  /** At most this many links (default 2). */
  maxLinks?: number;
  /** At most this many faults (default 6), not counting the VPN part's. */
  maxFaults?: number;
  /** At most this many VPNs (default 2; 0: no VPN part). */
  maxVpns?: number;
}

/**
 * Scenarios: 1 to `maxLinks` links, 0 to `maxFaults` faults in the order they start. Links and faults
 * are drawn apart (a tuple, not a chain) so that fast-check shrinks both: a fault on a link names
 * one by its index, taken modulo the links there are.
 */
export function scenarioArb(limits: ScenarioLimits = {}): fc.Arbitrary<Scenario> {
  const maxLinks = limits.maxLinks ?? 2;
  const maxFaults = limits.maxFaults ?? 6;
  const faults = fc.array(
    fc.oneof({ weight: 9, arbitrary: heldFault(maxLinks) }, { weight: 1, arbitrary: clockJump }),
    { maxLength: maxFaults },
  );
  const maxVpns = limits.maxVpns ?? 2;
  // The DR part, then the VPN part, are drawn after the links and their faults (the tuple's last),
  // so a seed's links and faults are what they were without them, and their shrinks keep their
  // place in a path.
  const vpnPart =
    maxVpns > 0
      ? vpnPartArb(maxLinks, maxVpns)
      : fc.constant({ vpns: [] as VpnPlan[], faults: [] as HeldFault[] });
  return fc
    .tuple(fc.array(linkPlanArb, { minLength: 1, maxLength: maxLinks }), faults, drScenarioArb, vpnPart)
    .map(([links, drawn, dr, vpnDrawn]) => {
      const vpns = vpnDrawn.vpns.map((v) => ({ ...v, link: v.link % links.length }));
      return {
        links,
        dr,
        faults: [...drawn, ...(vpns.length > 0 ? vpnDrawn.faults : [])]
          .map((f) =>
            f.kind === 'link-down' || f.kind === 'flap' ? { ...f, link: f.link % links.length } : f,
          )
          .sort((a, b) => a.at - b.at),
        ...(vpns.length > 0 ? { vpns } : {}),
      };
    });
}

/** When the last fault ends (virtual ms from the start). */
export function faultsEndAt(s: Scenario): number {
  return Math.max(0, ...s.faults.map((f) => f.at + ('forMs' in f ? f.forMs : 0)));
}

/** One line per link and fault, for failure reports and the trace. */
export function describeScenario(s: Pick<Scenario, 'links' | 'faults' | 'vpns'>): string[] {
  const min = (ms: number) => `${Math.round(ms / 1000 / 6) / 10}m`;
  return [
    ...s.links.map(
      (l, i) =>
        `link ${i}: ${l.initiator} first, ${l.pair}, approvals ${l.approvals}${l.decommission ? ', then decommission' : ''}`,
    ),
    ...(s.vpns ?? []).map(
      (v, i) =>
        `vpn ${i}: beside link ${v.link}, ${v.environment}, ${v.runs} run(s)${v.environment === 'prod' ? `, delete ${v.approve ? 'approved' : 'never approved'}` : ''}`,
    ),
    ...s.faults.map((f) => {
      const { at: when, kind, ...rest } = f;
      const held = 'forMs' in rest ? ` for ${min(rest.forMs)}` : '';
      const detail = Object.entries(rest)
        .filter(([k]) => k !== 'forMs')
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      return `at +${min(when)}${held}: ${kind} ${detail}`.trimEnd();
    }),
  ];
}
