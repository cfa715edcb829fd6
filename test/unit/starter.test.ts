/**
 * The starter (functions/aws/intake.ts `startFromEvent`): the rule's events become the
 * stage's execution, named `<linkId>-<stage>-1`, with mode and input from the event; a start that
 * already happened (ExecutionAlreadyExists) is reported, not an error; other events start nothing.
 * And the peer-event consumer starts `accept` again when a redelivered LinkRequested finds its record
 * written but the start lost.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type EventBridgeEvent, toEventBridgeEntry } from '#aws/envelope.ts';
import { type IntakeDeps, peerEvent, peerEventBatch, startFromEvent } from '#aws/intake.ts';
import { ManualClock } from '#core/clock.ts';
import { buildEvent } from '#core/envelope.ts';
import { ConflictError } from '#core/errors.ts';
import { mintLinkId } from '#core/ids.ts';
import { PEER_EVENT_LEASE_MS } from '#core/link/intake.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { MemoryEventSink, MemoryLinkStore } from '../support/memory-store.ts';

const clock = { now: () => Date.parse('2026-06-01T00:00:00Z') };
const AWS = { cloud: 'aws' as const, accountId: '000000000000', region: 'us-east-1' };
const GCP = { cloud: 'gcp' as const, project: 'payments-prod', region: 'us-east4' };

function setup() {
  const started = new Map<string, { machine: string; input: unknown }>();
  const deps = {
    origin: AWS,
    store: new MemoryLinkStore(new ManualClock('2026-06-01T00:00:00Z')),
    stateMachines: { provisioning: 'arn:prov', decommissioning: 'arn:decom' },
    executions: {
      start: async (machine: string, name: string, input: unknown) => {
        if (started.has(name)) return false;
        started.set(name, { machine, input });
        return true;
      },
    },
  } as unknown as IntakeDeps;
  return { deps, started };
}

/** An event as the rule delivers it: the bus entry, in EventBridge's event shape. */
function delivered(
  name: string,
  origin: typeof AWS | typeof GCP,
  data: Record<string, unknown>,
): EventBridgeEvent {
  const entry = toEventBridgeEntry(
    buildEvent({ name, origin, subject: data.linkId as string, clock, data: { policyHash: 'h', ...data } }),
    'crosslink-dev',
  );
  return {
    version: '0',
    id: 'e1',
    'detail-type': entry.DetailType,
    source: entry.Source,
    time: new Date(clock.now()).toISOString(),
    detail: JSON.parse(entry.Detail),
  } as EventBridgeEvent;
}

const request = (initiator: 'aws' | 'gcp') => ({ name: 'n', initiator, bandwidth: '1Gbps' });
const requested = (linkId: string, initiator: 'aws' | 'gcp') => ({
  linkId,
  request: request(initiator),
  requester: 'arn:aws:iam::000000000000:user/alice',
  requestedVia: 'aws',
  requestedAt: '2026-06-01T00:00:00Z',
});

describe('starter', () => {
  it('starts initiate for this side\'s LinkRequested it coordinates; again is "already started"', async () => {
    const { deps, started } = setup();
    const linkId = mintLinkId(clock);
    const event = delivered('LinkRequested', AWS, requested(linkId, 'aws'));
    expect(await startFromEvent(deps, event)).toEqual({
      executionName: `${linkId}-provisioning-1`,
      started: true,
      reason: 'provisioning (initiate)',
    });
    expect(started.get(`${linkId}-provisioning-1`)).toEqual({
      machine: 'arn:prov',
      input: { linkId, mode: 'initiate', request: request('aws') },
    });
    expect(await startFromEvent(deps, event)).toMatchObject({ started: false });
    expect(started.size).toBe(1);
  });

  it("starts accept for a request made here that the peer coordinates; leaves the peer's requests to the consumer", async () => {
    const { deps, started } = setup();
    // alice asked the AWS intake for a Google-initiated link: AWS accepts, Google issues the key.
    const here = mintLinkId(clock);
    expect(await startFromEvent(deps, delivered('LinkRequested', AWS, requested(here, 'gcp')))).toMatchObject(
      {
        started: true,
        reason: 'provisioning (accept)',
      },
    );
    expect(started.get(`${here}-provisioning-1`)?.input).toMatchObject({ mode: 'accept' });
    // The peer's LinkRequested: the consumer writes the replica, then starts; the starter never races it.
    const peer = mintLinkId(clock);
    expect(await startFromEvent(deps, delivered('LinkRequested', GCP, requested(peer, 'gcp')))).toEqual({
      started: false,
      reason: "the peer-event consumer starts the peer's requests",
    });
    expect(started.size).toBe(1);
  });

  it('starts decommissioning for LinkDecommissionRequested; other events start nothing', async () => {
    const { deps, started } = setup();
    const linkId = mintLinkId(clock);
    const decommission = delivered('LinkDecommissionRequested', AWS, {
      linkId,
      requestedBy: 'arn:aws:iam::000000000000:user/alice',
      requestedVia: 'aws',
      requestedAt: '2026-06-01T00:00:00Z',
    });
    expect(await startFromEvent(deps, decommission)).toMatchObject({
      executionName: `${linkId}-decommissioning-1`,
      started: true,
    });
    expect(started.get(`${linkId}-decommissioning-1`)).toEqual({ machine: 'arn:decom', input: { linkId } });
    const approved = delivered('LinkApproved', GCP, {
      linkId,
      side: 'gcp',
      approver: 'carol@example.com',
      approvedAt: '2026-06-01T00:00:00Z',
      auto: false,
    });
    expect(await startFromEvent(deps, approved)).toEqual({
      started: false,
      reason: 'LinkApproved starts no stage',
    });
    expect(started.size).toBe(1);
  });
});

