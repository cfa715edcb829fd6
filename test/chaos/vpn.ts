/**
 * The VPN runs in a chaos scenario: its workload and its invariants.
 *
 * Workload: each planned VPN is built in the simulated world (an IPsec VPN between the virtual
 * private gateway its link's Direct Connect gateway is associated with and the link's Google network,
 * tagged and labelled prod or nonprod, `crosslink:managed: planned` as the estate's), then VPN runs
 * start one after the other (`crosslink vpn run --now`, with `--apply` where the policy's
 * `vpn.mode` applies), each once the one before reported, 30 virtual minutes apart (the schedule's
 * period in the applied-run tests); every run plans every VPN of the world. A prod delete a run
 * commands is approved by bob on AWS and carol on Google when the plan says so.
 *
 * Invariants, read from the world (vpn-world.ts), never crosslink's records:
 * - no VPN deleted while it was the last healthy path between its two networks (after every step);
 * - at the end, every planned VPN is in a state a person accepts: deleted on both clouds, drained
 *   (no BGP session up; when its last run commanded its delete, only while a prod delete waits on
 *   bob's or carol's approval), or kept with a named reason (the last run's gates, its mode, or why
 *   no run planned it); never deleted on one cloud only, nor live after its last run commanded its
 *   drain or delete.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { RunEntry } from '#core/vpn/run.ts';
import { applyAllowed, readVpnRunSettings } from '#core/vpn/run-policy.ts';
import type { VpnRunHeader } from '#core/vpn/run-steps.ts';
import { buildVpn } from '#local/world/vpn-builder.ts';
import { applyingPolicy, halvesCopy } from '../support/vpn-run-apply.ts';
import type { ChaosContext, Invariant, Violation, Workload } from './registry.ts';
import { ScenarioEnded } from './registry.ts';
import { REGION_PAIRS, type VpnPlan } from './scenario.ts';
import { lastPathDeletes, rememberEnds, type VpnEnds, type VpnWorld } from './vpn-world.ts';
import type { Observation } from './world.ts';

/** Wall time a person (or the schedule's watcher) waits for a run to report. */
const RUN_PATIENCE_MS = 180_000;
/** Virtual time between two runs: the applied-run tests' schedule period. */
const RUN_EVERY_MS = 30 * 60_000;
const GCP_PROJECT = 'payments-prod';
const GCP_NETWORK = 'payments-vpc';

/**
 * The policy the chaos cloud runs: the shipped one with `vpn.mode` apply in both environments and
 * planner timings a scenario's virtual hours reach (a soak of 10 minutes, a 20-minute cooling-off
 * and idle window, half of it covered by the 5-minute samples: a window's last sample is never
 * complete), AWS coordinating. Every other gate is the planner's own.
 */
export const CHAOS_VPN_POLICY = applyingPolicy(
  'aws',
  '    soak: 10m\n    idleWindow: 20m\n    minTrafficCoverage: 0.5\n    coolingOff: 20m\n',
);

/**
 * The inputs both halves deploy from, with CHAOS_VPN_POLICY: `repoDir` (a broken build's copy) with
 * its policy replaced, or the halves' copy `.crosslink/chaos-vpn` (its AWS package kept, made again
 * only when the inputs change).
 */
export function vpnApplyingInputs(repoDir?: string): string {
  if (repoDir === undefined) return halvesCopy('chaos-vpn', CHAOS_VPN_POLICY);
  const file = join(repoDir, 'config', 'policy.yaml');
  if (!existsSync(file)) throw new Error(`${repoDir} has no config/policy.yaml to apply VPN runs with`);
  writeFileSync(file, CHAOS_VPN_POLICY);
  return repoDir;
}

/** What the workload learned of one planned VPN: its id and what the runs said of it. */
export interface VpnOutcome {
  plan: VpnPlan;
  vpnId?: string;
  /** The last run's entry for it, with that run's id. */
  last?: { runId: string; entry: Pick<RunEntry, 'action' | 'emit' | 'summary' | 'mode' | 'environment'> };
  /** Why no run planned it (a run refused, not reported, or never started). */
  noRun?: string;
  /** The approvals of its prod delete given, by side. */
  approved: { aws: boolean; gcp: boolean };
}

interface VpnState {
  outcomes: VpnOutcome[];
  before?: VpnWorld;
  known: VpnEnds;
}

const states = new WeakMap<ChaosContext, VpnState>();
function stateOf(ctx: ChaosContext): VpnState {
  let s = states.get(ctx);
  if (!s) {
    s = {
      outcomes: (ctx.scenario.vpns ?? []).map((plan) => ({ plan, approved: { aws: false, gcp: false } })),
      known: new Map(),
    };
    states.set(ctx, s);
  }
  return s;
}

