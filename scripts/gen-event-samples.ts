#!/usr/bin/env node
/**
 * `npm run gen:samples`: writes events/samples/<Name>.{cloudevent,eventbridge,pubsub-push}.json.
 *
 * The samples are built, not written by hand: the real `buildEvent` and the real EventBridge / Pub/Sub
 * mappings of functions/core/envelope.ts, on a ManualClock, with fixed ids and randomness, so the
 * output is the same on every run. test/unit/events-catalog.test.ts compares the committed files with
 * `eventSamples()`, so a change to the envelope or the catalog that is not regenerated fails the tests.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type EventBridgeEvent, toEventBridgeEntry } from '#aws/envelope.ts';
import { ManualClock } from '#core/clock.ts';
import { advance, type Effect, type Run, startRun } from '#core/dr/executor.ts';
import { type DrEvent, decisionMade, runEvents } from '#core/dr/executor-events.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import { parseDrPlan } from '#core/dr/plan.ts';
import { drSignalSubject } from '#core/dr/vantage.ts';
import { buildEvent, type CloudEvent, type Origin, parseEventType } from '#core/envelope.ts';
import { EVENT_NAMES, type EventDataByName, type EventName } from '#core/events/catalog.ts';
import { mintEventId, mintLinkId } from '#core/ids.ts';
import type { LinkRequest } from '#core/policy/request.ts';
import { type PubSubPushBody, toPubSubMessage } from '#gcp/envelope.ts';

/** Fixed bytes for a label: deterministic stand-ins for randomness and ciphertext. */
function bytes(label: string, n: number): Buffer {
  let out = Buffer.alloc(0);
  for (let i = 0; out.length < n; i++)
    out = Buffer.concat([out, createHash('sha256').update(`${label}/${i}`).digest()]);
  return out.subarray(0, n);
}

function hex(label: string, n: number): string {
  return bytes(label, n).toString('hex');
}

