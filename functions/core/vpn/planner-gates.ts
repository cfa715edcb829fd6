/**
 * The decommission planner's per-VPN gates, and the indexed inventory (`Context`) they read: coverage,
 * effective routes, drain method, soak, idle traffic, opt-out and IaC ownership, each a verdict with
 * its reason. Kept apart from the planner so the planner reads as the decision (gates to an action, then
 * the per-pair last-path rule) and each gate reads on its own.
 */
import { type Cidr, compareCidr } from '../net/cidr.ts';
import type {
  CarriedPrefix,
  DrainMethod,
  HealthStatus,
  Inventory,
  Link,
  NextHop,
  Side,
  TrafficSample,
  Vpn,
} from './model.ts';
import { addTo } from './multimap.ts';
import { inChangeWindow, type PlannerPolicy } from './policy.ts';
import { PrefixTrie, type TrieEntry } from './prefix-trie.ts';

export interface Context {
  readonly policy: PlannerPolicy;
  readonly now: number;
  readonly links: ReadonlyMap<string, readonly Link[]>;
  /** Per pair of networks: prefixes of ACTIVE links, by the side they lead to. */
  readonly cover: ReadonlyMap<string, Record<Side, PrefixTrie<string>>>;
  readonly effective: ReadonlyMap<string, PrefixTrie<readonly NextHop[]>>;
  readonly observedTgws: ReadonlySet<string>;
  readonly traffic: ReadonlyMap<string, readonly TrafficSample[]>;
  readonly inWindow: boolean;
}

export const pairKey = (aws: string, gcp: string | undefined) => `${aws}|${gcp ?? ''}`;
const HOUR = 3_600_000;
const SEVERITY: Record<HealthStatus, number> = { healthy: 0, degraded: 1, down: 2 };

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function context(inv: Inventory, policy: PlannerPolicy, now: number): Context {
  const links = new Map<string, Link[]>();
  const cover = new Map<string, Record<Side, PrefixTrie<string>>>();
  for (const l of [...inv.links].sort((a, b) => cmp(a.id, b.id))) {
    const key = pairKey(l.aws.gateway, l.gcp.network);
    // Changes at the same instant: the worst one last, so it is the status from then on.
    const link = {
      ...l,
      health: [...l.health].sort((a, b) => a.at - b.at || SEVERITY[a.status] - SEVERITY[b.status]),
    };
    addTo(links, key, link);
    if (l.state !== 'ACTIVE') continue;
    const tries = cover.get(key) ?? { aws: new PrefixTrie<string>(), gcp: new PrefixTrie<string>() };
    cover.set(key, tries);
    for (const c of l.aws.allowedPrefixes) tries.aws.insert(c, l.id);
    for (const c of l.gcp.advertisedRoutes) tries.gcp.insert(c, l.id);
  }
  const effective = new Map<string, PrefixTrie<readonly NextHop[]>>();
  for (const r of inv.effectiveRoutes) {
    const key = `${r.side}|${r.network}`;
    const t = effective.get(key) ?? new PrefixTrie<readonly NextHop[]>();
    effective.set(key, t);
    t.insert(r.prefix, r.via);
  }
  const traffic = new Map<string, TrafficSample[]>();
  for (const s of inv.traffic) addTo(traffic, s.vpnConnectionId, s);
  for (const list of traffic.values()) list.sort((a, b) => a.start - b.start || a.end - b.end);
  return {
    policy,
    now,
    links,
    cover,
    effective,
    observedTgws: new Set(inv.observedTransitGateways),
    traffic,
    inWindow: inChangeWindow(policy.changeWindows, now),
  };
}

export interface Outcome {
  readonly ok: boolean;
  readonly reason: string;
}

