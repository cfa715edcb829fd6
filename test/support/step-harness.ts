/**
 * The cloud-neutral steps (functions/core/link, one module per stage) wired in memory with AWS as the own side:
 * a stage store with tokens, an event sink that can be made to fail, a provider of connections
 * that the test moves by hand, recorded token answers, and a manual clock.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ManualClock } from '#core/clock.ts';
import type { CloudEvent } from '#core/envelope.ts';
import type { SealedKey } from '#core/events/catalog.ts';
import type { LinkRecord, NativeState } from '#core/link/model.ts';
import type { OwnHalfView, OwnHalves, PairCapacity, StageStore, WaitPhase } from '#core/link/ports.ts';
import type { StepDeps } from '#core/link/stage.ts';
import { createLink, type LinkInput, transition } from '#core/link/transition.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import type { LinkRequest } from '#core/policy/request.ts';
import { MemorySecretStore } from './memory-secrets.ts';
import { MemoryEventSink, MemoryLinkStore } from './memory-store.ts';

export const T0 = Date.parse('2026-11-26T10:00:00Z');
export const LINK = 'lk-01jgc0000000000000000000ab';
export const CONNECTION = 'mcc-fgabc123';
export const BOB = 'arn:aws:iam::000000000000:user/bob';
export const CAROL = 'carol@example.com';

export class MemoryStageStore extends MemoryLinkStore implements StageStore {
  readonly tokens = new Map<string, string>();
  readonly sealed = new Map<string, SealedKey>();
  async putToken(linkId: string, phase: WaitPhase, token: string) {
    this.tokens.set(`${linkId}-${phase}`, token);
  }
  async takeToken(linkId: string, phase: WaitPhase) {
    const t = this.tokens.get(`${linkId}-${phase}`);
    this.tokens.delete(`${linkId}-${phase}`);
    return t;
  }
  async putSealedKey(linkId: string, sealed: SealedKey) {
    this.sealed.set(linkId, sealed);
  }
  async getSealedKey(linkId: string) {
    return this.sealed.get(linkId);
  }
}

/** A sink whose next `failures` puts throw (as EventBridge's partial failure does), delivering nothing. */
export class FlakySink extends MemoryEventSink {
  failures = 0;
  override async put(events: CloudEvent[]) {
    if (this.failures > 0) {
      this.failures--;
      const e = new Error(`${events.length} events not put`);
      e.name = 'EventsNotPutError';
      throw e;
    }
    await super.put(events);
  }
}

/** Connections the test sets by hand; `listHalves` for the AWS watcher. */
export class FakeConnections implements OwnHalves {
  readonly halves = new Map<string, OwnHalfView>();
  readonly deleted: string[] = [];
  /** The region each `findHalves` was asked to search (undefined: every region). */
  readonly searched: (string | undefined)[] = [];
  async capacity(_request: LinkRequest): Promise<PairCapacity> {
    return { state: 'available', availableBandwidths: ['1Gbps', '10Gbps'], offering: 'environment env-1' };
  }
  async initiate(input: { linkId: string }): Promise<{ half: OwnHalfView; keyRef: string }> {
    const half: OwnHalfView = { connectionId: CONNECTION, state: 'requested', linkId: input.linkId };
    this.halves.set(CONNECTION, half);
    return { half, keyRef: `crosslink/${input.linkId}` };
  }
  async accept(): Promise<OwnHalfView> {
    throw new Error('not used');
  }
  set(state: NativeState, linkId = LINK, id = CONNECTION) {
    this.halves.set(id, { connectionId: id, state, linkId });
  }
  async getHalf(id: string) {
    return this.halves.get(id) ?? null;
  }
  async findHalves(linkId: string, region?: string) {
    this.searched.push(region);
    return [...this.halves.values()].filter((h) => h.linkId === linkId && h.state !== 'deleted');
  }
  async listHalves() {
    return [...this.halves.values()].map((h) => ({
      ...h,
      arn: `arn:aws:interconnect:us-east-1:000000000000:connection/${h.connectionId}`,
      environmentId: 'env-1',
      bandwidth: '1Gbps',
    }));
  }
  async deleteHalf(id: string) {
    this.deleted.push(id);
    this.halves.delete(id);
  }
}

