/**
 * vpn-decommission-planner: for each VPN between AWS and Google, `keep`, `drain`, `undrain` or
 * `delete`, with every gate's verdict and reason (docs/reference/platform-semantics.md, "Migrating from
 * IPsec VPN to a private link").
 *
 * Main course: an active VPN whose prefixes ACTIVE links cover (no more-specific prefix), whose
 * effective routes already prefer the link on both sides, that has a per-VPN drain method, whose links
 * soaked healthy, inside a change window and not opted out, is drained; a drained VPN that stayed
 * idle, past its cooling-off, not owned by an IaC tool (unless allowed), is deleted. A drained VPN is
 * undrained when a link degrades, a prefix is no longer covered, traffic returns or it is opted out.
 * Across each pair of networks the plan never removes the last healthy path and keeps the VPNs a
 * backup rule asks for.
 *
 * Pure and deterministic: the same inventory, policy and `now` give the same plan, whatever the order
 * of the inventory's lists. It throws nothing for odd inventories: what it cannot judge fails a gate.
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
  Unpaired,
  Vpn,
} from './model.ts';
import { addTo } from './multimap.ts';
import { type BackupRule, describeWindow, inChangeWindow, type PlannerPolicy } from './policy.ts';
import { PrefixTrie, type TrieEntry } from './prefix-trie.ts';

export type Action = 'keep' | 'drain' | 'undrain' | 'delete';
export type Verdict = 'pass' | 'fail' | 'skip';
export const GATES = [
  'paired',
  'opt-out',
  'covered',
  'effective-routes',
  'drain-method',
  'soak',
  'idle',
  'cooling-off',
  'last-path',
  'change-window',
  'iac-ownership',
] as const;
export type GateName = (typeof GATES)[number];

export interface Gate {
  readonly gate: GateName;
  readonly verdict: Verdict;
  readonly reason: string;
}

export interface VpnPlan {
  readonly vpnConnectionId: string;
  readonly networks: { readonly aws: string; readonly gcp: string | undefined };
  readonly state: 'active' | 'drained';
  readonly action: Action;
  /** One line: why this action. */
  readonly summary: string;
  /** Every gate, in GATES order. */
  readonly gates: readonly Gate[];
  readonly drainMethod: DrainMethod | undefined;
  /** What a delete removes on each cloud (empty unless the action is delete). */
  readonly deletes: readonly string[];
  readonly monthlyCost: number;
  /** Monthly cost saved by this plan: the cost when the action is delete. */
  readonly monthlySaving: number;
}

export interface Plan {
  readonly at: string;
  readonly currency: string;
  readonly vpns: readonly VpnPlan[];
  readonly unpaired: readonly Unpaired[];
  readonly totals: {
    readonly keep: number;
    readonly drain: number;
    readonly undrain: number;
    readonly delete: number;
    readonly monthlySaving: number;
    /** What the VPNs drained now or by this plan would save once deleted. */
    readonly monthlySavingPending: number;
  };
}

