/**
 * The link record: one cross-cloud link with its two halves. Each half keeps the provider's native
 * state exactly as the provider reports it, and a sequence number that the half's own cloud
 * increments on every change it observes; the peer's copy moves only on a higher sequence.
 */
import type { Cloud, CloudEvent } from '../envelope.ts';

export type { Cloud };

/** AWS Interconnect `ConnectionState`. */
export const AWS_CONNECTION_STATES = [
  'requested',
  'pending',
  'available',
  'down',
  'deleting',
  'deleted',
  'failed',
  'updating',
] as const;
export type AwsConnectionState = (typeof AWS_CONNECTION_STATES)[number];

/** Google TransportManager `Transport.State` (a deleted transport has no state: Get returns 404). */
export const GCP_TRANSPORT_STATES = ['CREATING', 'PENDING_KEY', 'PENDING_CONFIG', 'ACTIVE'] as const;
export type GcpTransportState = (typeof GCP_TRANSPORT_STATES)[number];

export type NativeState = AwsConnectionState | GcpTransportState;

/** What crosslink makes of a half's native state. */
export type HalfCondition = 'NONE' | 'PENDING' | 'UP' | 'DOWN' | 'DELETING' | 'GONE' | 'FAILED';

export interface Half {
  cloud: Cloud;
  /** The provider's state as last observed; null before the half exists and after it is confirmed gone. */
  nativeState: NativeState | null;
  /** Google only: `adminEnabled: false` keeps an ACTIVE transport out of service. */
  adminEnabled?: boolean;
  condition: HalfCondition;
  /** Incremented by the owning cloud on each observed change; 0 before any observation. */
  sequence: number;
  /** AWS connection id (mcc-...) or Google transport resource name. */
  resourceId?: string;
  /** The spec's shared connection UUID, once the providers assign it. */
  sharedId?: string;
  observedAt?: string;
}

export const LINK_STATES = [
  'REQUESTED',
  'AWAITING_APPROVAL',
  'APPROVED',
  'PROVISIONING',
  'ACTIVE',
  'DEGRADED',
  'DOWN',
  'DECOMMISSIONING',
  'DECOMMISSIONED',
  'REJECTED',
  'EXPIRED',
  'FAILED',
] as const;
/** The data path: every BGP session up, some down, or all down. */
export type LinkHealth = 'healthy' | 'impaired' | 'down';

export type LinkState = (typeof LINK_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<LinkState> = new Set([
  'DECOMMISSIONED',
  'REJECTED',
  'EXPIRED',
  'FAILED',
]);

export interface Approval {
  side: Cloud;
  decision: 'approved' | 'rejected';
  /** The verified principal (IAM ARN or Google email) or `policy:<rule>` for an auto-approval. */
  by: string;
  at: string;
  reason?: string;
}

/**
 * A request to take a link down. It needs one approval, from an approver of either side who is not
 * the person who asked (policy `people` identify one person across clouds). While it is PENDING
 * the link stays as it was; an approval moves the link to DECOMMISSIONING; a rejection or an expiry
 * closes the request and leaves the link untouched.
 */
export interface DecommissionRequest {
  requestedBy: string;
  requesterIdentity?: string;
  requestedVia: Cloud;
  requestedAt: string;
  reason?: string;
  status: 'PENDING' | 'APPROVED' | 'REJECTED' | 'EXPIRED';
  /** The approval or rejection that closed it (`policy:auto-approve` when policy approved it). */
  decision?: Approval;
  closedAt?: string;
  /** The execution attempt that carries it out; raised when a drain was not confirmed in time. */
  attempt: number;
  /** Set when an attempt stopped before deleting because the peer never reported its half drained. */
  stalled?: { at: string; reason: string };
}

export interface StageEntry {
  state: LinkState;
  at: string;
  reason?: string;
}

/** The networks a link joins and the prefixes each side sends over it, as requested. */
export interface LinkEndpoints {
  aws: { accountId: string; region: string; directConnectGateway: string; routes: string[] };
  gcp: { project: string; region: string; network: string; routes: string[] };
}

export interface LinkRecord {
  id: string;
  name: string;
  initiator: Cloud;
  environment: 'prod' | 'nonprod';
  /** The verified principal that requested the link. */
  requester: string;
  /** The person behind `requester` when policy names one (so the same person cannot approve from the other cloud). */
  requesterIdentity?: string;
  /** The requested bandwidth (e.g. 1Gbps): events about the link carry it, escalations included. */
  bandwidth: string;
  /**
   * What the link joins and carries, as requested: the VPN runs match it with the VPNs it replaces
   * (functions/core/vpn/run-links.ts). Records made before it was kept lack it.
   */
  endpoints?: LinkEndpoints;
  policyHash: string;
  state: LinkState;
  halves: { aws: Half; gcp: Half };
  approvals: Approval[];
  /**
   * The data path's health as this side's watcher last judged it (docs/link-health.md): `impaired`
   * (DEGRADED) when some BGP sessions of the link are down, `down` (DOWN) when all are, with why.
   */
  health: { status: LinkHealth; at: string | null; detail?: string };
  stages: StageEntry[];
  /** The latest decommission request, if any. */
  decommission?: DecommissionRequest;
  /**
   * Events written with the change that caused them and not yet confirmed on the bus (a transactional
   * outbox in the same item): a crash between the write and the put cannot lose them, and a retry
   * re-puts them with the same ids, which receivers deduplicate.
   */
  outbox?: CloudEvent[];
  createdAt: string;
  updatedAt: string;
}

/**
 * The region of `cloud`'s half as requested, where every create of it goes; undefined for a record
 * made before the endpoints were kept.
 */
export function ownRegion(link: LinkRecord, cloud: Cloud): string | undefined {
  return link.endpoints?.[cloud].region;
}

export function peerOf(cloud: Cloud): Cloud {
  return cloud === 'aws' ? 'gcp' : 'aws';
}

export function emptyHalf(cloud: Cloud): Half {
  return { cloud, nativeState: null, condition: 'NONE', sequence: 0 };
}

/** Maps a provider's native state to crosslink's condition of a half. */
export function conditionOf(
  cloud: Cloud,
  nativeState: NativeState | null,
  adminEnabled?: boolean,
): HalfCondition {
  if (nativeState === null) return 'GONE';
  if (cloud === 'aws') {
    switch (nativeState as AwsConnectionState) {
      case 'requested':
      case 'pending':
        return 'PENDING';
      case 'available':
      case 'updating': // an update of a live connection: still carrying traffic
        return 'UP';
      case 'down':
        return 'DOWN';
      case 'deleting':
        return 'DELETING';
      case 'deleted':
        return 'GONE';
      case 'failed':
        return 'FAILED';
    }
  } else {
    switch (nativeState as GcpTransportState) {
      case 'CREATING':
      case 'PENDING_KEY':
      case 'PENDING_CONFIG':
        return 'PENDING';
      case 'ACTIVE':
        return adminEnabled === false ? 'DOWN' : 'UP';
    }
  }
  throw new RangeError(`${String(nativeState)} is not a ${cloud} native state`);
}

export function isNativeState(cloud: Cloud, s: unknown): s is NativeState {
  return cloud === 'aws'
    ? (AWS_CONNECTION_STATES as readonly unknown[]).includes(s)
    : (GCP_TRANSPORT_STATES as readonly unknown[]).includes(s);
}
