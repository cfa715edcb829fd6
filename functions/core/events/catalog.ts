/**
 * Event catalog v1: the `data` of every crosslink event. Each has a JSON Schema in
 * `events/<Name>.v1.schema.json` naming its producer and consumers; a test checks that these types
 * and the schemas list the same fields. Every link event's `data` carries `linkId` and `policyHash`;
 * every VPN event's carries `runId` and `vpnId`, its idempotency key (docs/vpn-runs.md); every DR
 * event's carries `service` and the decision's `epoch`, its fencing token (docs/dr-executor.md).
 * A v1 consumer ignores fields it does not know, so fields may be added within v1.
 */
import type { Cloud } from '../envelope.ts';
import type { HalfCondition, LinkState, NativeState } from '../link/model.ts';
import type { LinkRequest } from '../policy/request.ts';

interface Base {
  linkId: string;
  /** sha256 of the RFC 8785 canonical JSON of the policy the producer ran. */
  policyHash: string;
}

export interface LinkRequestedData extends Base {
  request: LinkRequest;
  /** The verified caller of the intake (IAM principal ARN or Google email). */
  requester: string;
  requestedVia: Cloud;
  requestedAt: string;
}

export interface LinkApprovalRequestedData extends Base {
  name: string;
  environment: 'prod' | 'nonprod';
  initiator: Cloud;
  bandwidth: string;
  requester: string;
  /** Principal patterns that may approve for each side. */
  approvers: Record<Cloud, string[]>;
  /** When the approval wait escalates, and when it expires. */
  escalateAt: string;
  expiresAt: string;
  /** What approval is asked for: the link (absent or provisioning) or a request to decommission it. */
  stage?: 'provisioning' | 'decommissioning';
}

export interface LinkApprovedData extends Base {
  side: Cloud;
  /** The verified approver, or `policy:<rule>` for an auto-approval. */
  approver: string;
  approvedAt: string;
  auto: boolean;
  /** What was decided: the link itself (absent, v1's original meaning) or a request to decommission it. */
  stage?: 'provisioning' | 'decommissioning';
}

export interface LinkRejectedData extends Base {
  side: Cloud;
  approver: string;
  rejectedAt: string;
  reason: string;
  /** What was decided: the link itself (absent, v1's original meaning) or a request to decommission it. */
  stage?: 'provisioning' | 'decommissioning';
}

export interface LinkExpiredData extends Base {
  /** The sides whose approval never came. */
  waitingFor: Cloud[];
  expiredAt: string;
  /** What expired: the link itself (absent, v1's original meaning) or a request to decommission it. */
  stage?: 'provisioning' | 'decommissioning';
}