export function optOutGate(vpn: Vpn, policy: PlannerPolicy): Outcome {
  const tag = vpn.aws.tags[policy.optOutTag];
  if (tag !== undefined && tag.toLowerCase() !== 'false')
    return { ok: false, reason: `tag ${policy.optOutTag}=${tag} on ${vpn.id}` };
  // Google label keys cannot hold ':', so the label is the tag with ':' spelt '-'.
  const label = policy.optOutTag.replaceAll(':', '-');
  const t = vpn.gcp?.tunnels.find((x) => x.labels[label] !== undefined && x.labels[label] !== 'false');
  if (t) return { ok: false, reason: `label ${label}=${t.labels[label]} on tunnel ${t.name}` };
  return { ok: true, reason: `no ${policy.optOutTag} tag (nor ${label} label)` };
}

export function coveredGate(vpn: Vpn, ctx: Context): Outcome & { links: string[] } {
  const pair = `${vpn.networks.aws} and ${vpn.networks.gcp}`;
  const tries = ctx.cover.get(pairKey(vpn.networks.aws, vpn.networks.gcp));
  if (vpn.prefixes.length === 0)
    return {
      ok: false,
      links: [],
      reason:
        vpn.drain && !vpn.drain.recorded
          ? 'drained outside crosslink: the prefixes it carried are unknown (no drain record)'
          : 'no prefix observed on the VPN (BGP down and no static routes)',
    };
  const problems: string[] = [];
  const links = new Set<string>();
  for (const p of sortedPrefixes(vpn.prefixes)) {
    const trie = tries?.[p.toward];
    if (trie?.coversAtOrBelow(p.prefix)) {
      for (const e of trie.atOrBelow(p.prefix)) links.add(e.value);
      continue;
    }
    const wider = trie?.covering(p.prefix).at(-1);
    if (wider)
      problems.push(
        `${p.prefix.text} is more specific than ${wider.value}'s ${wider.cidr.text}: the VPN wins it (longest prefix); add ${p.prefix.text} to the link`,
      );
    else if (trie && trie.atOrBelow(p.prefix).length > 0)
      problems.push(`${p.prefix.text} only partly covered by ACTIVE links`);
    else problems.push(`no ACTIVE link between ${pair} carries ${p.prefix.text} (toward ${p.toward})`);
  }
  if (problems.length > 0) return { ok: false, links: [...links].sort(), reason: problems.join('; ') };
  return {
    ok: true,
    links: [...links].sort(),
    reason: `${vpn.prefixes.length} prefix(es) covered by ${[...links].sort().join(', ')}; none more specific`,
  };
}

function sortedPrefixes(ps: readonly CarriedPrefix[]): CarriedPrefix[] {
  return [...ps].sort((a, b) => cmp(a.toward, b.toward) || compareCidr(a.prefix, b.prefix));
}