/** The link of this test as its intake records it: REQUESTED. */
export function requestedLink(initiator: 'aws' | 'gcp' = 'aws', policyHash = 'a'.repeat(64)): LinkRecord {
  return createLink(
    {
      id: LINK,
      name: 'east',
      initiator,
      environment: 'prod',
      requester: 'arn:aws:iam::000000000000:user/alice',
      bandwidth: '1Gbps',
      policyHash,
    },
    T0,
  );
}

/** A link of this test, moved through `more` after both approvals. */
export function approvedLink(more: LinkInput[] = [], initiator: 'aws' | 'gcp' = 'aws'): LinkRecord {
  let link = requestedLink(initiator);
  const inputs: LinkInput[] = [
    { kind: 'requestApproval' },
    { kind: 'approve', side: 'aws', by: BOB },
    { kind: 'approve', side: 'gcp', by: CAROL },
    ...more,
  ];
  for (const [i, input] of inputs.entries()) link = transition(link, input, T0 + i * 1000).link;
  return link;
}

/** Inputs that take an approved link to ACTIVE with this side's connection. */
export const TO_ACTIVE: LinkInput[] = [
  { kind: 'startProvisioning' },
  { kind: 'halfObserved', side: 'aws', sequence: 1, nativeState: 'available', resourceId: CONNECTION },
  { kind: 'halfObserved', side: 'gcp', sequence: 1, nativeState: 'ACTIVE' },
];

export const REQUEST = {
  name: 'east',
  initiator: 'aws' as const,
  bandwidth: '1Gbps',
  environment: 'prod' as const,
  residency: 'US',
  aws: {
    accountId: '000000000000',
    region: 'us-east-1',
    directConnectGateway: '90392BE3-219C-47FD-BBA5-03DF76D2542A',
    routes: ['10.10.0.0/16'],
  },
  gcp: { project: 'payments-prod', region: 'us-east4', network: 'payments-vpc', routes: ['10.20.0.0/16'] },
};

export interface Harness {
  deps: StepDeps;
  store: MemoryStageStore;
  events: FlakySink;
  halves: FakeConnections;
  clock: ManualClock;
  answered: { token: string; output?: unknown; error?: string; cause?: string }[];
}

export function stepHarness(): Harness {
  const clock = new ManualClock(T0 + 60_000);
  const store = new MemoryStageStore(clock);
  const events = new FlakySink();
  const halves = new FakeConnections();
  const answered: Harness['answered'] = [];
  const peer = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const deps: StepDeps = {
    store,
    events,
    policy: loadPolicy(parse(readFileSync('config/policy.yaml', 'utf8'))),
    clock,
    origin: { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' },
    halves,
    secrets: new MemorySecretStore(),
    tokens: {
      success: async (token, output) => void answered.push({ token, output }),
      failure: async (token, error, cause) => void answered.push({ token, error, cause }),
    },
    ownKeyId: 'arn:aws:kms:us-east-1:000000000000:key/1',
    unwrap: async () => {
      throw new Error('not used');
    },
    settings: {
      escalateAfterMs: 86_400_000,
      expireAfterMs: 3 * 86_400_000,
      pollEveryMs: 3_600_000,
      peerKey: {
        publicKeyPem: peer.publicKey.export({ type: 'spki', format: 'pem' }) as string,
        keyId: 'projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1',
      },
      tags: {},
      drainWaitMs: 6 * 3_600_000,
      drainSoakMs: 600_000,
    },
  };
  return { deps, store, events, halves, clock, answered };
}

/** The ids of the events of `name` put on the bus so far. */
export function idsOf(events: MemoryEventSink, name: string): string[] {
  return events.events.filter((e) => e.type.replace(/^crosslink\.|\.v\d+$/g, '') === name).map((e) => e.id);
}
