/**
 * The DR failover workload of the seeded chaos: the payments plan (AWS executes, through Route 53
 * ARC) deployed through both halves on a DR cloud of its own (test/support/dr-halves.ts: the
 * payments world, the AWS half packaged with the plan in us-west-2, Google's DR functions, the
 * plan's hooks, the clients resolving through Route 53), fresh for every scenario so that a seed's
 * run never starts from another's failover. It shares the chaos cloud's emulators, in a project of
 * its own.
 *
 * Its clock is stepped as the DR end-to-end tests step it (each step's runs and what they relayed
 * done before the next), to every boundary of the scenario and at least every minute: the DR part
 * (dr-scenario.ts: the primary's region out, flapping, a vantage point's network down) and the
 * seed's faults where the DR cloud has the same parts (`mirror`). After each step the world is
 * observed and the DR invariants checked (dr-checks.ts); a change, or a violation, is a step of the
 * scenario, so the runner checks every invariant then. Once the events end it steps on until the
 * executor's run is no longer running (at most SETTLE_MS of virtual time) and gives the end verdict.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACTION_RESENDS, actionTimeoutMs } from '#core/dr/executor.ts';
import { type DrPlan, validateDrPlan } from '#core/dr/plan.ts';
import { CLUSTER_ENDPOINT_REGIONS } from '#local/aws/route53/arc.ts';
import { dnsResolverOf } from '#local/world/dns-resolvers.ts';
import { serviceWorldOf } from '#local/world/protected-service.ts';
import { settle } from '../support/dr-deployed.ts';
import { type DeployedHalves, deployDrHalves, SERVICE } from '../support/dr-halves.ts';
import { cellState } from '../support/dr-world.ts';
import { DrChecker, type DrRules, type DrSeen, drVerdict, type Side } from './dr-checks.ts';
import { describeDr, drEventsEndAt, FLAP_PERIOD_MS } from './dr-scenario.ts';
import { RELAY_HOPS } from './faults.ts';
import type { ChaosContext, Invariant, Violation, Workload } from './registry.ts';
import { type ChaosFault, describeScenario, faultsEndAt, REGION_PAIRS } from './scenario.ts';

const MIN = 60_000;
const QUIET_MS = 400;
/** Virtual time the DR cloud gets after its last event for the run to end (the hooks' timeouts are 2, 10 and 5 minutes). */
const SETTLE_MS = 45 * MIN;
const DNS_NAME = 'api.payments.example.com';
const PRIMARY_REGION = 'us-east-1';

/**
 * What every DR cloud of this process shares: the ports of its AWS edge, of ARC's cluster endpoints
 * and of its health endpoints, and the AWS half's checkout. The AWS half is packaged with the plan,
 * whose probes name the health endpoints, and with ARC's cluster endpoints: with the same ports every
 * scenario's packaging is the same, so the half is packaged once per process, not once per scenario
 * (a minute or more of wall time each under load). The checkout goes when the process exits.
 */
let kept: { awsPorts: number[]; healthPort: number; awsDir: string } | undefined;

/** A port free on loopback now (the OS's pick, released at once). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** The AWS edge's, ARC's endpoints' and the health endpoints' ports, all different. */
async function ports(): Promise<{ awsPorts: number[]; healthPort: number }> {
  const all = await freePorts(2 + ARC_ENDPOINTS);
  return { awsPorts: all.slice(1), healthPort: all[0] as number };
}

async function keptForDr(fresh: boolean): Promise<NonNullable<typeof kept>> {
  if (!kept) {
    const awsDir = mkdtempSync(join(tmpdir(), 'crosslink-chaos-dr-aws-'));
    process.once('exit', () => rmSync(awsDir, { recursive: true, force: true }));
    kept = { ...(await ports()), awsDir };
  } else if (fresh) kept = { ...kept, ...(await ports()) };
  return kept;
}

/** ARC's cluster endpoints: one per region of the cluster. */
const ARC_ENDPOINTS = CLUSTER_ENDPOINT_REGIONS.length;

/** `n` different ports free on loopback now. */
async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** What each scenario's DR run found: the violations of its last observation, and its end verdict. */
const found = new WeakMap<ChaosContext, { now: Violation[]; verdict?: Violation[] }>();