export function effectiveGate(vpn: Vpn, ctx: Context): Outcome {
  const drained = vpn.drain !== undefined;
  const tries = ctx.cover.get(pairKey(vpn.networks.aws, vpn.networks.gcp));
  const pairLinks = new Set(
    (ctx.links.get(pairKey(vpn.networks.aws, vpn.networks.gcp)) ?? []).map((l) => l.id),
  );
  const toward = (side: Side) =>
    sortedPrefixes(vpn.prefixes.filter((p) => p.toward === side)).map((p) => p.prefix);
  const hops = (via: readonly NextHop[]) =>
    [...new Set(via.map((h) => (h.kind === 'other' ? h.what : h.id)))].sort().join(', ');

  // AWS side: traffic to Google prefixes.
  const awsProblems: string[] = [];
  let awsNote: string;
  if (vpn.aws.gateway.kind === 'tgw') {
    const tgw = vpn.aws.gateway.id;
    const trie = ctx.effective.get(`aws|${tgw}`);
    if (!ctx.observedTgws.has(tgw))
      awsProblems.push(`routes of ${tgw} not exported (search-transit-gateway-routes)`);
    else
      for (const p of toward('gcp'))
        for (const group of routed(trie, p)) {
          const via = group.flatMap((e) => e.value);
          const what = part(p, group);
          if (via.length === 0) awsProblems.push(`no ${tgw} route for ${what}`);
          else if (via.some((h) => h.kind === 'vpn' && h.id === vpn.id))
            awsProblems.push(`${tgw} routes ${what} over ${vpn.id}${drained ? ' after the drain' : ''}`);
          else if (!finer(p, group) && !via.some((h) => h.kind === 'link' && pairLinks.has(h.id)))
            awsProblems.push(`${tgw} routes ${what} via ${hops(via)}`);
        }
    awsNote = `Transit Gateway ${tgw} routes use the link`;
  } else {
    // A VPC route table shows only the virtual private gateway, not which of its paths it uses: the
    // VPN tunnels' own BGP state and traffic decide.
    awsNote =
      'virtual private gateway: route tables cannot show the path, judged by the VPN BGP state and traffic';
    if (drained) {
      const up = vpn.aws.tunnels.filter((t) => t.status === 'UP');
      if (up.length > 0)
        awsProblems.push(`BGP still UP on ${up.map((t) => t.outsideIp).join(', ')} after the drain`);
      else awsNote += '; BGP down on every tunnel';
    } else {
      // What AWS sends over the VPN: AWS's TunnelDataOut, or the same bytes as Google's tunnels
      // count them arriving (received_bytes_count), whichever side's counters the run reads.
      const out = trafficIn(
        ctx.traffic.get(vpn.id) ?? [],
        ctx.now - ctx.policy.idleWindowMs,
        ctx.now,
        AWS_SENDS,
      );
      if (out.coverage < ctx.policy.minTrafficCoverage)
        awsProblems.push(
          `TunnelDataOut (or Google's received_bytes_count) covers ${pct(out.coverage)} of the last ${human(ctx.policy.idleWindowMs)}: cannot tell which path AWS uses (pass --metrics)`,
        );
      else if (out.peakRate > ctx.policy.idleMaxBytesPerHour)
        awsProblems.push(
          `AWS still sends ${bytes(out.peakRate)}/h over the VPN (peak at ${iso(out.peakAt)})`,
        );
      else awsNote += `; AWS sends at most ${bytes(out.peakRate)}/h over it`;
    }
  }

  // Google side: traffic to AWS prefixes, from the routers' best routes.
  const gcpProblems: string[] = [];
  const notes: string[] = [];
  const net = vpn.networks.gcp as string;
  if (!vpn.gcp?.statusObserved) gcpProblems.push(`no get-status for router ${vpn.gcp?.router}`);
  else
    for (const p of toward('aws'))
      for (const group of routed(ctx.effective.get(`gcp|${net}`), p)) {
        const via = group.flatMap((e) => e.value);
        const what = part(p, group);
        const q = group[0]?.cidr ?? p;
        const linkRoute = tries?.aws.longestMatch(q)[0];
        if (via.length === 0) {
          if (!linkRoute && !tries?.aws.coversAtOrBelow(p))
            gcpProblems.push(`no best route for ${what} in ${net}`);
        } else if (via.some((h) => h.kind === 'vpn' && h.id === vpn.id)) {
          if (!drained && linkRoute && linkRoute.cidr.length === q.length)
            notes.push(
              `${what} ties with ${linkRoute.value}'s route; the local dynamic route wins until the drain hands it to the link`,
            );
          else gcpProblems.push(`${net} routes ${what} over ${vpn.id}${drained ? ' after the drain' : ''}`);
        } else if (!finer(p, group) && !via.some((h) => h.kind === 'link' && pairLinks.has(h.id)))
          gcpProblems.push(`${net} routes ${what} via ${hops(via)}`);
      }
  const ok = awsProblems.length === 0 && gcpProblems.length === 0;
  const aws = awsProblems.length > 0 ? awsProblems.join('; ') : awsNote;
  const gcp =
    gcpProblems.length > 0
      ? gcpProblems.join('; ')
      : notes.length > 0
        ? notes.join('; ')
        : 'best routes use the link';
  return { ok, reason: `AWS: ${aws}. Google: ${gcp}` };
}

