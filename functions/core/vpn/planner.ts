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
import type { DrainMethod, Inventory, Unpaired, Vpn } from './model.ts';
import { addTo } from './multimap.ts';
import {
  type Context,
  cmp,
  context,
  coveredGate,
  drainMethodOf,
  effectiveGate,
  human,
  iacOwner,
  idleGate,
  iso,
  optOutGate,
  pairKey,
  soakGate,
  statusAt,
} from './planner-gates.ts';
import { type BackupRule, describeWindow, type PlannerPolicy } from './policy.ts';

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

interface Draft {
  readonly vpn: Vpn;
  readonly gates: Map<GateName, Gate>;
  want: Action;
  summary: string;
  readonly drainMethod: DrainMethod | undefined;
}

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

// ---------------------------------------------------------------- per VPN

function judge(vpn: Vpn, ctx: Context): Draft {
  const gates = new Map<GateName, Gate>();
  const set = (gate: GateName, verdict: Verdict, reason: string) =>
    gates.set(gate, { gate, verdict, reason });

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
  const j: Judging = { vpn, ctx, gates, set, optOut, cov, soak, method: method.method, iac };
  return vpn.drain === undefined ? judgeActive(j) : judgeDrained(j);
}

/** What every stage of judging one paired VPN shares: its gates so far and the outcomes both stages read. */
interface Judging {
  readonly vpn: Vpn;
  readonly ctx: Context;
  readonly gates: Map<GateName, Gate>;
  readonly set: (gate: GateName, verdict: Verdict, reason: string) => void;
  readonly optOut: { readonly ok: boolean };
  readonly cov: { readonly ok: boolean };
  readonly soak: { readonly ok: boolean };
  readonly method: DrainMethod | undefined;
  readonly iac: string | undefined;
}

function failing(gates: ReadonlyMap<GateName, Gate>, names: GateName[]): GateName[] {
  return names.filter((n) => gates.get(n)?.verdict === 'fail');
}

/** An active VPN: drained when every drain gate passes. */
function judgeActive({ vpn, gates, set, method, iac }: Judging): Draft {
  set('idle', 'skip', 'applies after the drain');
  set('cooling-off', 'skip', 'applies after the drain');
  set('iac-ownership', 'skip', `checked before delete: ${iac ? `owned by ${iac}` : 'no IaC ownership tag'}`);
  const blocking = failing(gates, [
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
    drainMethod: method,
  };
}

/** A drained VPN: undrained when the reason for draining went away, deleted when every delete gate passes. */
function judgeDrained({ vpn, ctx, gates, set, optOut, cov, soak, method, iac }: Judging): Draft {
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
      drainMethod: method,
    };
  const blocking = failing(gates, [
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
    drainMethod: method,
  };
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