/** The virtual private gateway the pair's Direct Connect gateway is associated with, and its VPC. */
function pairGateway(ctx: ChaosContext, plan: VpnPlan): { vgw: string; vpcId: string } {
  const link = ctx.scenario.links[plan.link];
  if (!link) throw new Error(`vpn plan names link ${plan.link}, which the scenario has not`);
  const w = ctx.both.cloud.network;
  const dx = REGION_PAIRS[link.pair].gateway;
  for (const g of w.dxAssociations.get(dx) ?? []) {
    const vpcId = w.vpnGateways.get(g)?.vpcAttachments.find((a) => a.state === 'attached')?.vpcId;
    if (g.startsWith('vgw-') && vpcId) return { vgw: g, vpcId };
  }
  throw new Error(`no virtual private gateway with a VPC is associated with ${dx} in the world`);
}

function build(ctx: ChaosContext, plan: VpnPlan, index: number): string {
  const link = ctx.scenario.links[plan.link];
  if (!link) throw new Error(`vpn plan names link ${plan.link}, which the scenario has not`);
  const { vgw, vpcId } = pairGateway(ctx, plan);
  const nonprod = plan.environment === 'nonprod';
  const tags = { 'crosslink:managed': 'planned', ...(nonprod ? { 'crosslink:environment': 'nonprod' } : {}) };
  const built = buildVpn(ctx.both.cloud.network, {
    name: `chaos-${ctx.seed}-${ctx.run}-vpn${index}`,
    aws: { vpcId, vpnGatewayId: vgw, tags, customerGatewayTags: tags },
    gcp: {
      project: GCP_PROJECT,
      region: REGION_PAIRS[link.pair].gcp,
      network: GCP_NETWORK,
      ...(nonprod ? { labels: { 'crosslink-environment': 'nonprod' } } : {}),
    },
  });
  return built.vpnConnectionId;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitWall(ctx: ChaosContext, ms: number, done: () => Promise<boolean>): Promise<boolean> {
  const end = Date.now() + ms;
  while (!ctx.ended) {
    if (await done().catch(() => false)) return true;
    if (Date.now() > end) return false;
    await pause(1000);
  }
  throw new ScenarioEnded();
}

type RunView = VpnRunHeader & { entries: RunEntry[] };

/** Starts one run; its id once it reported, or why it did not. */
async function oneRun(ctx: ChaosContext, apply: boolean): Promise<{ view?: RunView; why?: string }> {
  let started: { runId?: string } | undefined;
  let refused = '';
  await waitWall(ctx, 90_000, async () => {
    // As the operator (the account's administrator), starting the scheduled run by hand.
    const r = await ctx.both.cli(
      'vpn',
      'run',
      '--now',
      ...(apply ? ['--apply'] : []),
      '--as',
      'admin',
      '--json',
    );
    if (r.code === 0) started = JSON.parse(r.out) as { runId?: string };
    else refused = `exit ${r.code}: ${(r.err.split('\n')[0] ?? '').slice(0, 160)}`;
    return r.code === 0;
  });
  const runId = started?.runId;
  if (!runId) return { why: `vpn run refused (${refused || 'no run id'})` };
  let view: RunView | undefined;
  let status = 'not recorded';
  await waitWall(ctx, RUN_PATIENCE_MS, async () => {
    view = await ctx.both.json<RunView>('vpn', 'runs', 'show', runId);
    status = view.status;
    return view.status === 'reported';
  });
  if (view?.status !== 'reported') return { why: `run ${runId} ${status} when patience ran out` };
  return { view };
}

function policyApplies(ctx: ChaosContext): boolean {
  const doc = parseYaml(readFileSync(join(ctx.both.home, 'config', 'policy.yaml'), 'utf8')) as {
    vpn?: unknown;
  };
  return applyAllowed(readVpnRunSettings(doc.vpn)).length > 0;
}

export const vpnWorkload: Workload = {
  name: 'vpn-runs',
  async run(ctx) {
    const s = stateOf(ctx);
    if (s.outcomes.length === 0) return;
    s.outcomes.forEach((o, i) => {
      o.vpnId = build(ctx, o.plan, i);
    });
    await ctx.step(
      `vpn built: ${s.outcomes.map((o, i) => `vpn ${i} ${o.vpnId} beside link ${o.plan.link}`).join(', ')}`,
    );
    const apply = policyApplies(ctx);
    const runs = Math.max(...s.outcomes.map((o) => o.plan.runs));
    for (let k = 0; k < runs; k++) {
      // Each run a schedule period after the one before (the first after the build), so the links
      // have had their time to come up and soak, and a drain its cooling-off.
      const next = ctx.both.cloud.clock.now() + RUN_EVERY_MS;
      await waitWall(ctx, 120_000, async () => ctx.both.cloud.clock.now() >= next);
      const { view, why } = await oneRun(ctx, apply);
      if (!view) {
        for (const o of s.outcomes) if (!o.last) o.noRun = why;
        await ctx.step(`vpn run ${k}: ${why}`);
        continue;
      }
      const said: string[] = [];
      for (const [i, o] of s.outcomes.entries()) {
        const entry = view.entries.find((e) => e.vpnId === o.vpnId);
        if (!entry) {
          said.push(`vpn ${i} not planned`);
          if (!o.last) o.noRun = `run ${view.runId} did not plan it`;
          continue;
        }
        o.last = { runId: view.runId, entry };
        said.push(
          `vpn ${i} ${entry.action}${entry.emit ? '' : ` (${entry.mode})`}: ${entry.summary.slice(0, 200)}`,
        );
      }
      await ctx.step(`vpn run ${k}: ${said.join(', ')}`);
      for (const [i, o] of s.outcomes.entries()) {
        const e = o.last?.entry;
        if (!o.last || !e || e.action !== 'delete' || !e.emit || e.environment !== 'prod' || !o.plan.approve)
          continue;
        for (const [side, who] of [
          ['aws', 'bob'],
          ['gcp', 'carol'],
        ] as const) {
          const runId = o.last.runId;
          const ok = await waitWall(ctx, 90_000, async () => {
            const r = await ctx.both.cli(
              'vpn',
              'approve',
              runId,
              o.vpnId as string,
              '--side',
              side,
              '--as',
              who,
            );
            return r.code === 0;
          });
          o.approved[side] = ok;
          await ctx.step(`vpn ${i} delete approved on ${side}${ok ? '' : ' (refused)'}`);
        }
      }
    }
  },
  settled(ctx, seen) {
    return vpnVerdict(stateOf(ctx).outcomes, seen.vpnWorld);
  },
};

/** The end verdict of each planned VPN, from the world and what the runs said of it. */
export function vpnVerdict(outcomes: readonly VpnOutcome[], world: VpnWorld | undefined): Violation[] {
  const found: Violation[] = [];
  const bad = (i: number, detail: string) =>
    found.push({ invariant: 'vpn-settled', detail: `vpn ${i}: ${detail}` });
  for (const [i, o] of outcomes.entries()) {
    if (!o.vpnId) {
      bad(i, 'never built');
      continue;
    }
    const v = world?.vpns.find((x) => x.vpnConnectionId === o.vpnId);
    if (!v) {
      bad(i, `${o.vpnId} is not in the world`);
      continue;
    }
    const connectionGone = v.state === 'deleted';
    if (connectionGone && v.tunnels === 0) continue; // deleted on both clouds
    if (connectionGone !== (v.tunnels === 0)) {
      bad(i, `${o.vpnId} deleted on ${connectionGone ? 'AWS' : 'Google'} only`);
      continue;
    }
    const e = o.last?.entry;
    // Drained: no BGP session up. A delete its last run commanded leaves it drained only while it
    // waits on a named approval: a prod one that bob or carol has not given.
    if (!v.live) {
      const waits = e?.environment === 'prod' && !(o.approved.aws && o.approved.gcp);
      if (e?.action === 'delete' && e.emit && !waits)
        bad(
          i,
          `${o.vpnId} drained, not deleted, though run ${o.last?.runId} commanded its delete${e.environment === 'prod' ? ', approved on both sides' : ''}`,
        );
      continue;
    }
    if (!e) {
      if (o.noRun) continue; // kept: no run planned it, and why is named
      bad(i, `${o.vpnId} live, and no run planned it nor said why`);
      continue;
    }
    if (e.emit && (e.action === 'drain' || e.action === 'delete'))
      bad(i, `${o.vpnId} live, though run ${o.last?.runId} commanded its ${e.action}`);
    else if (!e.summary) bad(i, `${o.vpnId} kept with no reason named by run ${o.last?.runId}`);
  }
  return found;
}

export const vpnLastPathInvariant: Invariant = {
  name: 'vpn-last-path',
  check(seen: Observation, ctx: ChaosContext): Violation[] {
    const now = seen.vpnWorld;
    if (!now) return [];
    const s = stateOf(ctx);
    rememberEnds(s.known, now);
    const found = lastPathDeletes(s.before, now, s.known, ctx.startedAt);
    s.before = now;
    return found.map((f) => ({ invariant: 'vpn-last-path', detail: f.detail }));
  },
};
