/**
 * A link's Google half in a network project, against the local cloud: the project's TransportManager
 * answers only the network service account its IAM names, so the function's own identity is refused
 * there and reaches it only by impersonating that account (iamcredentials `generateAccessToken`,
 * allowed by a roles/iam.serviceAccountTokenCreator binding). The transport is created there with
 * the link and cost labels, the watcher lists every project and sees it change, a deletion is
 * confirmed by a Get 404 in its own project, and a project whose account may not be impersonated
 * leaves its links unknown while the others are still watched.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { mintLinkId } from '#core/ids.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { type LinkRequest, parseLinkRequest } from '#core/policy/request.ts';
import { googleAuth, jwtClient } from '#gcp/google-credentials.ts';
import { PermissionDenied } from '#gcp/google-errors.ts';
import { projectClients } from '#gcp/network-projects.ts';
import { TransportClient } from '#gcp/transport-client.ts';
import { type GoogleWatchDeps, watchTransports } from '#gcp/watcher.ts';
import type { LocalCloud } from '#local/index.ts';
import { storedGcpLink } from '../support/gcp-links.ts';
import { startTestCloud } from '../support/local-cloud.ts';
import { MemorySecretStore } from '../support/memory-secrets.ts';
import { MemoryEventSink, MemoryLinkStore } from '../support/memory-store.ts';

const policy = loadPolicy(parse(readFileSync('config/policy.yaml', 'utf8')));
const NET = 'network-east';
const NET_SA = 'crosslink-net@network-east.iam.gserviceaccount.com';
/** A network project whose account nobody granted crosslink the right to impersonate. */
const LOCKED = 'network-locked';
const LOCKED_SA = 'crosslink-net@network-locked.iam.gserviceaccount.com';
const TAGS = { 'cost-center': 'NET-42' };

let cloud: LocalCloud;
let store: MemoryLinkStore;
let sink: MemoryEventSink;
let secrets: MemorySecretStore;

beforeAll(async () => {
  cloud = await startTestCloud({
    settings: {
      // Each network project's TransportManager IAM names its own account only.
      networkconnectivity: { members: { [NET]: [NET_SA], [LOCKED]: [LOCKED_SA] } },
      // crosslink (the functions' identity here) may impersonate NET's account, not LOCKED's.
      iamcredentials: {
        bindings: [{ member: 'crosslink@crosslink-local.iam.gserviceaccount.com', serviceAccount: NET_SA }],
      },
    },
  });
  await cloud.gcp.auth.addServiceAccount(NET_SA);
  await cloud.gcp.auth.addServiceAccount(LOCKED_SA);
});
afterAll(async () => {
  await cloud?.stop();
});

function clients(networks: Map<string, string>) {
  const key = cloud.gcp.auth.keyFile('crosslink');
  return projectClients({
    hub: cloud.gcp.project,
    hubAuth: jwtClient(key),
    sourceAuth: googleAuth(key),
    networks,
    endpoint: cloud.gcp.endpoint,
    client: { sleep: (ms) => cloud.clock.advance(ms), maxRetries: 0 },
  });
}

function requestIn(project: string): LinkRequest {
  const base = parse(readFileSync('examples/link-request.yaml', 'utf8'));
  return parseLinkRequest({
    ...base,
    initiator: 'gcp',
    aws: { ...base.aws, accountId: cloud.aws.accountId },
    gcp: { ...base.gcp, project },
  });
}

/** A PROVISIONING link whose Google half the store last saw CREATING at `resourceId`. */
const linkAt = (resourceId: string) =>
  storedGcpLink({ store, clock: cloud.clock, policy }, resourceId, 'CREATING', 1);

function watchDeps(c: ReturnType<typeof clients>): GoogleWatchDeps {
  return {
    store,
    events: sink,
    policy,
    clock: cloud.clock,
    origin: { cloud: 'gcp', project: cloud.gcp.project, region: 'us-east4' },
    projects: c.projects,
    transports: c.transports,
    resume: async () => {},
    sleep: (ms) => cloud.clock.advance(ms),
    minCallIntervalMs: 0,
  };
}

beforeEach(() => {
  store = new MemoryLinkStore(cloud.clock);
  sink = new MemoryEventSink();
  secrets = new MemorySecretStore();
});

