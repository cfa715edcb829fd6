/**
 * The ports the link use cases talk to the world through. DynamoDB (AWS) and Firestore (Google)
 * implement `LinkStore` with single-item conditional writes; EventBridge and Pub/Sub implement
 * `EventSink`. No multi-item transactions: every write stands alone and is idempotent.
 */
import type { Clock } from '../clock.ts';
import type { CloudEvent, Origin } from '../envelope.ts';
import type { SealedKey } from '../events/catalog.ts';
import type { Policy } from '../policy/policy.ts';
import type { LinkRequest } from '../policy/request.ts';
import type { EvaluationContext } from '../policy/rules.ts';
import type { LinkRecord, LinkState } from './model.ts';

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
  /** How long an idempotency key or a seen event id is remembered (default 24 h). */
  idempotencyTtlMs?: number;
}