describe("events that are not a link's (VPN runs', DR's), on the same topic or bus", () => {
  /** A VPN run's report: no link id, as every event of the topic reaches Google's starter and peer consumer. */
  const report = (origin: typeof AWS | typeof GCP): EventBridgeEvent => {
    const runId = 'vpn-dev-2026-06-01T00:00:00Z';
    const entry = toEventBridgeEntry(
      buildEvent({
        name: 'VpnRunReported',
        origin,
        subject: runId,
        clock,
        data: { runId, installation: 'dev' },
      }),
      'crosslink-dev',
    );
    return {
      id: 'e1',
      'detail-type': entry.DetailType,
      source: entry.Source,
      detail: JSON.parse(entry.Detail),
    };
  };

  it('start no stage, and are not refused as invalid', async () => {
    const { deps, started } = setup();
    expect(await startFromEvent(deps, report(AWS))).toEqual({
      started: false,
      reason: 'VpnRunReported starts no stage',
    });
    expect(started.size).toBe(0);
  });

  it('are acknowledged by the peer consumer without reading a link (Firestore refuses an id-less path)', async () => {
    const manual = new ManualClock('2026-06-01T00:00:00Z');
    const store = Object.assign(new MemoryLinkStore(manual), { takeToken: async () => undefined });
    const read: unknown[] = [];
    const get = store.get.bind(store);
    // As Firestore's doc(): a link id that is not a string is not a valid document path.
    store.get = async (id: string) => {
      read.push(id);
      if (typeof id !== 'string')
        throw new Error('Value for argument "documentPath" is not a valid resource path');
      return get(id);
    };
    const deps = {
      store,
      events: new MemoryEventSink(),
      policy: loadPolicy(parse(readFileSync('config/policy.yaml', 'utf8'))),
      clock: manual,
      origin: AWS,
    } as unknown as IntakeDeps;
    expect(await peerEvent(deps, report(GCP))).toEqual({
      outcome: 'ignored',
      reason: 'VpnRunReported is not a link event',
      type: 'VpnRunReported',
    });
    expect(read).toEqual([]);
  });
});