/** The plan's rules the checks apply (its quorum, its probes' failures in a row, its staleness). */
export function rulesOf(doc: DeployedHalves['doc']): DrRules {
  const plan = validateDrPlan(doc);
  const { settings } = plan;
  const primary = doc.primary.cloud as Side;
  const watching = doc.signals.filter((s) => s.observes === 'primary');
  return {
    primary,
    quorum: settings.quorum,
    probes: watching
      .filter((s) => s.source === 'probe')
      .flatMap((s) => {
        const n = Number(/(\d+) failures? in a row/.exec(s.detail ?? '')?.[1] ?? 1);
        return s.vantagePoints.map((vantage) => ({ vantage, failuresInRow: n }));
      }),
    external: watching.filter((s) => s.source !== 'probe').flatMap((s) => s.vantagePoints),
    staleAfterMs: settings.staleAfterMs,
    moveWindowMs: moveWindow(plan),
  };
}

/** The DR world as it stands: cells, Route 53's answer, databases, serving, the primary's probes. */
async function observe(d: DeployedHalves, primary: Side, withRun: boolean): Promise<DrSeen> {
  const service = serviceWorldOf(d.cloud.clock).get(SERVICE);
  const desc = service.describe();
  const cell = (arn: string) => cellState(d.world, arn).catch(() => undefined);
  const answer = dnsResolverOf(d.cloud.clock, 'route53')?.resolve(DNS_NAME, 'A', {
    cloud: 'gcp',
    region: 'us-west1',
  });
  const dns = (['aws', 'gcp'] as const).filter((c) => answer?.answers.includes(desc[c].ip));
  const run = withRun ? (await d.aws.runs.current(SERVICE))?.run : undefined;
  return {
    at: d.cloud.clock.now(),
    cells: { aws: await cell(d.world.out.AwsCell), gcp: await cell(d.world.out.GcpCell) },
    dns,
    db: {
      aws: { ...dbOf(desc.database.aws), regionUp: service.regionUp('aws') },
      gcp: { ...dbOf(desc.database.gcp), regionUp: service.regionUp('gcp') },
    },
    serving: { aws: desc.aws.serving, gcp: desc.gcp.serving },
    primaryProbes: serviceWorldOf(d.cloud.clock).probes.filter(
      (p) => p.service === SERVICE && p.cloud === primary && p.kind === 'healthz',
    ),
    ...(run
      ? {
          run: {
            epoch: run.epoch,
            status: run.status,
            pages: run.pages.length,
            late: run.history.filter((h) => h.note.includes('taken, the run goes on')).length,
          },
        }
      : {}),
  };
}

const dbOf = (db: { role: 'writer' | 'replica'; fenced: boolean }) => ({ role: db.role, fenced: db.fenced });

/** One line of what changed, for the steps: traffic, writers (a fenced one marked), the run. */
function summary(s: DrSeen): string {
  const on = (['aws', 'gcp'] as const).filter((c) => s.cells[c] === 'On').join('+') || 'none';
  const writers =
    (['aws', 'gcp'] as const)
      .filter((c) => s.db[c].role === 'writer')
      .map((c) => (s.db[c].fenced ? `${c}(fenced)` : c))
      .join('+') || 'none';
  return `cell On ${on}, dns ${s.dns.join('+') || 'none'}, writer ${writers}${s.run ? `, run ${s.run.epoch} ${s.run.status}${s.run.late ? ` (went on from ${s.run.late} late result(s))` : ''}` : ''}`;
}

/**
 * A seed's fault as the DR cloud has it, or undefined where it has no such part: relay faults on
 * its relay hops (Google's peer pushes are its two DR subscriptions'), a partition (the world's relay
 * partition), crashes of the relay, a pair's Google region out (us-west1 is the Google vantage
 * point's); a clock jump is the loop's (runDr). The providers' and secret stores' faults, stuck states, links' paths and
 * watchers touch nothing the DR halves use.
 */
function mirror(d: DeployedHalves, f: ChaosFault): (() => Promise<() => Promise<void>>) | undefined {
  const registry = (specs: Parameters<typeof d.cloud.faults.add>[0][]) => async () => {
    const ids = specs.map((s) => d.cloud.faults.add(s).id);
    return async () => {
      for (const id of ids) d.cloud.faults.remove(id);
    };
  };
  const world = (action: string, on: Record<string, unknown>, off: Record<string, unknown>) => async () => {
    await d.act(action, on);
    return async () => void (await d.act(action, off));
  };
  switch (f.kind) {
    case 'relay': {
      const hops =
        f.direction === 'gcp-peer-push'
          ? ['crosslink-dr-signals-peer-push', 'crosslink-dr-commanded-push'].map((operation) => ({
              edge: 'gcp' as const,
              service: 'pubsub',
              operation,
            }))
          : f.direction === 'aws-peer-queue'
            ? []
            : [RELAY_HOPS[f.direction]];
      if (hops.length === 0) return undefined;
      return registry(hops.map((h) => ({ ...h, kind: f.fault, rate: f.rate })));
    }
    case 'partition':
      return world('relay-partition', { on: true }, { on: false });
    case 'crash': {
      const [where, name] = f.target.split(':') as ['lambda' | 'pubsub', string];
      const relay = ['relayToGoogle', 'relayFromGoogle', 'crosslink-events-relay'];
      if (!relay.includes(name)) return undefined;
      return registry([
        {
          service: where,
          operation: where === 'lambda' ? `crosslink-dev-${name}` : name,
          kind: 'crash',
          rate: f.rate,
        },
      ]);
    }
    case 'region-outage': {
      const region = REGION_PAIRS[f.pair].gcp;
      return world('region-outage', { cloud: 'gcp', region, on: true }, { cloud: 'gcp', region, on: false });
    }
    default:
      return undefined;
  }
}

