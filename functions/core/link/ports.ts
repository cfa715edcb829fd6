/**
 * The ports the link use cases talk to the world through. DynamoDB (AWS) and Firestore (Google)
 * implement `LinkStore` with single-item conditional writes; EventBridge and Pub/Sub implement
 * `EventSink`. No multi-item transactions: every write stands alone and is idempotent.
 */
import type { Clock } from '../clock.ts';
import type { CloudEvent, Origin } from '../envelope.ts';
import type { SealedKey } from '../events/catalog.ts';
import type { KeyFlow, Policy } from '../policy/policy.ts';
import type { LinkRequest } from '../policy/request.ts';
import type { EvaluationContext } from '../policy/rules.ts';
import type { Cloud, LinkRecord, LinkState, NativeState } from './model.ts';

export interface StoredLink {
  link: LinkRecord;
  /** Incremented on every write; `update` succeeds only against the version it read. */
  version: number;
}

/** One append-only audit item: who did what, under which policy, and why it was allowed or refused. */
export interface AuditEntry {
  linkId: string;
  at: string;
  /** The verified principal, or `crosslink` for the service itself, or `peer:<cloud>` for a peer event. */
  actor: string;
  action: string;
  outcome: 'allowed' | 'refused' | 'applied' | 'ignored';
  policyHash: string;
  reasons: string[];
  /** The CloudEvent that carried it, when it came as one. */
  eventId?: string;
  /**
   * That CloudEvent's own `time` (when its producer emitted it), so a reader can order the events
   * that crossed between the clouds as they were sent, not as each side happened to receive them.
   */
  eventTime?: string;
}

/** Who asked, as this side's intake verified them. */
export interface Caller {
  /** The verified principal: an IAM principal ARN or a Google account email. */
  principal: string;
  /** The cloud whose intake verified it. */
  side: Cloud;
}

export interface LinkStore {
  get(linkId: string): Promise<StoredLink | undefined>;
  /** Creates the record; ConflictError when one with the id exists. */
  create(link: LinkRecord): Promise<StoredLink>;
  /** Replaces the record; ConflictError when its version is no longer `expectedVersion`. */
  update(link: LinkRecord, expectedVersion: number): Promise<StoredLink>;
  list(query: {
    state?: LinkState;
    limit?: number;
    cursor?: string;
  }): Promise<{ items: LinkRecord[]; cursor?: string }>;
  appendAudit(entry: AuditEntry): Promise<void>;
  listAudit(linkId: string): Promise<AuditEntry[]>;
  /**
   * Claims an idempotency key until `expiresAt` (ms). The first claim stores `result` and returns
   * `{claimed: true}`; later claims before expiry return the stored result. Expired keys count as
   * absent even if not yet deleted (the local DynamoDB has no TTL deletion).
   */
  claim(
    key: string,
    expiresAt: number,
    result: unknown,
  ): Promise<{ claimed: true } | { claimed: false; result: unknown }>;
  /**
   * Sets a key's result and expiry whatever it holds: the claimer marks its claim done (a longer
   * expiry), or frees it (an expiry already past counts as absent).
   */
  settle(key: string, expiresAt: number, result: unknown): Promise<void>;
}

/** What a stage waits for: both approvals, the peer's sealed key, both halves up, this half gone, ... */
export type WaitPhase = 'approval' | 'key' | 'up' | 'gone' | 'decommissionApproval' | 'drained';

/**
 * What an orchestrated half keeps beside the `LinkStore` port: the resume handle of each waiting stage
 * (a Step Functions task token, a Workflows callback URL) and the sealed key the peer sent.
 */
export interface StageStore extends LinkStore {
  putToken(linkId: string, phase: WaitPhase, token: string): Promise<void>;
  /** Reads and removes the token (only the reader that removes it gets it). */
  takeToken(linkId: string, phase: WaitPhase): Promise<string | undefined>;
  putSealedKey(linkId: string, sealed: SealedKey): Promise<void>;
  getSealedKey(linkId: string): Promise<SealedKey | undefined>;
}

export interface EventSink {
  /** Puts events on this cloud's bus / topic; throws if any could not be put (after its own retries). */
  put(events: CloudEvent[]): Promise<void>;
}

/** Live values for the request stage: environment state, bandwidths, the Google profile's flow. */
export interface CapacityProbe {
  check(request: LinkRequest): Promise<NonNullable<EvaluationContext['live']>>;
}

