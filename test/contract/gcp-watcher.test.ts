/**
 * The Google watcher against the local cloud's TransportManager (paginated lists, `unreachable`
 * during a region outage, Get 404 after a delete, Admin Activity audit entries), with the in-memory
 * store: what changed is recorded with the next sequence and emitted once, the unknown is left alone.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import { ValidationError } from '#core/errors.ts';
import { mintLinkId } from '#core/ids.ts';
import type { GcpTransportState, LinkRecord } from '#core/link/model.ts';
import type { WaitPhase } from '#core/link/ports.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { jwtClient } from '#gcp/google-credentials.ts';
import { TransportClient } from '#gcp/transport-client.ts';
import {
  type GoogleWatchDeps,
  onTransportAuditEntry,
  type PubSubMessage,
  transportOfAuditEntry,
  watchTransports,
} from '#gcp/watcher.ts';
import type { LocalCloud } from '#local/index.ts';
import { storedGcpLink } from '../support/gcp-links.ts';
import { admin, startTestCloud } from '../support/local-cloud.ts';
import { MemoryEventSink, MemoryLinkStore } from '../support/memory-store.ts';

const policy = loadPolicy(parse(readFileSync('config/policy.yaml', 'utf8')));
const NETWORK = 'projects/crosslink-local/global/networks/core';
const PROFILE: Record<string, string> = { 'us-east4': 'aws-us-east-1', 'us-west2': 'aws-us-west-1' };
const INTERVAL = 1000;

let cloud: LocalCloud;
let store: MemoryLinkStore;
let sink: MemoryEventSink;
let resumed: { linkId: string; state: string; phases: WaitPhase[] }[];
let deps: GoogleWatchDeps;
/** Virtual times of the watcher's TransportManager reads. */
let reads: { operation: string; at: number }[];

function client(location: string): TransportClient {
  return new TransportClient({
    project: cloud.gcp.project,
    location,
    endpoint: cloud.gcp.endpoint,
    auth: jwtClient(cloud.gcp.auth.keyFile('crosslink')),
    sleep: (ms) => cloud.clock.advance(ms),
    maxRetries: 0,
  });
}

/** A Google-first transport whose id is the link id; resolves when it is PENDING_KEY. */
async function transport(id: string, location = 'us-east4') {
  await client(location).createTransport(id, {
    network: NETWORK,
    remoteProfile: `projects/${cloud.gcp.project}/locations/${location}/remoteTransportProfiles/${PROFILE[location]}`,
    bandwidth: 'BPS_1G',
    remoteAccountId: cloud.aws.accountId,
    labels: { 'crosslink-link-id': id },
  });
  return `projects/${cloud.gcp.project}/locations/${location}/transports/${id}`;
}

/** A PROVISIONING link whose Google half the store last saw as `nativeState` (sequence `sequence`). */
const link = (resourceId: string | undefined, nativeState: GcpTransportState | null, sequence: number) =>
  storedGcpLink({ store, clock: cloud.clock, policy }, resourceId, nativeState, sequence);

const now = () => new Date(cloud.clock.now()).toISOString();

const sideEvents = () =>
  sink.events
    .filter((e) => e.type === 'crosslink.LinkSideStateChanged.v1')
    .map((e) => e.data as { linkId: string; sequence: number; nativeState: string | null; side: string });

beforeAll(async () => {
  cloud = await startTestCloud();
  cloud.gcp.edge.onCall((c) => {
    if (c.operation === 'ListTransports' || c.operation === 'GetTransport')
      reads.push({ operation: c.operation, at: c.at });
  });
});
afterAll(async () => {
  await cloud?.stop();
});

beforeEach(() => {
  store = new MemoryLinkStore(cloud.clock);
  sink = new MemoryEventSink();
  resumed = [];
  reads = [];
  deps = {
    store,
    events: sink,
    policy,
    clock: cloud.clock,
    origin: { cloud: 'gcp', project: cloud.gcp.project, region: 'us-east4' },
    projects: [cloud.gcp.project],
    transports: (_project, location) => client(location),
    resume: async (l, phases) => {
      resumed.push({ linkId: l.id, state: l.state, phases });
    },
    sleep: (ms) => cloud.clock.advance(ms),
    minCallIntervalMs: INTERVAL,
    pageSize: 2,
  };
});