/** Whether the primary's region is out at `t` (ms from the start): an outage or a flap's down half. */
function primaryOut(dr: ChaosContext['scenario']['dr'], t: number): boolean {
  const within = (e: { at: number; forMs: number }) => t >= e.at && t < e.at + e.forMs;
  return (
    dr.outages.some(within) ||
    dr.flaps.some((f) => within(f) && Math.floor((t - f.at) / FLAP_PERIOD_MS) % 2 === 0)
  );
}

async function runDr(ctx: ChaosContext, root: string): Promise<void> {
  const { dr, faults } = ctx.scenario;
  const emulators = ctx.both.cloud.emulators;
  const deploy = async (fresh: boolean) => {
    const { awsPorts, healthPort, awsDir } = await keptForDr(fresh);
    const [aws, ...awsEndpoints] = awsPorts;
    return deployDrHalves(root, `crosslink-chaos-dr-${ctx.seed}-`, () => {}, {
      cloud: {
        ...(emulators ? { emulators: { ...emulators, stop: async () => {} } } : {}),
        gcp: { project: `crosslink-chaos-dr-${ctx.seed}-${ctx.run}` },
        ports: { aws, gcp: 0, awsEndpoints },
        serviceHealthPort: healthPort,
        awsDir,
      },
    });
  };
  const t0 = performance.now();
  // Another process may have taken a kept port between two scenarios (an ARC endpoint's clash
  // reaches here wrapped, without its code), or osls's esbuild service stopped under load: the
  // deploy is tried once more on fresh ports, packaged anew; a second failure ends the run, loudly.
  const d = await deploy(false).catch((e) => {
    console.error(`chaos dr: seed ${ctx.seed}'s DR cloud failed to deploy, tried again: ${String(e)}`);
    return deploy(true);
  });
  console.error(
    `chaos dr: seed ${ctx.seed}'s DR cloud deployed in ${Math.round(performance.now() - t0)} ms (${d.half.deployment.packaged ? 'AWS half packaged' : 'AWS half package kept'})`,
  );
  const state = { now: [] as Violation[] } as { now: Violation[]; verdict?: Violation[] };
  found.set(ctx, state);
  try {
    const rules = rulesOf(d.doc);
    const checker = new DrChecker(rules);
    const start = d.cloud.clock.now();
    const elapsed = () => d.cloud.clock.now() - start;
    // Each step says the DR cloud's own time, which the scenario alone decides (the trace keeps it).
    const step = (what: string) => ctx.step(`dr @+${(elapsed() / MIN).toFixed(1)}m ${what}`);
    await step(`deployed: ${describeDr(dr).join('; ') || 'no DR event'}`);
    const faultLines = describeScenario({ links: [], faults });
    const held = new Map<number, () => Promise<void>>();
    /** The faults done with: a clock jump made, or one the DR cloud has no part for. */
    const jumped = new Set<number>();
    /** The end of the clock jumps under way (ms from the start; 0: none). */
    let jumpUntil = 0;
    let out = false;
    const vantages = new Set<string>();
    const eventsEnd = Math.max(drEventsEndAt(dr), faultsEndAt(ctx.scenario));
    const boundaries = [
      ...[...dr.outages, ...dr.vantageDown].flatMap((e) => [e.at, e.at + e.forMs]),
      ...dr.flaps.flatMap((f) =>
        Array.from({ length: Math.ceil(f.forMs / FLAP_PERIOD_MS) + 1 }, (_, i) =>
          Math.min(f.at + i * FLAP_PERIOD_MS, f.at + f.forMs),
        ),
      ),
      ...faults.flatMap((f) => [f.at, f.at + ('forMs' in f ? f.forMs : 0)]),
    ];
    let last = '';
    let settledSince: number | undefined;
    for (;;) {
      if (ctx.ended) return;
      // The next boundary or a minute on, whichever comes first; inside a clock jump, the next
      // boundary or the jump's end, so that the events it passes over happen at their times.
      const t = elapsed();
      const within = boundaries.filter((b) => b > t);
      const next = t < jumpUntil ? Math.min(jumpUntil, ...within) : Math.min(t + MIN, ...within);
      await d.cloud.clock.advance(next - t);
      await settle(d.cloud, QUIET_MS);
      const now = elapsed();
      // The DR part: the primary's region, the vantage points' networks.
      const wantOut = primaryOut(dr, now);
      if (wantOut !== out) {
        await d.act('region-outage', { cloud: 'aws', region: PRIMARY_REGION, on: wantOut });
        out = wantOut;
        await step(`primary region ${wantOut ? 'out' : 'back'}`);
      }
      for (const v of dr.vantageDown) {
        const want = now >= v.at && now < v.at + v.forMs;
        if (want !== vantages.has(v.vantage)) {
          await d.act('vantage-network', { vantage: v.vantage, on: want });
          if (want) vantages.add(v.vantage);
          else vantages.delete(v.vantage);
          await step(`vantage ${v.vantage} ${want ? 'down' : 'up'}`);
        }
      }
      // The seed's faults where the DR cloud has their parts.
      for (const [i, f] of faults.entries()) {
        const ends = f.at + ('forMs' in f ? f.forMs : 0);
        const due = now >= f.at && (f.kind === 'clock-jump' ? !jumped.has(i) : now < ends);
        const lift = held.get(i);
        if (due && f.kind === 'clock-jump') {
          jumped.add(i);
          jumpUntil = Math.max(jumpUntil, now) + f.byMs;
          await step(`fault ${i} (${faultLines[i]}): the clock jumps to +${(jumpUntil / MIN).toFixed(1)}m`);
          continue;
        }
        if (due && !lift && !jumped.has(i)) {
          const apply = mirror(d, f);
          if (!apply) {
            jumped.add(i);
            continue;
          }
          held.set(i, await apply());
          await settle(d.cloud, QUIET_MS);
          await step(`fault ${i} (${faultLines[i]}) applied`);
        } else if (!due && lift) {
          held.delete(i);
          await lift();
          await step(`fault ${i} (${faultLines[i]}) lifted`);
        }
      }
      const ending = elapsed() >= eventsEnd;
      const seen = await observe(d, rules.primary, ending);
      state.now = checker.observe(seen);
      const said = summary(seen);
      if (state.now.length > 0 || said !== last) await step(said);
      last = said;
      if (!ending) continue;
      // The events are over: on until the run has stopped running and the verdict holds.
      settledSince ??= elapsed();
      const verdict = drVerdict(seen);
      if ((verdict.length === 0 && seen.run?.status !== 'running') || elapsed() - settledSince >= SETTLE_MS) {
        state.verdict = verdict;
        await step(
          verdict.length === 0
            ? `settled: ${said}`
            : `NOT SETTLED: ${verdict.map((v) => v.detail).join('; ')}`,
        );
        return;
      }
    }
  } finally {
    // The faults still held go with the DR cloud.
    await d.stop();
  }
}

