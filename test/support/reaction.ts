/**
 * How soon a link follows its provider, with the watcher every `everyMs`: from a half becoming ready
 * at the provider to the link ACTIVE, and from a half going down to the link DOWN, for `n` links at
 * once. Two ways to run it (bench/reaction.ts prints both, each labelled):
 *
 * - `reactionOnLocalCloud`: the AWS watcher's code (`watch`) with its real ports on the local cloud:
 *   Interconnect connections over the wire, the DynamoDB store on dynalite. Each connection is made
 *   by the adapter's `initiate`; its key is redeemed by the partner (admin `redeem-key`) at a random
 *   moment, and the local Interconnect makes it `available` the provisioning delay later; later it
 *   goes `down` (admin `set-link`) at a random moment.
 * - `reactionOnCore`: the same decision (`watchHalves`, `recordOwnHalf`) on in-memory ports, for
 *   counts a whole local cloud cannot hold in reasonable wall time.
 *
 * A link's reaction is the virtual time from the provider's change to the watcher run that recorded
 * it, plus that run's wall time (the run is charged as if the clock ran at wall speed meanwhile). A
 * watcher run comes at every multiple of `everyMs` of the clock.
 */
import { performance } from 'node:perf_hooks';
import { watch } from '#aws/watcher.ts';
import type { Clock } from '#core/clock.ts';
import { mintLinkId } from '#core/ids.ts';
import type { AwsConnectionState, LinkRecord, LinkState } from '#core/link/model.ts';
import type { LinkDeps, LinkStore } from '#core/link/ports.ts';
import { recordOwnHalf } from '#core/link/record.ts';
import { scanOwnHalves, watchHalves } from '#core/link/watch.ts';
import { parseLinkRequest } from '#core/policy/request.ts';
import { startLocalCloud } from '#local/index.ts';
import { seededRandom } from '#local/random.ts';
import { ACCOUNT, LINK_REQUEST, startAwsHalf } from './aws-half.ts';
import { fleetLink } from './fleet.ts';
import { MemoryEventSink, MemoryLinkStore } from './memory-store.ts';
import { manualClock } from './timers.ts';

const MIN = 60_000;
/** The provider's changes fall at random moments within this window. */
const SPREAD_MS = 10 * MIN;
/** The local Interconnect's provisioning delay after the key is redeemed. */
const PROVISIONING_MS = 5 * MIN;

export interface Reaction {
  links: number;
  /** Reaction times (ms of virtual time) from ready at the provider to ACTIVE, one per link. */
  up: number[];
  /** From down at the provider to DOWN, one per link. */
  down: number[];
  /** Wall time of each watcher run (ms). */
  runs: number[];
  /** Watcher invocations per minute of virtual time (the schedule's), whatever the number of links. */
  invocationsPerMinute: number;
}

/** The `p`-th percentile (0-100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/**
 * Drives the provider's changes and the watcher's runs on one virtual timeline: each change at its
 * moment, a watcher run at every whole minute; returns when every link reached `target` (or throws
 * past `boundMs`), with each link's reaction.
 */
async function follow(options: {
  clock: Clock & { advance(ms: number): Promise<void> };
  store: Pick<LinkStore, 'list'>;
  changes: { linkId: string; at: number; apply: () => Promise<void> }[];
  /** When the provider shows the change (the `apply` moment, or later: the provisioning delay). */
  visibleAt: (linkId: string) => number;
  target: (l: LinkRecord) => boolean;
  run: () => Promise<void>;
  runs: number[];
  /** The watcher's schedule. */
  everyMs: number;
}): Promise<number[]> {
  const { clock, store, changes } = options;
  const pending = [...changes].sort((a, b) => a.at - b.at);
  const reached = new Map<string, number>();
  const start = clock.now();
  let tick = start + options.everyMs - (start % options.everyMs);
  const bound = start + SPREAD_MS + PROVISIONING_MS + 3 * options.everyMs;
  while (reached.size < changes.length) {
    if (tick > bound) throw new Error(`${changes.length - reached.size} links never reached the state`);
    const next = pending[0];
    if (next && next.at <= tick) {
      await clock.advance(next.at - clock.now());
      await next.apply();
      pending.shift();
      continue;
    }
    await clock.advance(tick - clock.now());
    const t0 = performance.now();
    await options.run();
    const wall = performance.now() - t0;
    options.runs.push(wall);
    let cursor: string | undefined;
    do {
      const page = await store.list({ limit: 100, ...(cursor ? { cursor } : {}) });
      for (const l of page.items)
        if (!reached.has(l.id) && options.target(l)) reached.set(l.id, tick + wall - options.visibleAt(l.id));
      cursor = page.cursor;
    } while (cursor);
    tick += options.everyMs;
  }
  return changes.map((c) => reached.get(c.linkId) as number);
}

/**
 * Every link's half ready at a random moment within 10 minutes (visible at the provider
 * `readyDelayMs` later), then, once all are ACTIVE, down at a random moment: each link's reaction
 * to both, and the wall time of every watcher run.
 */