function uuid(label: string): string {
  const h = hex(label, 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The hub account and project the samples are delivered in. */
export const SAMPLE_AWS = { accountId: '000000000000', region: 'us-east-1', eventBusName: 'crosslink' };
export const SAMPLE_GCP = {
  project: 'crosslink-hub',
  region: 'us-east4',
  subscription: 'projects/crosslink-hub/subscriptions/crosslink-events-push',
};
const AWS_ORIGIN: Origin = { cloud: 'aws', accountId: SAMPLE_AWS.accountId, region: SAMPLE_AWS.region };
const GCP_ORIGIN: Origin = { cloud: 'gcp', project: SAMPLE_GCP.project, region: SAMPLE_GCP.region };

const START = '2026-03-02T09:15:00.000Z';
const linkClock = new ManualClock(START);
const LINK_ID = mintLinkId(linkClock, bytes('link', 10));
const POLICY_HASH = hex('sample policy', 32);
const TRANSPORT = `projects/${SAMPLE_GCP.project}/locations/${SAMPLE_GCP.region}/transports/${LINK_ID}`;
const CONNECTION = 'mcc-8f3k2q7d';

const REQUEST: LinkRequest = {
  name: 'payments-east',
  initiator: 'aws',
  bandwidth: '1Gbps',
  environment: 'prod',
  residency: 'US',
  aws: {
    accountId: SAMPLE_AWS.accountId,
    region: SAMPLE_AWS.region,
    directConnectGateway: '90392BE3-219C-47FD-BBA5-03DF76D2542A',
    routes: ['10.10.0.0/16', '10.11.0.0/16'],
  },
  gcp: { project: 'payments-prod', region: 'us-east4', network: 'payments-vpc', routes: ['10.20.0.0/16'] },
};

/** The VPN samples' VPN, its Transit Gateway attachment and route table, and the planner run. */
const VPN_AT = 4 * 24 * 60;
/** The DR signal sample: an observation during an outage of the payments plan's primary. */
const DR_SIGNAL_AT = 5 * 24 * 60;
const VPN_ID = 'vpn-0a1b2c3d4e5f60718';
const CUSTOMER_GATEWAY = 'cgw-0c2d4e6f80a1b3c5d';
const TGW_ATTACHMENT = 'tgw-attach-0f1e2d3c4b5a69788';
const TGW_ROUTE_TABLE = 'tgw-rtb-0a9b8c7d6e5f40312';
const RUN_ID = 'vpn-plan-2026-03-06T09-00';

function vpnCommand(at: number): EventDataByName['VpnDrainRequested'] {
  return {
    runId: RUN_ID,
    vpnId: VPN_ID,
    requestedBy: 'arn:aws:sts::000000000000:assumed-role/crosslink-vpn-planner/run',
    requestedAt: iso(at),
    awsRegion: 'us-east-1',
    gcpTunnels: [
      'projects/payments-prod/regions/us-east4/vpnTunnels/payments-vpn-tunnel-0',
      'projects/payments-prod/regions/us-east4/vpnTunnels/payments-vpn-tunnel-1',
    ],
  };
}

function vpnResult(
  at: number,
  outcome: EventDataByName['VpnDrained']['outcome'],
  changed: string[],
  reason: string,
): EventDataByName['VpnDrained'] {
  return {
    runId: RUN_ID,
    vpnId: VPN_ID,
    side: 'aws',
    outcome,
    method: 'tgw-propagation',
    changed,
    reason,
    appliedAt: iso(at),
  };
}

/**
 * The DR samples: the example payments plan's failover, run through the real executor, its actions
 * answered a few seconds apart (minutes after the link's request, as every sample's `at`).
 */
const DR_AT = 6 * 24 * 60;
function drStory(): Map<DrEvent['name'], DrEvent['data']> {
  const plan = parseDrPlan(
    readFileSync(resolve(import.meta.dirname, '../config/dr-plans/example-payments.yaml'), 'utf8'),
  );
  const decision: Decision = {
    time: iso(DR_AT),
    service: plan.service,
    epoch: 3,
    trigger: 'tick',
    decision: 'failover',
    approval: 'not-required',
    active: 'standby',
    reasons: [
      {
        code: 'quorum',
        message:
          '3 of 3 independent vantage points (aws:us-west-2, external:route53-health-checks, gcp:us-west1) report the primary unhealthy (quorum 2)',
      },
      { code: 'hysteresis-elapsed', message: `unhealthy by quorum since ${iso(DR_AT - 1)} (1m >= 1m)` },
    ],
    actions: plan.actions.failover,
  };
  const events: DrEvent[] = [decisionMade(decision)];
  let step = startRun(plan, decision);
  const collect = (run: Run, effects: Effect[]) => events.push(...runEvents(plan, run, effects));
  collect(step.run, step.effects);
  for (const [index, seconds] of [
    [0, 10],
    [1, 40],
    [2, 75],
    [3, 77],
  ] as const) {
    step = advance(step.run, {
      type: 'result',
      result: {
        service: plan.service,
        epoch: 3,
        index,
        outcome: 'succeeded',
        time: iso(DR_AT + seconds / 60),
      },
    });
    collect(step.run, step.effects);
  }
  // Each name's first event; an action's are the promotion's (Google's, commanded across the relay).
  const byName = new Map<DrEvent['name'], DrEvent['data']>();
  const promotion = (e: DrEvent) =>
    (e.name !== 'DrActionStarted' && e.name !== 'DrActionFinished') ||
    e.data.action.type === 'promote-replica';
  for (const e of events) if (!byName.has(e.name) && promotion(e)) byName.set(e.name, e.data);
  const failedOver = byName.get('DrFailedOver') as EventDataByName['DrFailedOver'];
  // The failback an hour later, after the stable period and its approval.
  byName.set('DrFailedBack', {
    ...failedOver,
    epoch: 6,
    from: failedOver.to,
    to: failedOver.from,
    approvedBy: 'carol@example.com',
    startedAt: iso(DR_AT + 60),
    finishedAt: iso(DR_AT + 62),
  });
  return byName;
}
let dr: Map<DrEvent['name'], DrEvent['data']> | undefined;
const drData = <N extends DrEvent['name']>(name: N) => {
  dr ??= drStory();
  return dr.get(name) as EventDataByName[N];
};

interface Sample<N extends EventName> {
  origin: Origin;
  /** Minutes after the request: the samples tell one link's story in order. */
  at: number;
  data: EventDataByName[N];
}

const iso = (minutes: number) => new Date(Date.parse(START) + minutes * 60_000).toISOString();

/** One sample per event. Typed by the catalog, so a sample that the types refuse does not compile. */
const SAMPLES: { [N in EventName]: Sample<N> } = {
  LinkRequested: {
    origin: AWS_ORIGIN,
    at: 0,
    data: {
      linkId: LINK_ID,
      policyHash: POLICY_HASH,
      request: REQUEST,
      requester: 'arn:aws:iam::000000000000:user/alice',
      requestedVia: 'aws',
      requestedAt: iso(0),
    },
  },
  LinkApprovalRequested: {
    origin: AWS_ORIGIN,
    at: 1,
    data: {
      linkId: LINK_ID,
      policyHash: POLICY_HASH,
      name: REQUEST.name,
      environment: REQUEST.environment,
      initiator: REQUEST.initiator,
      bandwidth: REQUEST.bandwidth,
      requester: 'arn:aws:iam::000000000000:user/alice',
      approvers: { aws: ['arn:aws:iam::000000000000:user/bob'], gcp: ['carol@example.com'] },
      escalateAt: iso(1 + 24 * 60),
      expiresAt: iso(1 + 72 * 60),
    },
  },
  LinkApproved: {
    origin: GCP_ORIGIN,
    at: 30,
    data: {
      linkId: LINK_ID,
      policyHash: POLICY_HASH,
      side: 'gcp',
      approver: 'carol@example.com',
      approvedAt: iso(30),
      auto: false,
    },
  },
  LinkRejected: {
    origin: AWS_ORIGIN,
    at: 31,
    data: {
      linkId: LINK_ID,
      policyHash: POLICY_HASH,
      side: 'aws',
      approver: 'arn:aws:iam::000000000000:user/bob',
      rejectedAt: iso(31),
      reason: 'the payments VPC is being renumbered this week',
    },
  },
  LinkExpired: {
    origin: AWS_ORIGIN,
    at: 1 + 72 * 60,
    data: { linkId: LINK_ID, policyHash: POLICY_HASH, waitingFor: ['aws'], expiredAt: iso(1 + 72 * 60) },
  },
  LinkKeyIssued: {
    origin: AWS_ORIGIN,
    at: 40,
    data: {
      linkId: LINK_ID,
      policyHash: POLICY_HASH,
      issuer: 'aws',
      // Stand-in bytes of the right sizes (RSA 2048 wrap, 12-byte nonce, 16-byte tag): no real key.
      sealedKey: {
        alg: 'RSA-OAEP-256+A256GCM',
        recipientKeyId:
          'projects/crosslink-hub/locations/us-east4/keyRings/crosslink/cryptoKeys/peer-seal/cryptoKeyVersions/1',
        wrappedKey: bytes('wrapped data key', 256).toString('base64'),
        iv: bytes('gcm nonce', 12).toString('base64'),
        ciphertext: bytes('sealed activation key', 180).toString('base64'),
        tag: bytes('gcm tag', 16).toString('base64'),
      },
      bandwidth: REQUEST.bandwidth,
      issuerResource: CONNECTION,
      issuedAt: iso(40),
    },
  },
  LinkSideStateChanged: {
    origin: GCP_ORIGIN,
    at: 55,
    data: {
      linkId: LINK_ID,
      policyHash: POLICY_HASH,
      side: 'gcp',
      sequence: 3,
      nativeState: 'ACTIVE',
      previousNativeState: 'PENDING_CONFIG',
      condition: 'UP',
      resourceId: TRANSPORT,
      sharedId: uuid('shared connection'),
      adminEnabled: true,
      observedAt: iso(55),
    },
  },
  LinkStateChanged: {
    origin: AWS_ORIGIN,
    at: 56,
    data: {
      linkId: LINK_ID,
      policyHash: POLICY_HASH,
      from: 'PROVISIONING',
      to: 'ACTIVE',
      reason: 'both halves up',
      halves: {
        aws: { nativeState: 'available', condition: 'UP', sequence: 4 },
        gcp: { nativeState: 'ACTIVE', condition: 'UP', sequence: 3 },
      },
    },
  },
  LinkDecommissionRequested: {
    origin: GCP_ORIGIN,
    at: 90 * 24 * 60,
    data: {
      linkId: LINK_ID,
      policyHash: POLICY_HASH,
      requestedBy: 'alice@example.com',
      requestedVia: 'gcp',
      requestedAt: iso(90 * 24 * 60),
      reason: 'payments moved to us-central1',
    },
  },
  LinkFailed: {
    origin: AWS_ORIGIN,
    at: 45,
    data: {
      linkId: LINK_ID,
      policyHash: POLICY_HASH,
      side: 'aws',
      stage: 'activate',
      error: {
        name: 'ActivationKeyRefused',
        message: 'the peer refused the activation key: bandwidth mismatch',
      },
      compensation: { deleted: [CONNECTION], remaining: [] },
      failedAt: iso(45),
    },
  },
  // One VPN retired after the link is up: drained, undrained when the link degraded, drained again, deleted.
  VpnDrainRequested: { origin: AWS_ORIGIN, at: VPN_AT, data: vpnCommand(VPN_AT) },
  VpnDrained: {
    origin: AWS_ORIGIN,
    at: VPN_AT + 1,
    data: vpnResult(
      VPN_AT + 1,
      'changed',
      [TGW_ROUTE_TABLE],
      `disabling ${TGW_ATTACHMENT}'s propagation to ${TGW_ROUTE_TABLE}`,
    ),
  },
  VpnUndrainRequested: { origin: AWS_ORIGIN, at: VPN_AT + 60, data: vpnCommand(VPN_AT + 60) },
  VpnUndrained: {
    origin: AWS_ORIGIN,
    at: VPN_AT + 61,
    data: vpnResult(
      VPN_AT + 61,
      'changed',
      [TGW_ROUTE_TABLE],
      `enabling ${TGW_ATTACHMENT}'s propagation to ${TGW_ROUTE_TABLE}`,
    ),
  },
  VpnDeleteRequested: {
    origin: AWS_ORIGIN,
    at: VPN_AT + 8 * 24 * 60,
    data: vpnCommand(VPN_AT + 8 * 24 * 60),
  },
  VpnHalfDeleted: {
    origin: AWS_ORIGIN,
    at: VPN_AT + 8 * 24 * 60 + 1,
    data: vpnResult(
      VPN_AT + 8 * 24 * 60 + 1,
      'changed',
      [VPN_ID, CUSTOMER_GATEWAY],
      `deleting ${VPN_ID} then ${CUSTOMER_GATEWAY}`,
    ),
  },
  // The scheduled run that drained it: one VPN drained, one kept; the saving once it is deleted.
  VpnRunReported: {
    origin: AWS_ORIGIN,
    at: VPN_AT + 2,
    data: {
      runId: 'vpn-prod-20260306T090000Z',
      installation: 'prod',
      scheduledAt: iso(VPN_AT),
      plannedAt: iso(VPN_AT),
      trigger: 'schedule',
      modes: { prod: 'dry-run', nonprod: 'apply' },
      totals: { keep: 1, drain: 1, undrain: 0, delete: 0, emitted: 1 },
      saving: {
        currency: 'USD',
        monthly: { aws: 0, gcp: null },
        pendingMonthly: { aws: 36.5, gcp: null },
        dryRunMonthly: { aws: 0, gcp: null },
        source: 'https://aws.amazon.com/vpn/pricing/ (AWS); Google: no figure found',
      },
      reportedAt: iso(VPN_AT + 2),
    },
  },
  // AWS coordinates the run: it asks Google for its inventory, which answers in one page here.
  VpnInventoryRequested: {
    origin: AWS_ORIGIN,
    at: VPN_AT - 2,
    data: { runId: RUN_ID, side: 'gcp', requestedAt: iso(VPN_AT - 2) },
  },
  VpnInventoryReported: {
    origin: GCP_ORIGIN,
    at: VPN_AT - 1,
    data: {
      runId: RUN_ID,
      side: 'gcp',
      page: 1,
      pages: 1,
      reportedAt: iso(VPN_AT - 1),
      export: {
        vpnTunnels: [
          {
            name: 'payments-vpn-tunnel-0',
            region: 'https://www.googleapis.com/compute/v1/projects/payments-prod/regions/us-east4',
            peerIp: '203.0.113.10',
            router:
              'https://www.googleapis.com/compute/v1/projects/payments-prod/regions/us-east4/routers/payments-router',
            status: 'ESTABLISHED',
          },
        ],
        routers: [{ name: 'payments-router', bgpPeers: [] }],
        routerStatus: { 'payments-router': { result: { bestRoutes: [] } } },
        externalVpnGateways: [],
      },
    },
  },
  // The Google vantage point's probe saw the primary fail for the third minute in a row.
  DrSignalObserved: {
    origin: GCP_ORIGIN,
    at: DR_SIGNAL_AT,
    data: {
      time: iso(DR_SIGNAL_AT),
      service: 'payments-api',
      vantage: 'gcp-us-west1',
      signal: 'api-availability',
      status: 'unhealthy',
      detail: 'GET https://payments.us-east-1.example.com/healthz: ECONNRESET (3 of 3 failures in a row)',
    },
  },
  // A DR plan's failover (example-payments) and its failback.
  DrDecisionMade: { origin: AWS_ORIGIN, at: DR_AT, data: drData('DrDecisionMade') },
  DrActionStarted: { origin: AWS_ORIGIN, at: DR_AT, data: drData('DrActionStarted') },
  DrActionFinished: { origin: AWS_ORIGIN, at: DR_AT + 1, data: drData('DrActionFinished') },
  DrFailedOver: { origin: AWS_ORIGIN, at: DR_AT + 2, data: drData('DrFailedOver') },
  DrFailedBack: { origin: AWS_ORIGIN, at: DR_AT + 62, data: drData('DrFailedBack') },
};

/** A push body as Pub/Sub sends it: the message's id and time also appear in snake_case. */
export interface PubSubPushWire extends PubSubPushBody {
  message: PubSubPushBody['message'] & { message_id: string; publish_time: string };
}

export interface EventSampleSet {
  cloudevent: CloudEvent;
  eventbridge: EventBridgeEvent;
  pubsubPush: PubSubPushWire;
}

function buildSample<N extends EventName>(name: N): EventSampleSet {
  const s = SAMPLES[name] as Sample<N>;
  const clock = new ManualClock(Date.parse(START) + s.at * 60_000);
  const cloudevent = buildEvent({
    name,
    origin: s.origin,
    subject:
      'vantage' in s.data
        ? drSignalSubject(s.data)
        : 'service' in s.data
          ? s.data.service
          : 'vpnId' in s.data
            ? s.data.vpnId
            : 'runId' in s.data
              ? s.data.runId
              : LINK_ID,
    data: s.data,
    clock,
    id: mintEventId(clock, bytes(`event ${name}`, 10)),
    traceparent: `00-${hex(`trace ${name}`, 16)}-${hex(`span ${name}`, 8)}-01`,
  }) as CloudEvent;

  // As EventBridge delivers the PutEvents entry to a rule's target on the hub bus: time at second
  // precision, the account and region of the bus, the CloudEvent as `detail`.
  const entry = toEventBridgeEntry(cloudevent, SAMPLE_AWS.eventBusName);
  const eventbridge: EventBridgeEvent = {
    version: '0',
    id: uuid(`eventbridge ${name}`),
    'detail-type': entry.DetailType,
    source: entry.Source,
    account: SAMPLE_AWS.accountId,
    time: `${(entry.Time ?? new Date(cloudevent.time)).toISOString().slice(0, 19)}Z`,
    region: SAMPLE_AWS.region,
    resources: [],
    detail: JSON.parse(entry.Detail) as unknown,
  };

  // As a push subscription POSTs it: data base64, and both the camelCase and snake_case id and time
  // that Pub/Sub push bodies carry.
  const message = toPubSubMessage(cloudevent);
  const messageId = BigInt(`0x${hex(`pubsub ${name}`, 6)}`).toString();
  const publishTime = new Date(clock.now() + 137).toISOString();
  const pubsubPush: PubSubPushWire = {
    message: {
      attributes: message.attributes,
      data: message.data.toString('base64'),
      messageId,
      message_id: messageId,
      publishTime,
      publish_time: publishTime,
    },
    subscription: SAMPLE_GCP.subscription,
  };

  if (parseEventType(cloudevent.type)?.name !== name)
    throw new Error(`sample ${name} has type ${cloudevent.type}`);
  return { cloudevent, eventbridge, pubsubPush };
}

/** Every sample file: `events/samples/<file>` -> its JSON value. */
export function eventSamples(): Map<string, unknown> {
  const files = new Map<string, unknown>();
  for (const name of EVENT_NAMES) {
    const s = buildSample(name);
    files.set(`${name}.cloudevent.json`, s.cloudevent);
    files.set(`${name}.eventbridge.json`, s.eventbridge);
    files.set(`${name}.pubsub-push.json`, s.pubsubPush);
  }
  return files;
}

export const SAMPLES_DIR = resolve(import.meta.dirname, '..', 'events', 'samples');

if (import.meta.main) {
  mkdirSync(SAMPLES_DIR, { recursive: true });
  const files = eventSamples();
  for (const [file, value] of files)
    writeFileSync(join(SAMPLES_DIR, file), `${JSON.stringify(value, null, 2)}\n`);
  console.log(`wrote ${files.size} samples to events/samples/`);
}