let enabled: { root: string } | undefined;

/**
 * `npm run chaos` runs the DR workload from the build at `root` (the repository, or a broken copy);
 * `--no-dr` does not (the DR cloud costs a packaging of the AWS half per scenario).
 */
export function enableDr(on: { root: string } | undefined): void {
  enabled = on;
}

export const drWorkload: Workload = {
  name: 'dr',
  run: (ctx) => (enabled ? runDr(ctx, enabled.root) : Promise.resolve()),
  settled: (ctx) => found.get(ctx)?.verdict ?? [],
};

const fromLast = (name: string): Invariant => ({
  name,
  check: (_seen, ctx) => (found.get(ctx)?.now ?? []).filter((v) => v.invariant === name),
});

export const drInvariants: Invariant[] = [fromLast('dr-quorum'), fromLast('dr-one-writer')];

/**
 * The longest a failover can take from its first action to its flip: each action its timeout, sent
 * again `ACTION_RESENDS` times with it, and each may stall and still be taken within the run's
 * late-result window (the timeouts summed, from the stall: functions/core/dr/executor.ts
 * `lateResultsUntil`).
 */
export function moveWindow(plan: DrPlan): number {
  const timeouts = plan.actions.failover.reduce((ms, a) => ms + actionTimeoutMs(plan, a), 0);
  return timeouts * (1 + ACTION_RESENDS + plan.actions.failover.length);
}