describe('watchTransports', () => {
  it('records real changes once, confirms a disappearance by Get 404, leaves unreachable links alone', async () => {
    // Prepare: five transports in us-east4 (one deleted), one in us-west2, two orphans.
    const changed = await link(await transport(mintLinkId(cloud.clock)), 'CREATING', 1);
    const steady = await link(await transport(mintLinkId(cloud.clock)), 'PENDING_KEY', 2);
    const goneId = mintLinkId(cloud.clock);
    const gone = await link(await transport(goneId), 'ACTIVE', 3);
    await client('us-east4').deleteTransport(goneId);
    const westId = mintLinkId(cloud.clock);
    const west = await link(await transport(westId, 'us-west2'), 'CREATING', 1);
    const orphan = await transport(mintLinkId(cloud.clock));
    const notYet = await link(undefined, null, 0); // its transport is not created yet: not watched
    await transport(mintLinkId(cloud.clock)); // a second orphan: four listed, two pages
    await admin(cloud, 'POST', '/gcp/networkconnectivity/region-outage', { location: 'us-west2', on: true });
    reads = [];

    // Act
    const report = await watchTransports(deps);

    // Assess: what changed, with the next sequence, once.
    expect(report.changed.sort()).toEqual([changed.id, gone.id].sort());
    expect(report.unknown).toEqual([west.id]);
    expect(report.orphans).toContain(orphan);
    expect(report.unchanged).toBe(1);
    expect(sideEvents()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ linkId: changed.id, side: 'gcp', sequence: 2, nativeState: 'PENDING_KEY' }),
        expect.objectContaining({ linkId: gone.id, side: 'gcp', sequence: 4, nativeState: null }),
      ]),
    );
    expect(sideEvents()).toHaveLength(2);
    expect((await store.get(changed.id))?.link.halves.gcp).toMatchObject({
      nativeState: 'PENDING_KEY',
      sequence: 2,
    });
    expect((await store.get(gone.id))?.link.halves.gcp).toMatchObject({
      nativeState: null,
      sequence: 4,
      condition: 'GONE',
    });
    expect((await store.get(west.id))?.link.halves.gcp).toMatchObject({
      nativeState: 'CREATING',
      sequence: 1,
    });
    expect((await store.get(steady.id))?.link.halves.gcp.sequence).toBe(2);
    expect((await store.get(notYet.id))?.link.halves.gcp.sequence).toBe(0);
    expect(resumed.map((r) => r.linkId).sort()).toEqual([changed.id, gone.id].sort());
    expect(resumed[0]?.phases).toEqual(['up', 'gone']);

    // Paginated (4 listed transports at 2 a page) and spaced on the virtual clock; one Get (the gone one).
    expect(reads.map((r) => r.operation)).toEqual(['ListTransports', 'ListTransports', 'GetTransport']);
    for (let i = 1; i < reads.length; i++)
      expect((reads[i] as { at: number }).at - (reads[i - 1] as { at: number }).at).toBeGreaterThanOrEqual(
        INTERVAL,
      );
    expect(report.calls).toBe(3);

    // Act again: nothing new, nothing emitted.
    const again = await watchTransports(deps);
    expect(again.changed).toEqual([]);
    expect(sideEvents()).toHaveLength(2);

    // The region comes back: the west link's half is seen and recorded.
    await admin(cloud, 'POST', '/gcp/networkconnectivity/region-outage', { location: 'us-west2', on: false });
    const back = await watchTransports(deps);
    expect(back.changed).toEqual([west.id]);
    expect((await store.get(west.id))?.link.halves.gcp).toMatchObject({
      nativeState: 'PENDING_KEY',
      sequence: 2,
    });
    await client('us-west2').deleteTransport(westId);
  });

  it('a run with no link to watch reads the store only; the orphan sweep lists once every 15 minutes', async () => {
    const sweep = 15 * 60_000;
    deps.orphanSweepEveryMs = sweep;
    const orphan = await transport(mintLinkId(cloud.clock));
    // Seven minutes into a 15-minute window (runs every minute): no sweep due.
    await cloud.clock.advance(sweep - (cloud.clock.now() % sweep) + 7 * 60_000);
    reads = [];
    const idle = await watchTransports(deps);
    expect(idle).toMatchObject({ calls: 0, orphans: [], changed: [] });
    expect(reads).toEqual([]);
    // The first minute of the next window: the sweep lists and reports the orphan.
    await cloud.clock.advance(sweep - (cloud.clock.now() % sweep));
    const swept = await watchTransports(deps);
    expect(swept.orphans).toContain(orphan);
    expect(reads.map((r) => r.operation)).toContain('ListTransports');
    // A link to watch: every run lists, whatever the minute.
    await cloud.clock.advance(2 * 60_000);
    await link(await transport(mintLinkId(cloud.clock)), 'CREATING', 1);
    reads = [];
    expect((await watchTransports(deps)).calls).toBeGreaterThan(0);
  });

  it('two overlapping runs publish each sequence once', async () => {
    const l = await link(await transport(mintLinkId(cloud.clock)), 'CREATING', 1);
    const [a, b] = await Promise.all([watchTransports(deps), watchTransports(deps)]);
    expect([...a.changed, ...b.changed]).toEqual([l.id]);
    expect(sideEvents().filter((e) => e.linkId === l.id)).toEqual([
      expect.objectContaining({ sequence: 2, nativeState: 'PENDING_KEY' }),
    ]);
  });

  it('keeps watching a FAILED link whose transport is still there and reports it; flushes a stale outbox', async () => {
    // Prepare: compensation gave up (the link FAILED with its transport); another link's put failed
    const failed = await link(await transport(mintLinkId(cloud.clock)), 'CREATING', 1);
    const s1 = await store.get(failed.id);
    await store.update({ ...(s1?.link as LinkRecord), state: 'FAILED' }, s1?.version as number);
    const other = await link(undefined, null, 0);
    const s2 = await store.get(other.id);
    const pending = buildEvent({
      name: 'LinkExpired',
      origin: deps.origin,
      subject: other.id,
      data: { linkId: other.id, policyHash: policy.hash, waitingFor: ['aws'], expiredAt: now() },
      clock: cloud.clock,
    } as never) as CloudEvent;
    await store.update({ ...(s2?.link as LinkRecord), outbox: [pending] }, s2?.version as number);
    // Act
    const out = await watchTransports(deps);
    // Assess
    expect(out.changed).toContain(failed.id);
    expect(out.failedWithHalf).toEqual([`${failed.id} ${failed.halves.gcp.resourceId}`]);
    expect(sink.events.map((e) => e.id)).toContain(pending.id);
    expect((await store.get(other.id))?.link.outbox).toEqual([]);
  });
});