/** The activation key sealed to the peer: AES-256-GCM under a data key wrapped with RSA-OAEP-SHA-256. */
export interface SealedKey {
  alg: 'RSA-OAEP-256+A256GCM';
  /** The peer's asymmetric key the data key is wrapped to (KMS key ARN / Cloud KMS key version name). */
  recipientKeyId: string;
  wrappedKey: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

export interface LinkKeyIssuedData extends Base {
  issuer: Cloud;
  sealedKey: SealedKey;
  bandwidth: string;
  /** The issuing half: AWS connection id or Google transport name. */
  issuerResource: string;
  issuedAt: string;
}

export interface LinkSideStateChangedData extends Base {
  side: Cloud;
  /** The owning cloud's per-half sequence; receivers apply only a higher one. */
  sequence: number;
  nativeState: NativeState | null;
  previousNativeState: NativeState | null;
  condition: HalfCondition;
  resourceId?: string;
  sharedId?: string;
  adminEnabled?: boolean;
  observedAt: string;
}

export interface LinkStateChangedData extends Base {
  from: LinkState;
  to: LinkState;
  reason: string;
  halves: Record<Cloud, { nativeState: NativeState | null; condition: HalfCondition; sequence: number }>;
}

export interface LinkDecommissionRequestedData extends Base {
  requestedBy: string;
  requestedVia: Cloud;
  requestedAt: string;
  reason?: string;
}

export interface LinkFailedData extends Base {
  side: Cloud;
  stage: 'request' | 'approve' | 'activate' | 'verify' | 'drain' | 'delete' | 'confirm';
  error: { name: string; message: string };
  /** What compensation removed, so nothing is left billing. */
  compensation: { deleted: string[]; remaining: string[] };
  failedAt: string;
}

/** A command to one cloud's half of a VPN: drain, undrain or delete it (the event's name says which). */
export interface VpnHalfCommandData {
  /** The planner run that decided it: with `vpnId`, the command's idempotency key. */
  runId: string;
  /** The AWS VPN connection id: the one id both halves share. */
  vpnId: string;
  requestedBy: string;
  requestedAt: string;
  /**
   * The VPN's Google HA VPN tunnels (`projects/<p>/regions/<r>/vpnTunnels/<name>` or their URL), as
   * the planner paired them with the AWS tunnels by address: what Google's half acts on (required
   * there; the AWS half reads its own side by `vpnId`).
   */
  gcpTunnels?: string[];
  /**
   * The AWS region the VPN connection is in, as the run's inventory read it: where the AWS half acts
   * (required there; Google's half does not read it).
   */
  awsRegion?: string;
}

/** What one cloud's half did with a command (the event's name says which action). */
export interface VpnHalfResultData {
  runId: string;
  vpnId: string;
  side: Cloud;
  /**
   * changed: resources changed; unchanged: already so; gone: the VPN is deleted; stale: a later run
   * already applied; expired (a delete only): its approval did not come before the deadline.
   */
  outcome: 'changed' | 'unchanged' | 'gone' | 'stale' | 'expired';
  /** How this side drains: Transit Gateway propagation, Cloud Router BGP peers, or left to Google's half. */
  method: 'tgw-propagation' | 'gcp-bgp-peers' | 'google-side';
  /** The resources changed, in the order they were (route tables, VPN, customer gateway; tunnels, peers). */
  changed: string[];
  reason: string;
  appliedAt: string;
}

/** A VPN run ended: its totals, modes and saving (the per-VPN detail stays in its record). */
export interface VpnRunReportedData {
  runId: string;
  installation: string;
  scheduledAt: string;
  plannedAt: string;
  trigger: 'schedule' | 'manual' | 'link-state';
  modes: { prod: 'dry-run' | 'apply'; nonprod: 'dry-run' | 'apply' };
  totals: { keep: number; drain: number; undrain: number; delete: number; emitted: number };
  saving: {
    currency: string;
    monthly: { aws: number | null; gcp: number | null };
    pendingMonthly: { aws: number | null; gcp: number | null };
    dryRunMonthly: { aws: number | null; gcp: number | null };
    source: string;
  };
  reportedAt: string;
}

/** The coordinator of the VPN runs asks the other cloud for its VPN inventory. */
export interface VpnInventoryRequestedData {
  runId: string;
  /** The cloud whose inventory is asked for. */
  side: Cloud;
  requestedAt: string;
}

/**
 * One page of a cloud's VPN inventory: `export` holds this page's part of the side's export in the
 * form the planner imports (functions/core/vpn/inventory-pages.ts splits and merges it).
 */
export interface VpnInventoryReportedData {
  runId: string;
  side: Cloud;
  /** From 1. */
  page: number;
  pages: number;
  reportedAt: string;
  export: Record<string, unknown>;
}

/**
 * One observation of one DR signal from one vantage point (events/dr-signal.v1.schema.json's line),
 * recorded on the side that made it and sent to the other side's copy of the signal log.
 */
export interface DrSignalObservedData {
  time: string;
  service: string;
  vantage: string;
  signal: string;
  status: 'healthy' | 'unhealthy' | 'unknown';
  detail?: string;
  reason?: 'vantage-down' | 'no-data';
}

/** A DR plan's decision (docs/dr-executor.md): what the decider of the plan's executor decided, and why. */
export interface DrDecisionMadeData {
  service: string;
  epoch: number;
  decision: 'failover' | 'failback' | 'hold';
  approval?: 'pending' | 'approved' | 'not-required';
  by?: string;
  active: 'primary' | 'standby';
  trigger: 'signal' | 'control' | 'tick';
  reasons: { code: string; message: string }[];
  decidedAt: string;
}

/** A plan's action as the DR events name it: its type and the cloud that runs it. */
export interface DrActionRef {
  type:
    | 'fence-writer'
    | 'promote-replica'
    | 'scale-standby'
    | 'arc-routing-control'
    | 'cloud-dns-failover-policy';
  cloud: Cloud;
}

export interface DrActionStartedData {
  service: string;
  decision: 'failover' | 'failback';
  epoch: number;
  index: number;
  action: DrActionRef;
  /** Who runs it (functions/core/dr/executor-plan.ts `stepVia`). */
  via: 'local' | 'relay' | 'commanded';
  deadline: string;
  startedAt: string;
}

export interface DrActionFinishedData {
  service: string;
  decision: 'failover' | 'failback';
  epoch: number;
  index: number;
  action: DrActionRef;
  outcome: 'succeeded' | 'failed' | 'timed-out' | 'refused';
  detail?: string;
  /** Set by the commanded side that ran the action (its result); absent on the executor's own record. */
  reportedBy?: 'commanded';
  finishedAt: string;
  /** The deadline of the command this answers (a commanded side's result): which copy, when the executor sent it again. */
  deadline?: string;
}

/** A move carried out to its end: `DrFailedOver` (to the standby) or `DrFailedBack` (to the primary). */
export interface DrMovedData {
  service: string;
  epoch: number;
  from: { cloud: Cloud; region: string };
  to: { cloud: Cloud; region: string };
  approvedBy?: string;
  startedAt: string;
  finishedAt: string;
  actions: number;
}

export interface EventDataByName {
  LinkRequested: LinkRequestedData;
  LinkApprovalRequested: LinkApprovalRequestedData;
  LinkApproved: LinkApprovedData;
  LinkRejected: LinkRejectedData;
  LinkExpired: LinkExpiredData;
  LinkKeyIssued: LinkKeyIssuedData;
  LinkSideStateChanged: LinkSideStateChangedData;
  LinkStateChanged: LinkStateChangedData;
  LinkDecommissionRequested: LinkDecommissionRequestedData;
  LinkFailed: LinkFailedData;
  VpnDrainRequested: VpnHalfCommandData;
  VpnDrained: VpnHalfResultData;
  VpnUndrainRequested: VpnHalfCommandData;
  VpnUndrained: VpnHalfResultData;
  VpnDeleteRequested: VpnHalfCommandData;
  VpnHalfDeleted: VpnHalfResultData;
  VpnRunReported: VpnRunReportedData;
  VpnInventoryRequested: VpnInventoryRequestedData;
  VpnInventoryReported: VpnInventoryReportedData;
  DrSignalObserved: DrSignalObservedData;
  DrDecisionMade: DrDecisionMadeData;
  DrActionStarted: DrActionStartedData;
  DrActionFinished: DrActionFinishedData;
  DrFailedOver: DrMovedData;
  DrFailedBack: DrMovedData;
}

export type EventName = keyof EventDataByName;
/** The events about a link (each `data` has `linkId` and `policyHash`). */
export type LinkEventName = Extract<EventName, `Link${string}`>;

/**
 * Whether an event is one of a link's (the VPN events are applied by vpn-half, the DR events by the
 * signal logs and the executor, not the link use cases).
 */
export function isLinkEvent(name: EventName): name is LinkEventName {
  return name.startsWith('Link');
}

export const EVENT_NAMES = [
  'LinkRequested',
  'LinkApprovalRequested',
  'LinkApproved',
  'LinkRejected',
  'LinkExpired',
  'LinkKeyIssued',
  'LinkSideStateChanged',
  'LinkStateChanged',
  'LinkDecommissionRequested',
  'LinkFailed',
  'VpnDrainRequested',
  'VpnDrained',
  'VpnUndrainRequested',
  'VpnUndrained',
  'VpnDeleteRequested',
  'VpnHalfDeleted',
  'VpnRunReported',
  'VpnInventoryRequested',
  'VpnInventoryReported',
  'DrSignalObserved',
  'DrDecisionMade',
  'DrActionStarted',
  'DrActionFinished',
  'DrFailedOver',
  'DrFailedBack',
] as const satisfies readonly EventName[];

const VPN_COMMAND_FIELDS = {
  required: ['runId', 'vpnId', 'requestedBy', 'requestedAt'],
  optional: ['gcpTunnels', 'awsRegion'],
} as const;
const VPN_RESULT_FIELDS = {
  required: ['runId', 'vpnId', 'side', 'outcome', 'method', 'changed', 'reason', 'appliedAt'],
  optional: [],
} as const;

const DR_MOVED_FIELDS = {
  required: ['service', 'epoch', 'from', 'to', 'startedAt', 'finishedAt', 'actions'],
  optional: ['approvedBy'],
} as const;

/** Every field of each event's data, required ones first: the test compares these with the schemas. */
export const EVENT_FIELDS = {
  LinkRequested: {
    required: ['linkId', 'policyHash', 'request', 'requester', 'requestedVia', 'requestedAt'],
    optional: [],
  },
  LinkApprovalRequested: {
    required: [
      'linkId',
      'policyHash',
      'name',
      'environment',
      'initiator',
      'bandwidth',
      'requester',
      'approvers',
      'escalateAt',
      'expiresAt',
    ],
    optional: ['stage'],
  },
  LinkApproved: {
    required: ['linkId', 'policyHash', 'side', 'approver', 'approvedAt', 'auto'],
    optional: ['stage'],
  },
  LinkRejected: {
    required: ['linkId', 'policyHash', 'side', 'approver', 'rejectedAt', 'reason'],
    optional: ['stage'],
  },
  LinkExpired: { required: ['linkId', 'policyHash', 'waitingFor', 'expiredAt'], optional: ['stage'] },
  LinkKeyIssued: {
    required: ['linkId', 'policyHash', 'issuer', 'sealedKey', 'bandwidth', 'issuerResource', 'issuedAt'],
    optional: [],
  },
  LinkSideStateChanged: {
    required: [
      'linkId',
      'policyHash',
      'side',
      'sequence',
      'nativeState',
      'previousNativeState',
      'condition',
      'observedAt',
    ],
    optional: ['resourceId', 'sharedId', 'adminEnabled'],
  },
  LinkStateChanged: { required: ['linkId', 'policyHash', 'from', 'to', 'reason', 'halves'], optional: [] },
  LinkDecommissionRequested: {
    required: ['linkId', 'policyHash', 'requestedBy', 'requestedVia', 'requestedAt'],
    optional: ['reason'],
  },
  LinkFailed: {
    required: ['linkId', 'policyHash', 'side', 'stage', 'error', 'compensation', 'failedAt'],
    optional: [],
  },
  VpnDrainRequested: VPN_COMMAND_FIELDS,
  VpnDrained: VPN_RESULT_FIELDS,
  VpnUndrainRequested: VPN_COMMAND_FIELDS,
  VpnUndrained: VPN_RESULT_FIELDS,
  VpnDeleteRequested: VPN_COMMAND_FIELDS,
  VpnHalfDeleted: VPN_RESULT_FIELDS,
  VpnRunReported: {
    required: [
      'runId',
      'installation',
      'scheduledAt',
      'plannedAt',
      'trigger',
      'modes',
      'totals',
      'saving',
      'reportedAt',
    ],
    optional: [],
  },
  VpnInventoryRequested: { required: ['runId', 'side', 'requestedAt'], optional: [] },
  VpnInventoryReported: {
    required: ['runId', 'side', 'page', 'pages', 'reportedAt', 'export'],
    optional: [],
  },
  DrSignalObserved: {
    required: ['time', 'service', 'vantage', 'signal', 'status'],
    optional: ['detail', 'reason'],
  },
  DrDecisionMade: {
    required: ['service', 'epoch', 'decision', 'active', 'trigger', 'reasons', 'decidedAt'],
    optional: ['approval', 'by'],
  },
  DrActionStarted: {
    required: ['service', 'decision', 'epoch', 'index', 'action', 'via', 'deadline', 'startedAt'],
    optional: [],
  },
  DrActionFinished: {
    required: ['service', 'decision', 'epoch', 'index', 'action', 'outcome', 'finishedAt'],
    optional: ['detail', 'reportedBy', 'deadline'],
  },
  DrFailedOver: DR_MOVED_FIELDS,
  DrFailedBack: DR_MOVED_FIELDS,
} as const satisfies {
  [N in EventName]: {
    required: readonly (keyof EventDataByName[N])[];
    optional: readonly (keyof EventDataByName[N])[];
  };
};

// Compile-time proof that EVENT_FIELDS lists exactly each type's required and optional fields.
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
type OptionalKeys<T> = Exclude<keyof T, RequiredKeys<T>>;
type Listed<N extends EventName, W extends 'required' | 'optional'> = (typeof EVENT_FIELDS)[N][W][number];
type Mismatch = {
  [N in EventName]:
    | Exclude<RequiredKeys<EventDataByName[N]>, Listed<N, 'required'>>
    | Exclude<Listed<N, 'required'>, RequiredKeys<EventDataByName[N]>>
    | Exclude<OptionalKeys<EventDataByName[N]>, Listed<N, 'optional'>>
    | Exclude<Listed<N, 'optional'>, OptionalKeys<EventDataByName[N]>>;
};
type AssertNever<T extends Record<EventName, never>> = T;
export type EventFieldsMatchTypes = AssertNever<Mismatch>;
