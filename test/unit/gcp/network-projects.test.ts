/**
 * Network projects on Google: the variable that names them (clear errors), the intake refusing a
 * request whose Google project is neither the hub nor configured (nothing recorded), and the
 * routing of a link's TransportManager calls: create / accept in the request's project, get /
 * delete / disable in the project a transport's name carries, a bare id gone only when every
 * project says 404, an error in any project never read as "gone".
 */
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ManualClock } from '#core/clock.ts';
import { ValidationError } from '#core/errors.ts';
import type { InitiateHalfInput, LinkDeps, OwnHalfView } from '#core/link/ports.ts';
import { requestLink } from '#core/link/request.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import type { TransportHalves } from '#gcp/halves.ts';
import { ProjectRoutedHalves } from '#gcp/network-halves.ts';
import { parseNetworkProjects, projectPlacement } from '#gcp/network-projects.ts';
import { MemoryEventSink, MemoryLinkStore } from '../../support/memory-store.ts';

const HUB = 'crosslink-hub';
const NET = 'network-east';
const NET_SA = 'crosslink-net@network-east.iam.gserviceaccount.com';

/** Matches a ValidationError with exactly these issues. */
const invalid = (issues: unknown[]) => expect.objectContaining({ name: 'ValidationError', issues });

describe('parseNetworkProjects', () => {
  it('reads a JSON map of project id -> service account; unset or empty is none', () => {
    expect(parseNetworkProjects(undefined, HUB).size).toBe(0);
    expect(parseNetworkProjects(' ', HUB).size).toBe(0);
    expect([...parseNetworkProjects(JSON.stringify({ [NET]: NET_SA }), HUB)]).toEqual([[NET, NET_SA]]);
  });

  it('names the variable, the project and the reason of every problem', () => {
    expect(() => parseNetworkProjects('network-east', HUB)).toThrow(
      invalid([{ path: 'CROSSLINK_NETWORK_PROJECTS', reason: expect.stringContaining('is not JSON') }]),
    );
    expect(() => parseNetworkProjects('["network-east"]', HUB)).toThrow(
      invalid([{ path: 'CROSSLINK_NETWORK_PROJECTS', reason: expect.stringContaining('must be an object') }]),
    );
    const raw = JSON.stringify({ [HUB]: NET_SA, Bad_Project: NET_SA, 'network-west': 'bob' });
    expect(() => parseNetworkProjects(raw, HUB)).toThrow(
      invalid([
        { path: `CROSSLINK_NETWORK_PROJECTS.${HUB}`, reason: expect.stringContaining('is the hub project') },
        { path: 'CROSSLINK_NETWORK_PROJECTS.Bad_Project', reason: 'is not a Google project id' },
        {
          path: 'CROSSLINK_NETWORK_PROJECTS.network-west',
          reason: expect.stringContaining('must be the email of a service account'),
        },
      ]),
    );
  });
});

describe('the intake refuses a project it cannot reach', () => {
  const policy = loadPolicy(parse(readFileSync('config/policy.yaml', 'utf8')));
  const base = parse(readFileSync('examples/link-request.yaml', 'utf8'));
  const ALICE = { principal: 'alice@example.com', side: 'gcp' as const };
  let store: MemoryLinkStore;
  let deps: LinkDeps;
  beforeEach(() => {
    const clock = new ManualClock('2026-11-26T10:00:00Z');
    store = new MemoryLinkStore(clock);
    deps = {
      store,
      events: new MemoryEventSink(),
      policy,
      clock,
      origin: { cloud: 'gcp', project: HUB, region: 'us-east4' },
      placement: projectPlacement(HUB, new Map([[NET, NET_SA]])),
    };
  });
  const asking = (project: string) => ({ ...base, gcp: { ...base.gcp, project } });

  it('takes the hub and a configured network project', async () => {
    expect((await requestLink(deps, { request: asking(HUB), caller: ALICE })).created).toBe(true);
    expect((await requestLink(deps, { request: asking(NET), caller: ALICE })).created).toBe(true);
  });

  it('refuses any other project with a ValidationError naming gcp.project, recording nothing', async () => {
    const refused = requestLink(deps, { request: asking('someone-else'), caller: ALICE });
    await expect(refused).rejects.toBeInstanceOf(ValidationError);
    await expect(refused).rejects.toMatchObject({
      issues: [{ path: 'gcp.project', reason: expect.stringContaining('someone-else is neither the hub') }],
    });
    expect((await store.list({})).items).toEqual([]);
  });
});

