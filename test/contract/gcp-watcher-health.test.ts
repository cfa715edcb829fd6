/**
 * The Google watcher reads the BGP sessions of an up link from the Cloud Router status of its
 * transport on the local Google edge, and records the health the core judges: one of two sessions
 * down DEGRADED, both down DOWN, back up ACTIVE, each LinkStateChanged once however many rounds run.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { mintLinkId } from '#core/ids.ts';
import { WATCHER_EVERY_MS } from '#core/link/watch.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { RouterSessions } from '#gcp/bgp-sessions.ts';
import { jwtClient } from '#gcp/google-credentials.ts';
import { type GoogleWatchDeps, watchTransports } from '#gcp/watcher.ts';
import type { LocalCloud } from '#local/index.ts';
import { activeLinkRecord } from '../support/active-link.ts';
import { admin, startTestCloud, transportClient, upLink } from '../support/local-cloud.ts';
import { MemoryEventSink, MemoryLinkStore } from '../support/memory-store.ts';

const policy = loadPolicy(parse(readFileSync('config/policy.yaml', 'utf8')));
let cloud: LocalCloud;
let sharedId: string;
let linkId: string;
let store: MemoryLinkStore;
let sink: MemoryEventSink;
let deps: GoogleWatchDeps;

beforeAll(async () => {
  cloud = await startTestCloud();
  linkId = mintLinkId(cloud.clock);
  sharedId = (await upLink(cloud, linkId, { advertisedRoutes: ['10.70.0.0/16'] })).sharedId;
  store = new MemoryLinkStore(cloud.clock);
  sink = new MemoryEventSink();
  await store.create(
    activeLinkRecord({
      id: linkId,
      policyHash: policy.hash,
      now: cloud.clock.now(),
      transport: { name: `projects/${cloud.gcp.project}/locations/us-east4/transports/${linkId}`, sharedId },
    }),
  );
  const auth = jwtClient(cloud.gcp.auth.keyFile('crosslink'));
  deps = {
    store,
    events: sink,
    policy,
    clock: cloud.clock,
    origin: { cloud: 'gcp', project: cloud.gcp.project, region: 'us-east4' },
    projects: [cloud.gcp.project],
    transports: (_project, location) => transportClient(cloud, location),
    bgp: new RouterSessions({ authFor: () => auth, endpoint: cloud.gcp.endpoint }),
    resume: async () => {},
    sleep: (ms) => cloud.clock.advance(ms),
    minCallIntervalMs: 1,
  };
});
afterAll(async () => {
  await cloud?.stop();
});

const transitions = () =>
  sink.events
    .filter((e) => e.type === 'crosslink.LinkStateChanged.v1')
    .map((e) => {
      const d = e.data as { from: string; to: string; reason: string };
      return `${d.from}->${d.to}: ${d.reason}`;
    });

describe('Google watcher: link health from the transport Cloud Router BGP sessions', () => {
  it('a router the project made under a transport name answers for itself, not for the transport', async () => {
    // Prepare: a network and a router named as a transport, in another region than the transport
    const auth = jwtClient(cloud.gcp.auth.keyFile('crosslink'));
    const reader = new RouterSessions({ authFor: () => auth, endpoint: cloud.gcp.endpoint });
    cloud.network.addGcpNetwork({ project: cloud.gcp.project, name: 'own', subnets: [] });
    const own = mintLinkId(cloud.clock);
    await upLink(cloud, own);
    cloud.network.createRouter({
      project: cloud.gcp.project,
      region: 'us-east4',
      name: own,
      network: 'own',
      asn: 65001,
    });
    // Act
    const sessions = await reader.sessions(
      `projects/${cloud.gcp.project}/locations/us-east4/transports/${own}`,
    );
    // Assess: the project's router has no BGP peer; the transport's two sessions are not shown
    expect(sessions).toEqual([]);
  });

  it('DEGRADED with one session down, DOWN with both, ACTIVE again, each event once', async () => {
    // Act: a round per step, two rounds where nothing changes
    const rounds: string[][] = [];
    const step = async (fault?: { path: string; body: object }) => {
      if (fault) await admin(cloud, 'POST', fault.path, { sharedId, ...fault.body });
      rounds.push((await watchTransports(deps)).health);
    };
    await step();
    await step({ path: '/world/bgp-down', body: { sessions: 1 } });
    await step();
    await step({ path: '/world/bgp-down', body: { sessions: 'all' } });
    await step({ path: '/world/bgp-up', body: {} });
    await step();
    // Assess
    expect(rounds).toEqual([[], [`${linkId} impaired`], [], [`${linkId} down`], [`${linkId} healthy`], []]);
    expect(transitions()).toEqual([
      `ACTIVE->DEGRADED: health impaired: 1 of 2 BGP sessions down (${linkId}-bgp-1)`,
      `DEGRADED->DOWN: health down: every BGP session down (${linkId}-bgp-1, ${linkId}-bgp-2)`,
      'DOWN->ACTIVE: health restored: 2 of 2 BGP sessions up',
    ]);
  });

  it('reads at most its budget of routers a run, and the next run the others', async () => {
    // Prepare: a second up link; one read a run
    const other = mintLinkId(cloud.clock);
    const otherShared = (await upLink(cloud, other)).sharedId;
    await store.create(
      activeLinkRecord({
        id: other,
        policyHash: policy.hash,
        now: cloud.clock.now(),
        transport: {
          name: `projects/${cloud.gcp.project}/locations/us-east4/transports/${other}`,
          sharedId: otherShared,
        },
      }),
    );
    const read: string[][] = [];
    const bgp = deps.bgp as RouterSessions;
    const counted: GoogleWatchDeps = {
      ...deps,
      healthReadsPerRun: 1,
      bgp: {
        sessions: (name: string) => {
          read.at(-1)?.push(name.split('/').at(-1) as string);
          return bgp.sessions(name);
        },
      },
    };
    // Act: two runs a schedule interval apart
    for (const _ of [1, 2]) {
      read.push([]);
      await watchTransports(counted);
      await cloud.clock.advance(WATCHER_EVERY_MS);
    }
    // Assess: one router each, both links read
    expect(read.map((r) => r.length)).toEqual([1, 1]);
    expect(read.flat().sort()).toEqual([linkId, other].sort());
  });

  it('reads no router for a transport that is not up, and a router that is not there reports no session', async () => {
    // Prepare
    const auth = jwtClient(cloud.gcp.auth.keyFile('crosslink'));
    const reader = new RouterSessions({ authFor: () => auth, endpoint: cloud.gcp.endpoint });
    // Act
    const none = await reader.sessions(`projects/${cloud.gcp.project}/locations/us-east4/transports/lk-none`);
    const mine = await reader.sessions(
      `projects/${cloud.gcp.project}/locations/us-east4/transports/${linkId}`,
    );
    // Assess
    expect(none).toEqual([]);
    expect(mine).toEqual([
      { id: `${linkId}-bgp-1`, up: true },
      { id: `${linkId}-bgp-2`, up: true },
    ]);
  });
});