/**
 * The routes longest-prefix routing uses for the addresses of `p`: finer routes that together span `p`
 * win every address, so a wider or equal route they shadow is not one of them.
 */
function routed(
  trie: PrefixTrie<readonly NextHop[]> | undefined,
  p: Cidr,
): TrieEntry<readonly NextHop[]>[][] {
  return trie ? trie.matchesWithin(p) : [[]];
}

/**
 * Whether the group is a route finer than `p`. Such a part of `p` follows its own route whether or
 * not this VPN is drained, so only a finer route over this VPN itself fails the gate.
 */
function finer(p: Cidr, group: readonly TrieEntry<unknown>[]): boolean {
  return (group[0]?.cidr.length ?? -1) > p.length;
}

/** `p`, or the part of it a finer route matches. */
function part(p: Cidr, group: readonly TrieEntry<unknown>[]): string {
  const q = group[0]?.cidr;
  return q && finer(p, group) ? `${q.text} (of ${p.text})` : p.text;
}

export function drainMethodOf(vpn: Vpn): { method: DrainMethod | undefined; reason: string } {
  const peers = vpn.gcp?.bgpPeers ?? [];
  if (vpn.gcp && peers.length > 0)
    return {
      method: { kind: 'gcp-bgp-peers', router: vpn.gcp.router, peers: peers.map((p) => p.name) },
      reason: `set BGP peers ${peers.map((p) => p.name).join(', ')} on router ${vpn.gcp.router} to enable: FALSE (undo: TRUE); withdraws the VPN's routes both ways`,
    };
  if (vpn.aws.gateway.kind === 'tgw' && vpn.aws.transitGatewayAttachmentId)
    return {
      method: {
        kind: 'tgw-propagation',
        transitGatewayAttachmentId: vpn.aws.transitGatewayAttachmentId,
      },
      reason: `disable route-table propagation of attachment ${vpn.aws.transitGatewayAttachmentId}`,
    };
  return {
    method: undefined,
    reason:
      'no per-VPN drain: no Cloud Router BGP peer on the Google half and no Transit Gateway attachment; never DisableVgwRoutePropagation (it withdraws the link routes too)',
  };
}

/** A link's status at `t`: the last change at or before `t`. */
export function statusAt(link: Link, t: number): string | undefined {
  let s: string | undefined;
  for (const h of link.health) {
    if (h.at > t) break;
    s = h.status;
  }
  return s;
}

export function soakGate(vpn: Vpn, covering: readonly string[], ctx: Context): Outcome {
  const from = ctx.now - ctx.policy.soakMs;
  const pairLinks = ctx.links.get(pairKey(vpn.networks.aws, vpn.networks.gcp)) ?? [];
  const relevant =
    covering.length > 0
      ? pairLinks.filter((l) => covering.includes(l.id))
      : pairLinks.filter((l) => l.state === 'ACTIVE');
  if (relevant.length === 0)
    return { ok: false, reason: `no ACTIVE link between ${vpn.networks.aws} and ${vpn.networks.gcp}` };
  const problems: string[] = [];
  for (const l of relevant) {
    if (l.state !== 'ACTIVE') {
      problems.push(`${l.id} is ${l.state}`);
      continue;
    }
    const start = statusAt(l, from);
    const changes = l.health.filter((h) => h.at > from && h.at <= ctx.now);
    const bad = changes.filter((h) => h.status !== 'healthy');
    if (start === undefined) problems.push(`${l.id} has no health record before ${iso(from)}`);
    else if (start !== 'healthy') problems.push(`${l.id} was ${start} at the soak start ${iso(from)}`);
    if (bad.length > 0)
      problems.push(
        `${l.id} went ${bad[0]?.status} at ${iso(bad[0]?.at as number)}${bad.length > 1 ? ` (${bad.length} unhealthy changes in the window: flapping)` : ''}`,
      );
  }
  if (problems.length > 0)
    return { ok: false, reason: `soak ${human(ctx.policy.soakMs)}: ${problems.join('; ')}` };
  return {
    ok: true,
    reason: `${relevant.map((l) => l.id).join(', ')} healthy since before ${iso(from)} (${human(ctx.policy.soakMs)})`,
  };
}