describe('onTransportAuditEntry', () => {
  const message = (entry: unknown): PubSubMessage => ({
    data: Buffer.from(JSON.stringify(entry)).toString('base64'),
    attributes: { 'logging.googleapis.com/timestamp': new Date(cloud.clock.now()).toISOString() },
  });
  const lastEntry = (method: string) =>
    cloud.gcp.auditLog
      .entries()
      .filter((e) => e.protoPayload.methodName.endsWith(method))
      .at(-1);

  it("checks the transport an UpdateTransport entry names, at once, and records its link's change", async () => {
    // Prepare: the transport is disabled (the drain) outside the poll.
    const id = mintLinkId(cloud.clock);
    const l = await link(await transport(id), 'PENDING_KEY', 2);
    await client('us-east4').updateTransport(id, { adminEnabled: false });
    const entry = lastEntry('TransportManager.UpdateTransport');
    expect(entry?.protoPayload.resourceName).toBe(l.halves.gcp.resourceId);

    // Act
    const out = await onTransportAuditEntry(deps, message(entry));

    // Assess
    expect(out).toMatchObject({ outcome: 'checked', linkId: l.id, changed: true });
    expect((await store.get(l.id))?.link.halves.gcp).toMatchObject({ adminEnabled: false, sequence: 3 });
    expect(sideEvents()).toEqual([
      expect.objectContaining({ linkId: l.id, sequence: 3, adminEnabled: false }),
    ]);
    expect(resumed.map((r) => r.linkId)).toEqual([l.id]);
    // The same entry again (Pub/Sub redelivers): checked, nothing new.
    expect(await onTransportAuditEntry(deps, message(entry))).toMatchObject({ changed: false });
    expect(sideEvents()).toHaveLength(1);
  });

  it('records a deletion from a DeleteTransport entry once the Get says 404', async () => {
    const id = mintLinkId(cloud.clock);
    const l = await link(await transport(id), 'PENDING_KEY', 2);
    await client('us-east4').deleteTransport(id);
    const out = await onTransportAuditEntry(deps, message(lastEntry('TransportManager.DeleteTransport')));
    expect(out).toMatchObject({ outcome: 'checked', changed: true, reason: 'transport is gone (404)' });
    expect((await store.get(l.id))?.link.halves.gcp).toMatchObject({ nativeState: null, sequence: 3 });
  });

  it('ignores entries of other calls, failed calls and unknown transports; refuses a malformed message', async () => {
    const entry = lastEntry('TransportManager.CreateTransport');
    const other = {
      ...entry,
      protoPayload: {
        ...entry?.protoPayload,
        methodName: 'google.cloud.kms.v1.KeyManagementService.CreateKeyRing',
      },
    };
    expect(await onTransportAuditEntry(deps, message(other))).toMatchObject({ outcome: 'ignored' });
    const failed = {
      ...entry,
      protoPayload: { ...entry?.protoPayload, status: { code: 9, message: 'busy' } },
    };
    expect((await onTransportAuditEntry(deps, message(failed))).reason).toMatch(/failed/);
    // `entry` names a transport whose link this (fresh) store does not know.
    expect((await onTransportAuditEntry(deps, message(entry))).reason).toMatch(/^no link/);
    await expect(onTransportAuditEntry(deps, { data: 'bm90IGpzb24=' })).rejects.toBeInstanceOf(
      ValidationError,
    );
    // A pulled message carries the bytes themselves, not base64.
    expect(transportOfAuditEntry({ data: Buffer.from(JSON.stringify(entry)) })).toEqual({
      name: entry?.protoPayload.resourceName,
    });
    expect(sideEvents()).toEqual([]);
  });
});