export interface LinkDeps {
  store: LinkStore;
  events: EventSink;
  policy: Policy;
  clock: Clock;
  /** This side: where the code runs, for event sources and for "own half" decisions. */
  origin: Origin;
  capacity?: CapacityProbe;
  /**
   * Where this side may place its half (Google: the hub or a configured network project): the
   * problems with the request's placement, each naming its field; any refuses the request at the
   * intake (ValidationError) before anything is recorded. Absent: anywhere.
   */
  placement?: (request: LinkRequest) => { path: string; reason: string }[];
  /** How long an idempotency key or a seen event id is remembered (default 24 h). */
  idempotencyTtlMs?: number;
  /**
   * How long one delivery of a peer event holds its id before another may apply it (default 2 min):
   * longer than the consuming function's timeout, shorter than the redelivery after a crash.
   */
  peerEventLeaseMs?: number;
}

// ---- the ports of the orchestrated steps (functions/core/link, one module per stage) -------------

/** Resumes a waiting stage: a Step Functions task token on AWS, a Workflows callback URL on Google. */
export interface TaskTokens {
  success(token: string, output: unknown): Promise<void>;
  failure(token: string, error: string, cause: string): Promise<void>;
}

/**
 * Where an activation key lives (Secrets Manager, Secret Manager): written the moment the provider
 * issues it; only its reference travels on (state, events, history carry the reference).
 */
export interface SecretStore {
  /** Stores (or replaces) the key; returns the secret's name, the reference that travels. */
  putActivationKey(linkId: string, key: string): Promise<string>;
  getActivationKey(ref: string): Promise<string>;
  /** Deletes the secret at once (no recovery window: the key is useless after its link is gone). */
  deleteActivationKey(linkId: string): Promise<void>;
}

/** Decrypts a data key the peer wrapped to this side's asymmetric key (KMS Decrypt, Cloud KMS asymmetricDecrypt). */
export type Unwrap = (wrapped: Buffer) => Promise<Buffer>;

/** This side's half as the steps pass it around: never an activation key. */
export interface OwnHalfView {
  /**
   * The provider's id of the half: an AWS connection id, a Google transport's resource name. (The
   * field keeps the name the step JSON has always used, so both orchestrators read the same JSON.)
   */
  connectionId: string;
  state: NativeState;
  /** Google: whether the transport is in service (false = drained); absent on AWS. */
  adminEnabled?: boolean;
  sharedId?: string;
  /** The link id the provider resource is labelled with, when it is crosslink's. */
  linkId?: string;
}

/**
 * Where the half goes comes from the request: the AWS half in `aws.region` (the environment
 * toward `gcp.region` discovered there), the Google half in `gcp.region` (the remote profile toward
 * `aws.region` discovered there).
 */
export interface InitiateHalfInput {
  linkId: string;
  request: LinkRequest;
  /** Cost tags / labels, beside the link id. */
  tags: Record<string, string>;
}

export interface AcceptHalfInput {
  linkId: string;
  request: LinkRequest;
  /** The peer's key, unsealed: passed to the provider and nowhere else. */
  activationKey: string;
  tags: Record<string, string>;
}

/** The live offering of a region pair on one side, for the request stage. */
export interface PairCapacity {
  /** `unavailable` refuses the request. */
  state: string;
  availableBandwidths: string[];
  /** What was found, for people: `AWS environment mce-aws-gcp-pdx in us-west-2`, a profile's name. */
  offering: string;
  /** Google: the profile's key flow, which must let the initiator issue the key. */
  flow?: KeyFlow;
}

/**
 * This cloud's provider of link halves (AWS Interconnect, Google TransportManager). Only `initiate`
 * sees an issued key, and it puts it in the secret store before returning its reference.
 */
export interface OwnHalves {
  /**
   * Live capacity of the request's region pair on this side, discovered in the request's regions
   * (a pair with nothing offered there throws CapacityUnavailableError).
   */
  capacity(request: LinkRequest): Promise<PairCapacity>;
  initiate(input: InitiateHalfInput): Promise<{ half: OwnHalfView; keyRef: string }>;
  accept(input: AcceptHalfInput): Promise<OwnHalfView>;
  /** The half, or null when the provider says it does not exist (404). */
  getHalf(connectionId: string): Promise<OwnHalfView | null>;
  /**
   * The live halves labelled with the link id (a create whose answer was lost is found too), in
   * `region` when given: this side's region of the link's request, where every create of the link
   * goes, so an outage of another region says nothing about them. Without it (a record older than
   * its endpoints), in every region.
   */
  findHalves(linkId: string, region?: string): Promise<OwnHalfView[]>;
  /** Deletes the half; one already gone counts as deleted. `attempt` keys the request's idempotency. */
  deleteHalf(connectionId: string, attempt?: number): Promise<unknown>;
  /**
   * Takes the half out of service without deleting it (Google: `adminEnabled: false`). Absent where
   * the provider has no such switch (AWS): that side waits for the peer to drain instead.
   */
  disableHalf?(connectionId: string, attempt?: number): Promise<OwnHalfView | null>;
}