interface Traffic {
  readonly coverage: number;
  readonly peakRate: number;
  readonly peakAt: number;
}

/**
 * Coverage of [from, to) by samples, and the peak rate (bytes per hour; samples of one interval summed
 * across metrics and tunnels). `samples` are sorted by start, then end (see context()).
 */
/**
 * The traffic of the samples that overlap [from, to): their coverage of it, and the peak rate.
 * `whole`: only the samples that start at or after `from` count, so that a sample holding `from`
 * (the drain) does not lend its bytes from before it to the time after.
 */
/** The counters of the bytes AWS sends over a VPN: AWS's own, and Google's tunnels receiving them. */
const AWS_SENDS: readonly string[] = ['TunnelDataOut', 'received_bytes_count'];

function trafficIn(
  samples: readonly TrafficSample[],
  from: number,
  to: number,
  metrics?: readonly string[],
  whole = false,
  limit = Number.POSITIVE_INFINITY,
): TrafficSinceDrain {
  let covered = 0;
  let reach = from;
  let peakRate = 0;
  let peakAt = from;
  let firstAbove: TrafficSinceDrain['firstAbove'];
  for (let i = 0; i < samples.length; ) {
    const { start, end } = samples[i] as TrafficSample;
    let bytes = 0;
    let seen = false;
    for (; i < samples.length; i++) {
      const s = samples[i] as TrafficSample;
      if (s.start !== start || s.end !== end) break;
      if (metrics === undefined || metrics.includes(s.metric)) {
        bytes += s.bytes;
        seen = true;
      }
    }
    if (!seen || end <= from || start >= to || (whole && start < from)) continue;
    const lo = Math.max(start, reach);
    const hi = Math.min(end, to);
    if (hi > lo) covered += hi - lo;
    reach = Math.max(reach, hi);
    const rate = bytes / ((end - start) / HOUR);
    if (rate > peakRate) {
      peakRate = rate;
      peakAt = start;
    }
    if (rate > limit && firstAbove === undefined) firstAbove = { start, end, rate };
  }
  return {
    coverage: to > from ? covered / (to - from) : 1,
    peakRate,
    peakAt,
    ...(firstAbove ? { firstAbove } : {}),
  };
}

/** A drained VPN's traffic since its drain: the peak rate, and the first period above the limit. */
export interface TrafficSinceDrain extends Traffic {
  /** The earliest period (ms) whose rate is above the limit; absent when none is. */
  readonly firstAbove?: { readonly start: number; readonly end: number; readonly rate: number };
}

/**
 * The traffic of a drained VPN from `since` (its drain) to `now`, as the idle gate counts it: a
 * sample is the sum of its period (CloudWatch's 5 minutes), and the one holding the drain time also
 * holds the traffic the VPN carried just before it, so only the samples from the drain on count;
 * every metric of one period (both directions, every tunnel) adds up. Traffic returned when a
 * period's rate is above `limit` (bytes per hour): the planner's idle gate and the watchers' traffic
 * check (traffic-return.ts) decide alike. `samples` sorted by start, then end.
 */
export function trafficSinceDrain(
  samples: readonly TrafficSample[],
  since: number,
  now: number,
  limit: number,
): TrafficSinceDrain {
  return trafficIn(samples, since, now, undefined, true, limit);
}