/** A project's transports, with TransportHalves' contract (names carry the project). */
function project(id: string, options: { failGets?: boolean } = {}) {
  const transports = new Map<string, OwnHalfView>();
  const calls: string[] = [];
  const nameOf = (linkId: string) => `projects/${id}/locations/us-east4/transports/${linkId}`;
  const idOf = (name: string) => name.split('/').at(-1) as string;
  const create = (verb: string, linkId: string): OwnHalfView => {
    calls.push(`${verb} ${linkId}`);
    const half = { connectionId: nameOf(linkId), state: 'CREATING' as const, adminEnabled: true, linkId };
    transports.set(linkId, half);
    return half;
  };
  const halves = {
    capacity: async () => ({ state: 'available', availableBandwidths: ['BPS_1G'] }),
    initiate: async (input: InitiateHalfInput) => ({
      half: create('initiate', input.linkId),
      keyRef: `secret-${id}`,
    }),
    accept: async (input: InitiateHalfInput) => create('accept', input.linkId),
    getHalf: async (name: string) => {
      calls.push(`get ${name}`);
      if (options.failGets) throw Object.assign(new Error('unavailable'), { name: 'Unavailable' });
      return transports.get(idOf(name)) ?? null;
    },
    findHalves: async (linkId: string) => [...transports.values()].filter((t) => t.linkId === linkId),
    deleteHalf: async (name: string) => {
      calls.push(`delete ${name}`);
      return { alreadyGone: !transports.delete(idOf(name)) };
    },
    disableHalf: async (name: string) => {
      calls.push(`disable ${name}`);
      const t = transports.get(idOf(name));
      if (!t) return null;
      t.adminEnabled = false;
      return t;
    },
  };
  return { halves: halves as unknown as TransportHalves, transports, calls };
}

const LINK = 'lk-01kt07nv00h4n3a3ngvn91t9qs';
const input = (gcpProject: string, linkId = LINK): InitiateHalfInput =>
  ({
    linkId,
    request: { gcp: { project: gcpProject }, aws: { accountId: '000000000000' } },
    tags: {},
  }) as unknown as InitiateHalfInput;

function routedOver(hub: ReturnType<typeof project>, net: ReturnType<typeof project>) {
  const routed = new ProjectRoutedHalves(
    HUB,
    new Map([
      [HUB, hub.halves],
      [NET, net.halves],
    ]),
  );
  return { hub, net, routed };
}

describe('ProjectRoutedHalves', () => {
  it('creates and accepts in the project the request names; refuses a project it does not know', async () => {
    const { hub, net, routed } = routedOver(project(HUB), project(NET));
    const there = await routed.initiate(input(NET));
    const here = await routed.accept({ ...input(HUB, 'lk-01kt07nv00h4n3a3ngvn91t9qt'), activationKey: 'k' });
    expect(there.half.connectionId).toBe(`projects/${NET}/locations/us-east4/transports/${LINK}`);
    expect(here.connectionId.startsWith(`projects/${HUB}/`)).toBe(true);
    expect([...net.transports.keys()]).toEqual([LINK]);
    expect(hub.calls).toEqual(['accept lk-01kt07nv00h4n3a3ngvn91t9qt']);
    await expect(routed.initiate(input('someone-else'))).rejects.toMatchObject({
      name: 'ValidationError',
      issues: [{ path: 'gcp.project', reason: expect.stringContaining('someone-else') }],
    });
  });

  it('gets, disables and deletes a named transport in its own project only (404 there = gone)', async () => {
    const { hub, routed } = routedOver(project(HUB), project(NET));
    const { half } = await routed.initiate(input(NET));
    expect(await routed.getHalf(half.connectionId)).toMatchObject({ state: 'CREATING' });
    expect(await routed.disableHalf(half.connectionId)).toMatchObject({ adminEnabled: false });
    expect(await routed.deleteHalf(half.connectionId)).toEqual({ alreadyGone: false });
    expect(await routed.getHalf(half.connectionId)).toBeNull();
    expect(await routed.deleteHalf(half.connectionId)).toEqual({ alreadyGone: true });
    expect(hub.calls).toEqual([]); // the hub was never asked about the network project's transport
    await expect(
      routed.getHalf(`projects/someone-else/locations/us-east4/transports/${LINK}`),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('finds a bare id in whichever project holds it; gone only when every project says 404', async () => {
    const { hub, routed } = routedOver(project(HUB), project(NET));
    await routed.initiate(input(NET));
    expect(await routed.getHalf(LINK)).toMatchObject({ linkId: LINK });
    expect(await routed.findHalves(LINK)).toHaveLength(1);
    expect(await routed.deleteHalf(LINK)).toEqual({ alreadyGone: false });
    expect(await routed.getHalf(LINK)).toBeNull();
    expect(hub.calls.filter((c) => c.startsWith('get'))).toHaveLength(3);
    expect(await routed.disableHalf(LINK)).toBeNull();
    expect(await routed.deleteHalf(LINK)).toEqual({ alreadyGone: true });
  });

  it('a project that cannot answer makes a bare id unknown, never gone', async () => {
    const { routed } = routedOver(project(HUB), project(NET, { failGets: true }));
    await expect(routed.getHalf(LINK)).rejects.toThrow('unavailable');
    await expect(routed.deleteHalf(LINK)).rejects.toThrow('unavailable');
  });
});