describe('peer-event consumer, LinkRequested redelivered after a lost start', () => {
  function consumer(options: { crash: boolean }) {
    const policy = loadPolicy(parse(readFileSync('config/policy.yaml', 'utf8')));
    const manual = new ManualClock('2026-06-01T00:00:00Z');
    const started: string[] = [];
    const starts: string[] = [];
    const deps = {
      store: Object.assign(new MemoryLinkStore(manual), { takeToken: async () => undefined }),
      events: new MemoryEventSink(),
      policy,
      clock: manual,
      origin: AWS,
      stateMachines: { provisioning: 'arn:prov', decommissioning: 'arn:decom' },
      executions: {
        start: async (_machine: string, name: string) => {
          starts.push(name);
          if (options.crash) throw new Error('sandbox ended before StartExecution');
          if (started.includes(name)) return false;
          started.push(name);
          return true;
        },
      },
      tokens: { success: async () => {}, failure: async () => {} },
    } as unknown as IntakeDeps;
    const linkId = mintLinkId(manual);
    const request = parse(readFileSync('examples/link-request.yaml', 'utf8'));
    const entry = toEventBridgeEntry(
      buildEvent({
        name: 'LinkRequested',
        origin: GCP,
        subject: linkId,
        clock: manual,
        data: {
          linkId,
          policyHash: policy.hash,
          request: { ...request, initiator: 'gcp' },
          requester: 'alice@example.com',
          requestedVia: 'gcp',
          requestedAt: '2026-06-01T00:00:00Z',
        },
      }),
      'crosslink-dev',
    );
    const detail = JSON.parse(entry.Detail) as { id: string };
    const event = {
      id: 'e1',
      'detail-type': entry.DetailType,
      source: entry.Source,
      detail,
    } as EventBridgeEvent;
    return { deps, manual, started, starts, linkId, event, eventId: detail.id, options };
  }

  it('acknowledges a second delivery of the same CloudEvent id without applying it again', async () => {
    const { deps, starts, linkId, event, eventId } = consumer({ crash: false });
    expect(await peerEvent(deps, event)).toMatchObject({ outcome: 'applied' });
    // The relay delivered it twice (a new EventBridge id, the same CloudEvent id).
    expect(await peerEvent(deps, { ...event, id: 'e2' })).toEqual({
      outcome: 'ignored',
      reason: `duplicate event ${eventId}`,
      type: 'LinkRequested',
    });
    expect(starts).toEqual([`${linkId}-provisioning-1`]);
  });

  it("retries a delivery that meets another's lease, and runs once the lease of a crashed one has passed", async () => {
    const { deps, manual, started, linkId, event, eventId } = consumer({ crash: false });
    // A delivery that crashed mid-way (its sandbox ended) left its claim behind.
    await deps.store.claim(`peer-event:${eventId}`, manual.now() + PEER_EVENT_LEASE_MS, 'pending');
    await expect(peerEvent(deps, event)).rejects.toThrow(ConflictError);
    expect(await deps.store.get(linkId)).toBeUndefined();
    manual.advance(PEER_EVENT_LEASE_MS);
    expect(await peerEvent(deps, event)).toMatchObject({ outcome: 'applied' });
    expect(started).toEqual([`${linkId}-provisioning-1`]);
  });

  it('a batch from the queue: each record on its own, the failing ones reported for retry', async () => {
    const { deps, manual, started, linkId, event, eventId } = consumer({ crash: false });
    // Another delivery holds the first record's id; the second is not JSON; the third is the same
    // event under another EventBridge id after the hold passed.
    await deps.store.claim(`peer-event:${eventId}`, manual.now() + PEER_EVENT_LEASE_MS, 'pending');
    const lines: { level: string; message: string; extra: Record<string, unknown> }[] = [];
    const log = {
      info: (message: string, extra: Record<string, unknown>) =>
        void lines.push({ level: 'info', message, extra }),
      error: (message: string, extra: Record<string, unknown>) =>
        void lines.push({ level: 'error', message, extra }),
    };
    const first = await peerEventBatch(
      deps,
      [
        { messageId: 'm1', body: JSON.stringify(event) },
        { messageId: 'm2', body: '{not json' },
      ],
      log,
    );
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }]);
    expect(lines.map((l) => [l.level, l.extra.messageId])).toEqual([
      ['error', 'm1'],
      ['error', 'm2'],
    ]);
    manual.advance(PEER_EVENT_LEASE_MS);
    const second = await peerEventBatch(
      deps,
      [{ messageId: 'm1', body: JSON.stringify({ ...event, id: 'e3' }) }],
      log,
    );
    expect(second.batchItemFailures).toEqual([]);
    expect(lines.at(-1)).toMatchObject({ level: 'info', extra: { messageId: 'm1', outcome: 'applied' } });
    expect(started).toEqual([`${linkId}-provisioning-1`]);
  });

  it('starts accept on the redelivery that finds the replica already written', async () => {
    const { deps, started, linkId, event, options } = consumer({ crash: true });
    await expect(peerEvent(deps, event)).rejects.toThrow(/sandbox ended/);
    expect(await deps.store.get(linkId)).toBeDefined();
    options.crash = false;
    expect(await peerEvent(deps, event)).toMatchObject({ outcome: 'ignored', reason: 'link already known' });
    expect(started).toEqual([`${linkId}-provisioning-1`]);
  });
});