export function idleGate(vpn: Vpn, ctx: Context): Outcome & { trafficReturned: boolean } {
  const since = vpn.drain?.since;
  const samples = ctx.traffic.get(vpn.id) ?? [];
  const limit = ctx.policy.idleMaxBytesPerHour;
  // Traffic after the drain (or over the last window when the drain time is unknown) above the limit.
  const after =
    since === undefined
      ? trafficIn(samples, ctx.now - ctx.policy.idleWindowMs, ctx.now)
      : trafficSinceDrain(samples, since, ctx.now, limit);
  if (after.peakRate > limit)
    return {
      ok: false,
      trafficReturned: true,
      reason: `traffic returned: ${bytes(after.peakRate)}/h at ${iso(after.peakAt)} > ${bytes(limit)}/h`,
    };
  if (since === undefined) return { ok: false, trafficReturned: false, reason: 'drain time unknown' };
  if (ctx.now - since < ctx.policy.idleWindowMs)
    return {
      ok: false,
      trafficReturned: false,
      reason: `drained ${human(ctx.now - since)} ago; the idle window is ${human(ctx.policy.idleWindowMs)}`,
    };
  const w = trafficIn(samples, ctx.now - ctx.policy.idleWindowMs, ctx.now);
  if (w.coverage < ctx.policy.minTrafficCoverage)
    return {
      ok: false,
      trafficReturned: false,
      reason: `traffic observed for ${pct(w.coverage)} of the last ${human(ctx.policy.idleWindowMs)} (need ${pct(ctx.policy.minTrafficCoverage)})`,
    };
  return {
    ok: true,
    trafficReturned: false,
    reason: `at most ${bytes(w.peakRate)}/h over the last ${human(ctx.policy.idleWindowMs)} (limit ${bytes(limit)}/h)`,
  };
}

const IAC_TAGS: readonly [RegExp, RegExp | undefined, string][] = [
  [/^aws:cloudformation:stack-name$/, undefined, 'CloudFormation'],
  [/^pulumi:/, undefined, 'Pulumi'],
  [/^(managed[-_ ]?by|managedby|created[-_ ]?by|iac|tool|terraform)$/i, /terraform|opentofu/i, 'Terraform'],
  [/^(managed[-_ ]?by|managedby|created[-_ ]?by|iac|tool)$/i, /pulumi/i, 'Pulumi'],
  [/^(managed[-_ ]?by|managedby|created[-_ ]?by|iac|tool)$/i, /cloudformation|cdk/i, 'CloudFormation'],
  [/^terraform$/i, /^(true|yes|1)$/i, 'Terraform'],
];
const IAC_LABELS: readonly [RegExp, RegExp | undefined, string][] = [
  [/^goog-terraform-provisioned$/, /^true$/, 'Terraform'],
  [/^managed-by-cnrm$/, /^true$/, 'Config Connector'],
  [/^(managed-by|managed_by|iac)$/, /terraform|opentofu/, 'Terraform'],
  [/^(managed-by|managed_by|iac)$/, /pulumi/, 'Pulumi'],
];

export function iacOwner(vpn: Vpn): string | undefined {
  const match = (rules: typeof IAC_TAGS, kv: Readonly<Record<string, string>>, where: string) => {
    for (const [k, v] of Object.entries(kv).sort(([a], [b]) => cmp(a, b)))
      for (const [kr, vr, tool] of rules)
        if (kr.test(k) && (!vr || vr.test(v))) return `${tool} (${where} ${k}=${v})`;
    return undefined;
  };
  const aws = match(IAC_TAGS, vpn.aws.tags, `tag on ${vpn.id}`);
  if (aws) return aws;
  for (const t of vpn.gcp?.tunnels ?? []) {
    const g = match(IAC_LABELS, t.labels, `label on ${t.name}`);
    if (g) return g;
  }
  return undefined;
}

export function iso(t: number): string {
  return new Date(t).toISOString().replace('.000Z', 'Z');
}

export function human(ms: number): string {
  const h = Math.round(ms / HOUR);
  if (h >= 48) return h % 24 === 0 ? `${h / 24}d` : `${Math.floor(h / 24)}d ${h % 24}h`;
  if (ms >= HOUR) return `${Math.round((ms / HOUR) * 10) / 10}h`;
  return `${Math.round(ms / 60_000)}m`;
}

function bytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${Math.round(n)} B`;
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}