describe('a network project', () => {
  it("refuses the function's own identity", async () => {
    const own = new TransportClient({
      project: NET,
      location: 'us-east4',
      endpoint: cloud.gcp.endpoint,
      auth: jwtClient(cloud.gcp.auth.keyFile('crosslink')),
      maxRetries: 0,
    });
    const listing = own.listTransports();
    await expect(listing).rejects.toBeInstanceOf(PermissionDenied);
    await expect(listing).rejects.toThrow("Permission 'networkconnectivity.transports.list' denied");
  });

  it('creates the half there through impersonation, labelled, and the watcher follows it to 404', async () => {
    const c = clients(new Map([[NET, NET_SA]]));
    const halves = c.halves('us-east4', secrets);
    const linkId = mintLinkId(cloud.clock);

    // Act: Google first, in the network project the request names.
    const { half, keyRef } = await halves.initiate({
      linkId,
      request: requestIn(NET),
      tags: TAGS,
    });

    // Assess: the transport is NET's, with the link and cost labels, its key in the secret store.
    expect(half.connectionId).toBe(`projects/${NET}/locations/us-east4/transports/${linkId}`);
    expect(await secrets.getActivationKey(keyRef)).toMatch(/.+/);
    const seen = await c.transports(NET, 'us-east4').getTransport(linkId);
    expect(seen.labels).toEqual({ 'crosslink-link-id': linkId, 'cost-center': 'net-42' });
    expect(seen.network).toBe(`projects/${NET}/global/networks/payments-vpc`);
    await expect(c.transports(cloud.gcp.project, 'us-east4').getTransport(linkId)).rejects.toThrow(
      /not found/i,
    );
    // TransportManager saw the network account, never crosslink's own.
    const creates = cloud.gcp.auditLog
      .entries()
      .filter(
        (e) =>
          e.protoPayload.methodName.endsWith('CreateTransport') && e.logName.startsWith(`projects/${NET}/`),
      );
    expect(creates.map((e) => e.protoPayload.authenticationInfo.principalEmail)).toEqual([NET_SA]);

    // The watcher lists the hub and NET, and records the change (CREATING -> PENDING_KEY).
    await linkAt(half.connectionId);
    const first = await watchTransports(watchDeps(c));
    expect(first.changed).toEqual([linkId]);
    expect(first.projectErrors).toEqual([]);
    expect((await store.get(linkId))?.link.halves.gcp).toMatchObject({
      nativeState: 'PENDING_KEY',
      sequence: 2,
    });

    // Deleted in NET: the watcher's Get in NET says 404, so the half is gone.
    expect(await halves.deleteHalf(half.connectionId)).toEqual({ alreadyGone: false });
    expect(await halves.getHalf(half.connectionId)).toBeNull();
    const after = await watchTransports(watchDeps(c));
    expect(after.changed).toEqual([linkId]);
    expect((await store.get(linkId))?.link.halves.gcp).toMatchObject({
      nativeState: null,
      condition: 'GONE',
    });
  });

  it('without a token-creator binding, impersonation is refused and that project’s links stay unknown', async () => {
    const c = clients(
      new Map([
        [NET, NET_SA],
        [LOCKED, LOCKED_SA],
      ]),
    );
    const halves = c.halves('us-east4', secrets);
    const refused = halves.initiate({
      linkId: mintLinkId(cloud.clock),
      request: requestIn(LOCKED),
      tags: {},
    });
    await expect(refused).rejects.toBeInstanceOf(PermissionDenied);
    await expect(refused).rejects.toThrow(`impersonating ${LOCKED_SA}`);

    // The watcher still watches NET; LOCKED's link is unknown, not gone.
    const lockedId = mintLinkId(cloud.clock);
    await linkAt(`projects/${LOCKED}/locations/us-east4/transports/${lockedId}`);
    const report = await watchTransports(watchDeps(c));
    expect(report.projectErrors).toEqual([expect.stringContaining(`${LOCKED}: impersonating ${LOCKED_SA}`)]);
    expect(report.unknown).toEqual([lockedId]);
    expect(report.changed).toEqual([]);
    expect((await store.get(lockedId))?.link.halves.gcp).toMatchObject({
      nativeState: 'CREATING',
      sequence: 1,
    });

    // LOCKED dropped from the config: its link is unknown (never asked, never gone).
    const without = await watchTransports(watchDeps(clients(new Map([[NET, NET_SA]]))));
    expect(without.unknown).toEqual([lockedId]);
    expect(without.projectErrors).toEqual([]);
    expect((await store.get(lockedId))?.link.halves.gcp).toMatchObject({
      nativeState: 'CREATING',
      sequence: 1,
    });
  });
});