async function upThenDown(o: {
  clock: Clock & { advance(ms: number): Promise<void> };
  store: Pick<LinkStore, 'list'>;
  ids: readonly string[];
  seed: number;
  everyMs: number;
  run: () => Promise<void>;
  ready: (id: string) => Promise<void>;
  readyDelayMs: number;
  down: (id: string) => Promise<void>;
}): Promise<{ up: number[]; down: number[]; runs: number[] }> {
  const rand = seededRandom(o.seed).next;
  const runs: number[] = [];
  const phase = async (apply: (id: string) => Promise<void>, delayMs: number, target: LinkState) => {
    const t0 = o.clock.now();
    const at = new Map(o.ids.map((id) => [id, t0 + Math.floor(rand() * SPREAD_MS)]));
    return follow({
      clock: o.clock,
      store: o.store,
      changes: o.ids.map((id) => ({ linkId: id, at: at.get(id) as number, apply: () => apply(id) })),
      visibleAt: (id) => (at.get(id) as number) + delayMs,
      target: (l) => l.state === target,
      run: o.run,
      runs,
      everyMs: o.everyMs,
    });
  };
  const up = await phase(o.ready, o.readyDelayMs, 'ACTIVE');
  const down = await phase(o.down, 0, 'DOWN');
  return { up, down, runs };
}

/** `n` links on the local cloud, the AWS watcher's code with its real ports. */
export async function reactionOnLocalCloud(n: number, everyMs: number, seed = 1): Promise<Reaction> {
  const cloud = await startLocalCloud({
    ports: 0,
    clock: { mode: 'manual', start: '2026-06-01T00:00:00Z' },
    seed,
    log: () => {},
    settings: {
      // A quota raised for the measurement, as a support case raises it for a fleet of links.
      interconnect: { delays: { provisioning: `${PROVISIONING_MS / MIN}m` }, maxConnections: n + 10 },
    },
  });
  const half = await startAwsHalf(cloud);
  const admin = (action: string, body: unknown) =>
    fetch(`${cloud.admin}/aws/interconnect/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (r) => {
      if (!r.ok) throw new Error(`admin ${action}: ${r.status} ${await r.text()}`);
    });
  try {
    const request = parseLinkRequest({
      ...LINK_REQUEST,
      aws: { ...LINK_REQUEST.aws, directConnectGateway: half.gateway },
    });
    const connections = new Map<string, string>();
    for (let i = 0; i < n; i++) {
      const id = mintLinkId(cloud.clock);
      const { half: made } = await half.deps.halves.initiate({ linkId: id, request, tags: {} });
      const aws = { connectionId: made.connectionId, nativeState: made.state as AwsConnectionState };
      await half.deps.store.create(fleetLink(id, aws, half.deps.policy.hash, cloud.clock.now()));
      connections.set(id, made.connectionId);
    }
    const r = await upThenDown({
      clock: cloud.clock,
      store: half.deps.store,
      ids: [...connections.keys()],
      seed,
      everyMs,
      run: async () => {
        await watch(half.deps);
      },
      // The partner redeems the key; the local Interconnect makes the connection available later.
      ready: async (id) =>
        admin('redeem-key', {
          activationKey: await half.secrets.getActivationKey(`crosslink/${id}/activation-key`),
        }),
      readyDelayMs: PROVISIONING_MS,
      down: (id) => admin('set-link', { identifier: connections.get(id), up: false }),
    });
    return { links: n, ...r, invocationsPerMinute: MIN / everyMs };
  } finally {
    await half.stop();
    await cloud.stop();
  }
}

/**
 * `n` links on the core with in-memory ports: the provider is a map of connection states, the
 * store the in-memory one with the same conditional writes; each run lists every connection and
 * records each change through `recordOwnHalf`, as the AWS watcher does.
 */
export async function reactionOnCore(n: number, everyMs: number, seed = 1): Promise<Reaction> {
  const clock = manualClock(Date.parse('2026-06-01T00:00:00Z'));
  const store = new MemoryLinkStore(clock);
  const policyHash = 'a'.repeat(64);
  const deps = {
    store,
    events: new MemoryEventSink(),
    clock,
    policy: { hash: policyHash },
    origin: { cloud: 'aws' as const, accountId: ACCOUNT, region: 'us-east-1' },
  } as unknown as LinkDeps;
  const provider = new Map<string, AwsConnectionState>();
  const connectionOf = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const id = mintLinkId(clock);
    const connectionId = `mcc-${String(i).padStart(8, '0')}`;
    provider.set(connectionId, 'pending');
    connectionOf.set(id, connectionId);
    await store.create(fleetLink(id, { connectionId, nativeState: 'pending' }, policyHash, clock.now()));
  }
  const ids = [...connectionOf.keys()];
  const run = async () => {
    const scan = await scanOwnHalves(store, 'aws', clock.now());
    const listed = [...provider].map(([resourceId, nativeState]) => ({
      linkId: undefined,
      resourceId,
      nativeState,
    }));
    const result = await watchHalves(
      { side: 'aws', policyHash, known: scan.known, listed, now: clock.now() },
      async () => null,
    );
    for (const c of result.changes)
      await recordOwnHalf(deps, { linkId: c.linkId, nativeState: c.nativeState, resourceId: c.resourceId });
  };
  const r = await upThenDown({
    clock,
    store,
    ids,
    seed,
    everyMs,
    run,
    ready: async (id) => {
      provider.set(connectionOf.get(id) as string, 'available');
    },
    readyDelayMs: 0,
    down: async (id) => {
      provider.set(connectionOf.get(id) as string, 'down');
    },
  });
  return { links: n, ...r, invocationsPerMinute: MIN / everyMs };
}