interface Context {
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

interface Draft {
  readonly vpn: Vpn;
  readonly gates: Map<GateName, Gate>;
  want: Action;
  summary: string;
  readonly drainMethod: DrainMethod | undefined;
}

const pairKey = (aws: string, gcp: string | undefined) => `${aws}|${gcp ?? ''}`;
const HOUR = 3_600_000;
const SEVERITY: Record<HealthStatus, number> = { healthy: 0, degraded: 1, down: 2 };

export function planDecommission(inventory: Inventory, policy: PlannerPolicy, now: number): Plan {
  const ctx = context(inventory, policy, now);
  const vpns = [...inventory.vpns].sort((a, b) => cmp(a.id, b.id));
  const drafts = vpns.map((v) => judge(v, ctx));

  const byPair = new Map<string, Draft[]>();
  for (const d of drafts) if (d.vpn.gcp) addTo(byPair, pairKey(d.vpn.networks.aws, d.vpn.networks.gcp), d);
  for (const [key, list] of [...byPair].sort(([a], [b]) => cmp(a, b))) lastPath(key, list, ctx);

  const users = sharedUsers(drafts, inventory);
  const out = drafts.map((d) => finish(d, users, ctx));
  const round = (n: number) => Math.round(n * 100) / 100;
  const count = (a: Action) => out.filter((p) => p.action === a).length;
  return {
    at: new Date(now).toISOString(),
    currency: policy.pricing.currency,
    vpns: out,
    unpaired: [...inventory.unpaired].sort((a, b) => cmp(`${a.side}:${a.id}`, `${b.side}:${b.id}`)),
    totals: {
      keep: count('keep'),
      drain: count('drain'),
      undrain: count('undrain'),
      delete: count('delete'),
      monthlySaving: round(out.reduce((s, p) => s + p.monthlySaving, 0)),
      monthlySavingPending: round(
        out
          .filter((p) => p.action === 'drain' || (p.state === 'drained' && p.action === 'keep'))
          .reduce((s, p) => s + p.monthlyCost, 0),
      ),
    },
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function context(inv: Inventory, policy: PlannerPolicy, now: number): Context {
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

// ---------------------------------------------------------------- per VPN

function judge(vpn: Vpn, ctx: Context): Draft {
  const gates = new Map<GateName, Gate>();
  const set = (gate: GateName, verdict: Verdict, reason: string) =>
    gates.set(gate, { gate, verdict, reason });
  const drained = vpn.drain !== undefined;

  if (!vpn.gcp) {
    set(
      'paired',
      'fail',
      `no Google HA VPN tunnel has a peer IP among ${vpn.aws.tunnels.map((t) => t.outsideIp).join(', ') || 'its tunnels'}`,
    );
    for (const g of GATES) if (g !== 'paired') set(g, 'skip', 'the VPN is not paired with a Google half');
    return {
      vpn,
      gates,
      want: 'keep',
      summary: 'not paired: only a complete pair can be planned',
      drainMethod: undefined,
    };
  }
  set(
    'paired',
    'pass',
    `AWS ${vpn.id} <-> Google ${vpn.gcp.tunnels.map((t) => t.name).join(', ')} on router ${vpn.gcp.router}`,
  );

  const optOut = optOutGate(vpn, ctx.policy);
  set('opt-out', optOut.ok ? 'pass' : 'fail', optOut.reason);
  const cov = coveredGate(vpn, ctx);
  set('covered', cov.ok ? 'pass' : 'fail', cov.reason);
  const eff = effectiveGate(vpn, ctx);
  set('effective-routes', eff.ok ? 'pass' : 'fail', eff.reason);
  const method = drainMethodOf(vpn);
  set('drain-method', method.method ? 'pass' : 'fail', method.reason);
  const soak = soakGate(vpn, cov.links, ctx);
  set('soak', soak.ok ? 'pass' : 'fail', soak.reason);
  set(
    'change-window',
    ctx.inWindow ? 'pass' : 'fail',
    ctx.policy.changeWindows.length === 0
      ? 'no change window configured: changes at any time'
      : `${ctx.inWindow ? 'inside' : 'outside'} ${ctx.policy.changeWindows.map(describeWindow).join(' / ')}`,
  );
  const iac = iacOwner(vpn);

  const failing = (names: GateName[]) => names.filter((n) => gates.get(n)?.verdict === 'fail');
  if (!drained) {
    set('idle', 'skip', 'applies after the drain');
    set('cooling-off', 'skip', 'applies after the drain');
    set(
      'iac-ownership',
      'skip',
      `checked before delete: ${iac ? `owned by ${iac}` : 'no IaC ownership tag'}`,
    );
    const blocking = failing([
      'opt-out',
      'covered',
      'effective-routes',
      'drain-method',
      'soak',
      'change-window',
    ]);
    return {
      vpn,
      gates,
      want: blocking.length === 0 ? 'drain' : 'keep',
      summary: blocking.length === 0 ? 'every drain gate passes' : `blocked by ${blocking.join(', ')}`,
      drainMethod: method.method,
    };
  }

  const idle = idleGate(vpn, ctx);
  set('idle', idle.ok ? 'pass' : 'fail', idle.reason);
  const since = vpn.drain?.since;
  if (since === undefined)
    set(
      'cooling-off',
      'fail',
      'drain time unknown (not recorded by crosslink, BGP not down on every tunnel)',
    );
  else {
    const left = since + ctx.policy.coolingOffMs - ctx.now;
    set(
      'cooling-off',
      left <= 0 ? 'pass' : 'fail',
      `drained ${human(ctx.now - since)} ago (${iso(since)}); cooling-off ${human(ctx.policy.coolingOffMs)}${left > 0 ? `, ends ${iso(since + ctx.policy.coolingOffMs)}` : ''}`,
    );
  }
  if (!iac) set('iac-ownership', 'pass', 'no IaC ownership tag');
  else if (ctx.policy.allowIacDelete)
    set('iac-ownership', 'pass', `owned by ${iac}; deleting allowed by policy (allowIacDelete)`);
  else
    set(
      'iac-ownership',
      'fail',
      `owned by ${iac}: reported, not deleted (the tool would recreate it); remove it from the tool's configuration, or set allowIacDelete`,
    );

  // Undrain when the reason for draining has gone away; a safety step, so not held to the change window.
  const triggers: string[] = [];
  if (!optOut.ok) triggers.push('opted out');
  if (!soak.ok) triggers.push('a link is not healthy');
  if (!cov.ok && vpn.prefixes.length > 0) triggers.push('a prefix is no longer covered by an ACTIVE link');
  if (idle.trafficReturned) triggers.push('VPN traffic returned');
  if (triggers.length > 0)
    return {
      vpn,
      gates,
      want: 'undrain',
      summary: `undrain: ${triggers.join('; ')}`,
      drainMethod: method.method,
    };
  const blocking = failing([
    'covered',
    'effective-routes',
    'idle',
    'cooling-off',
    'change-window',
    'iac-ownership',
  ]);
  return {
    vpn,
    gates,
    want: blocking.length === 0 ? 'delete' : 'keep',
    summary: blocking.length === 0 ? 'every delete gate passes' : `stays drained: ${blocking.join(', ')}`,
    drainMethod: method.method,
  };
}

interface Outcome {
  readonly ok: boolean;
  readonly reason: string;
}

function optOutGate(vpn: Vpn, policy: PlannerPolicy): Outcome {
  const tag = vpn.aws.tags[policy.optOutTag];
  if (tag !== undefined && tag.toLowerCase() !== 'false')
    return { ok: false, reason: `tag ${policy.optOutTag}=${tag} on ${vpn.id}` };
  // Google label keys cannot hold ':', so the label is the tag with ':' spelt '-'.
  const label = policy.optOutTag.replaceAll(':', '-');
  const t = vpn.gcp?.tunnels.find((x) => x.labels[label] !== undefined && x.labels[label] !== 'false');
  if (t) return { ok: false, reason: `label ${label}=${t.labels[label]} on tunnel ${t.name}` };
  return { ok: true, reason: `no ${policy.optOutTag} tag (nor ${label} label)` };
}

function coveredGate(vpn: Vpn, ctx: Context): Outcome & { links: string[] } {
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

function effectiveGate(vpn: Vpn, ctx: Context): Outcome {
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
      const out = trafficIn(
        ctx.traffic.get(vpn.id) ?? [],
        ctx.now - ctx.policy.idleWindowMs,
        ctx.now,
        'TunnelDataOut',
      );
      if (out.coverage < ctx.policy.minTrafficCoverage)
        awsProblems.push(
          `TunnelDataOut covers ${pct(out.coverage)} of the last ${human(ctx.policy.idleWindowMs)}: cannot tell which path AWS uses (pass --metrics)`,
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

function drainMethodOf(vpn: Vpn): { method: DrainMethod | undefined; reason: string } {
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
function statusAt(link: Link, t: number): string | undefined {
  let s: string | undefined;
  for (const h of link.health) {
    if (h.at > t) break;
    s = h.status;
  }
  return s;
}

function soakGate(vpn: Vpn, covering: readonly string[], ctx: Context): Outcome {
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
function trafficIn(samples: readonly TrafficSample[], from: number, to: number, metric?: string): Traffic {
  let covered = 0;
  let reach = from;
  let peakRate = 0;
  let peakAt = from;
  for (let i = 0; i < samples.length; ) {
    const { start, end } = samples[i] as TrafficSample;
    let bytes = 0;
    let seen = false;
    for (; i < samples.length; i++) {
      const s = samples[i] as TrafficSample;
      if (s.start !== start || s.end !== end) break;
      if (metric === undefined || s.metric === metric) {
        bytes += s.bytes;
        seen = true;
      }
    }
    if (!seen || end <= from || start >= to) continue;
    const lo = Math.max(start, reach);
    const hi = Math.min(end, to);
    if (hi > lo) covered += hi - lo;
    reach = Math.max(reach, hi);
    const rate = bytes / ((end - start) / HOUR);
    if (rate > peakRate) {
      peakRate = rate;
      peakAt = start;
    }
  }
  return { coverage: to > from ? covered / (to - from) : 1, peakRate, peakAt };
}

function idleGate(vpn: Vpn, ctx: Context): Outcome & { trafficReturned: boolean } {
  const since = vpn.drain?.since;
  const samples = ctx.traffic.get(vpn.id) ?? [];
  const limit = ctx.policy.idleMaxBytesPerHour;
  // Traffic after the drain (or over the last window when the drain time is unknown) above the limit.
  const after = trafficIn(samples, since ?? ctx.now - ctx.policy.idleWindowMs, ctx.now);
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

function iacOwner(vpn: Vpn): string | undefined {
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

// ---------------------------------------------------------------- per pair of networks

function backupFor(rules: readonly BackupRule[], aws: string, gcp: string | undefined): number {
  return rules
    .filter((r) => (!r.aws || r.aws === aws) && (!r.gcp || r.gcp === gcp))
    .reduce((m, r) => Math.max(m, r.minVpns), 0);
}

function vpnHealthy(v: Vpn): boolean {
  return (
    (v.gcp?.tunnels ?? []).some((t) => t.status === 'ESTABLISHED') ||
    v.aws.tunnels.some((t) => t.status === 'UP')
  );
}

/**
 * Never the last healthy path, and the backup rule: VPNs that stay up after the plan plus healthy links
 * must leave a path; when they do not, the cheapest changes are withheld first (a drain not done, then a
 * drained VPN undrained rather than deleted), healthy VPNs first, then by id.
 */
function lastPath(key: string, list: Draft[], ctx: Context): void {
  const [aws, gcp] = key.split('|') as [string, string];
  const healthyLinks = (ctx.links.get(key) ?? []).filter(
    (l) => l.state === 'ACTIVE' && statusAt(l, ctx.now) === 'healthy',
  );
  const minVpns = backupFor(ctx.policy.backup, aws, gcp);
  const required = Math.max(minVpns, healthyLinks.length === 0 ? 1 : 0);
  const upAfter = (d: Draft) => (d.vpn.drain === undefined && d.want === 'keep') || d.want === 'undrain';
  const up = list.filter((d) => upAfter(d) && vpnHealthy(d.vpn));
  const rank = (d: Draft) => (d.want === 'drain' ? 0 : d.want === 'keep' ? 1 : 2);
  const candidates = list
    .filter((d) => !upAfter(d))
    .sort(
      (a, b) =>
        rank(a) - rank(b) || Number(vpnHealthy(b.vpn)) - Number(vpnHealthy(a.vpn)) || cmp(a.vpn.id, b.vpn.id),
    );
  const held = new Set(candidates.slice(0, Math.max(0, required - up.length)));
  const why =
    minVpns > 0
      ? `backup policy keeps ${minVpns} VPN(s) up between ${aws} and ${gcp}`
      : `last healthy path between ${aws} and ${gcp} (no healthy ACTIVE link)`;
  const remaining = () => {
    const vpns = list.filter((d) => upAfter(d) && vpnHealthy(d.vpn)).map((d) => d.vpn.id);
    return `${aws} and ${gcp} keep ${healthyLinks.length} healthy link(s)${healthyLinks.length ? ` (${healthyLinks.map((l) => l.id).join(', ')})` : ''} and ${vpns.length} VPN(s) up${vpns.length ? ` (${vpns.join(', ')})` : ''}${minVpns ? `; backup policy ${minVpns}` : ''}`;
  };
  for (const d of held) {
    d.gates.set('last-path', { gate: 'last-path', verdict: 'fail', reason: why });
    if (d.vpn.drain === undefined) {
      d.want = 'keep';
      d.summary = `kept: ${why}`;
    } else {
      d.want = 'undrain';
      d.summary = `undrain: ${why}`;
    }
  }
  const after = remaining();
  for (const d of list)
    if (!held.has(d))
      d.gates.set('last-path', {
        gate: 'last-path',
        verdict: d.want === 'keep' && d.vpn.drain === undefined ? 'skip' : 'pass',
        reason:
          d.want === 'keep' && d.vpn.drain === undefined ? `stays up; ${after}` : `after this plan ${after}`,
      });
}

// ---------------------------------------------------------------- output

/**
 * Who else uses a customer gateway or an external VPN gateway once this plan's deletes are done:
 * counted once per plan, so naming what a delete removes stays linear in the number of VPNs.
 */
interface SharedUsers {
  /** customer gateway -> VPNs using it that this plan keeps */
  readonly cgwKept: ReadonlyMap<string, number>;
  /** external VPN gateway -> tunnels using it that this plan keeps (unpaired tunnels included) */
  readonly extGwKept: ReadonlyMap<string, number>;
}

function sharedUsers(drafts: readonly Draft[], inv: Inventory): SharedUsers {
  const going = new Set(drafts.filter((d) => d.want === 'delete').map((d) => d.vpn.id));
  const goingTunnels = new Set(
    drafts
      .filter((d) => d.want === 'delete')
      .flatMap((d) => (d.vpn.gcp?.tunnels ?? []).map((t) => t.selfLink)),
  );
  const cgwKept = new Map<string, number>();
  for (const v of inv.vpns)
    if (!going.has(v.id))
      cgwKept.set(v.aws.customerGatewayId, (cgwKept.get(v.aws.customerGatewayId) ?? 0) + 1);
  const extGwKept = new Map<string, number>();
  for (const t of inv.gcpTunnelGateways)
    if (t.gateway && !goingTunnels.has(t.tunnel))
      extGwKept.set(t.gateway, (extGwKept.get(t.gateway) ?? 0) + 1);
  return { cgwKept, extGwKept };
}

function finish(d: Draft, users: SharedUsers, ctx: Context): VpnPlan {
  if (!d.gates.has('last-path'))
    d.gates.set('last-path', { gate: 'last-path', verdict: 'skip', reason: 'the VPN is not paired' });
  const p = ctx.policy.pricing;
  const tunnels = d.vpn.gcp?.tunnels.length ?? 0;
  const monthlyCost =
    Math.round(p.hoursPerMonth * (p.awsPerConnectionHour + tunnels * p.gcpPerTunnelHour) * 100) / 100;
  const deletes: string[] = [];
  if (d.want === 'delete') {
    const v = d.vpn;
    deletes.push(`aws: VPN connection ${v.id}`);
    if (!users.cgwKept.has(v.aws.customerGatewayId))
      deletes.push(`aws: customer gateway ${v.aws.customerGatewayId} (no other VPN uses it)`);
    if (v.gcp) {
      deletes.push(`gcp: VPN tunnels ${v.gcp.tunnels.map((t) => t.name).join(', ')}`);
      if (v.gcp.bgpPeers.length > 0)
        deletes.push(
          `gcp: router ${v.gcp.router} BGP peers ${v.gcp.bgpPeers.map((b) => b.name).join(', ')} and interfaces ${v.gcp.bgpPeers.map((b) => b.interfaceName).join(', ')}`,
        );
      for (const g of [...new Set(v.gcp.tunnels.map((t) => t.peerExternalGateway))].sort())
        if (g && !users.extGwKept.has(g))
          deletes.push(`gcp: external VPN gateway ${g} (no other tunnel uses it)`);
    }
  }
  return {
    vpnConnectionId: d.vpn.id,
    networks: d.vpn.networks,
    state: d.vpn.drain ? 'drained' : 'active',
    action: d.want,
    summary: d.summary,
    gates: GATES.map((g) => d.gates.get(g) as Gate),
    drainMethod: d.drainMethod,
    deletes,
    monthlyCost,
    monthlySaving: d.want === 'delete' ? monthlyCost : 0,
  };
}

function iso(t: number): string {
  return new Date(t).toISOString().replace('.000Z', 'Z');
}

function human(ms: number): string {
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
