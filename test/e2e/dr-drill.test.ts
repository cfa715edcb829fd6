/**
 * A DR drill through the deployed halves (docs/dr-executor.md "Running a drill"): the payments plan
 * (AWS executes) deployed by test/support/dr-halves.ts on a local cloud with IAM enforced, and
 * `dr drill --apply`'s own code (scripts/commands/dr-drill-apply.ts `applyDrill`) run as bob: its
 * start and end are drill controls on the deployed intake's control route through the signed
 * client, its moves followed on the run route. What a machine's resolver and clock would give the
 * command, the local cloud gives here: the client resolves the service's name through the world's
 * Route 53 (the record's TTL kept), its requests are served by the world (the side the address
 * names, its database taking the write), and every wait of the drill advances the virtual clock.
 *
 * The deployed executor carries out a real failover (Aurora fenced through its hook on AWS,
 * commanded on AWS's bus and run by drCommanded, Google's promotion and scaling through its hooks
 * across the relay, then the ARC flip) and, once bob approves it, the failback (AlloyDB fenced
 * through its hook across the relay, Aurora re-seeded from AlloyDB and promoted, the ECS scaling,
 * each hook on AWS commanded on AWS's bus and run by drCommanded in an invocation of its own, then
 * the flip back). The old writer is up in a drill: the fence keeps it from taking writes. Asserted
 * on the report file the command writes: one failover and one failback, their epochs in order, the
 * actions in order, each RTO (the TTL inside) within the plan's RTO and the move's budget, the RPO at
 * the promotion within the plan's, the client errors counted and no more than the requests of the moves'
 * outage windows; in the world one promotion each way, never a split brain, no write discarded
 * beyond those the promotions lost; exit 0.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillReport } from '#core/dr/drill-report.ts';
import type { DrActionFinishedData, DrActionStartedData } from '#core/events/catalog.ts';
import { dnsResolverOf } from '#local/world/dns-resolvers.ts';
import { serviceWorldOf } from '#local/world/protected-service.ts';
import { serveRequest } from '#local/world/service-clients.ts';
import type { CommandContext } from '#scripts/cli/command.ts';
import { resolveTarget } from '#scripts/cli/target.ts';
import { applyDrill, type DrillEnv } from '#scripts/commands/dr-drill-apply.ts';
import { PACKAGING_BUDGET_MS, settle } from '../support/dr-deployed.ts';
import { type DeployedHalves, deployDrHalves, MINUTE, SERVICE } from '../support/dr-halves.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const HOST = 'api.payments.example.com';
const QUIET_MS = 150;
const HOLD_MS = 5 * MINUTE;

let d: DeployedHalves;

beforeAll(async () => {
  // A drill moves with the old writer up: each move fences it first (no split brain).
  d = await deployDrHalves(ROOT, 'crosslink-dr-drill-');
}, PACKAGING_BUDGET_MS + 60_000);

afterAll(async () => {
  await d?.stop();
});

/**
 * The virtual clock the drill waits on: a wait is kept until the clock reaches its end; a driver
 * advances the clock to the earliest wait once the deployment is quiet, so the drill's client (one
 * request a second) and its polls move time as the command's sleeps would. Before each step, a
 * failback awaiting its approval is approved as bob (`dr approve`), as the drill asks the operator.
 */
function virtualTime(lines: string[]) {
  const waits: { until: number; done: () => void }[] = [];
  let running = true;
  const approved = new Set<string>();
  const driver = (async () => {
    while (running) {
      await settle(d.cloud, QUIET_MS);
      for (const line of lines) {
        const m = /waits for an approval: crosslink dr approve (\S+) (\d+)/.exec(line);
        if (m && !approved.has(m[2] as string)) {
          approved.add(m[2] as string);
          const a = await d.cli('dr', 'approve', m[1] as string, m[2] as string, '--as', 'bob');
          lines.push(`(approved: exit ${a.code} ${[...a.out, ...a.err].join(' / ')})`);
        }
      }
      const next = Math.min(...waits.map((w) => w.until));
      if (!Number.isFinite(next)) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const delta = next - d.cloud.clock.now();
      if (delta > 0) await d.cloud.clock.advance(delta);
      const now = d.cloud.clock.now();
      for (const w of waits.filter((x) => x.until <= now)) {
        waits.splice(waits.indexOf(w), 1);
        w.done();
      }
      await new Promise((r) => setTimeout(r, 0));
    }
  })();
  return {
    now: () => d.cloud.clock.now(),
    sleep: (ms: number) =>
      new Promise<void>((done) => waits.push({ until: d.cloud.clock.now() + Math.max(ms, 1), done })),
    stop: async () => {
      running = false;
      for (const w of waits.splice(0)) w.done();
      await driver;
    },
  };
}

describe('dr drill --apply through the deployed halves', () => {
  it('fails over and back through the deployed executor and writes a report within the objectives', async () => {
    // Prepare: a healthy minute; the command's context as bob, its environment the local world's
    await d.minute();
    const lines: string[] = [];
    const errs: string[] = [];
    const time = virtualTime(lines);
    const world = serviceWorldOf(d.cloud.clock);
    const env: DrillEnv = {
      now: time.now,
      sleep: time.sleep,
      resolvesLocalNames: true,
      resolveA: async (host) => {
        const answer = dnsResolverOf(d.cloud.clock, 'route53')?.resolve(host, 'A', {
          cloud: 'gcp',
          region: 'us-west1',
        });
        if (!answer) throw new Error(`${host}: NXDOMAIN`);
        return answer.answers.map((address) => ({ address, ttl: answer.ttl }));
      },
      send: async (_url, address) => {
        const out = serveRequest(world, SERVICE, address);
        if (out.ok) return 200;
        return out.reason === 'unreachable' || out.reason === 'region-down' ? 'connect' : 503;
      },
    };
    const ctx: CommandContext = {
      positionals: [],
      options: {},
      global: { json: false, wait: false, as: 'bob' },
      io: { out: (l) => lines.push(l), err: (l) => errs.push(l), cwd: d.home, env: {} },
      home: d.home,
      resolveTarget: () => resolveTarget(undefined, d.home),
    };
    const reportFile = join(d.home, 'drill-report.json');

    // Act
    let code: number;
    try {
      code = await applyDrill(
        ctx,
        { file: 'plan.yaml', holdMs: HOLD_MS, report: reportFile, url: new URL(`https://${HOST}/`) },
        env,
      );
    } finally {
      await time.stop();
    }
    console.log(lines.join('\n'));

    // Assess: the report file
    const { report } = JSON.parse(readFileSync(reportFile, 'utf8')) as { report: DrillReport };
    expect(errs).toEqual([]);
    expect(report.problems).toEqual([]);
    expect(report.passed).toBe(true);
    expect(code).toBe(0);
    const failback = report.failback as NonNullable<DrillReport['failback']>;
    expect([report.failover.outcome, failback.outcome]).toEqual(['succeeded', 'succeeded']);
    expect(failback.epoch).toBeGreaterThan(report.failover.epoch as number);
    expect(report.failover.actions.map((a) => [a.index, a.type, a.cloud, a.outcome])).toEqual([
      [0, 'fence-writer', 'aws', 'succeeded'],
      [1, 'promote-replica', 'gcp', 'succeeded'],
      [2, 'scale-standby', 'gcp', 'succeeded'],
      [3, 'arc-routing-control', 'aws', 'succeeded'],
    ]);
    expect(failback.actions.map((a) => [a.index, a.type, a.cloud, a.outcome])).toEqual([
      [0, 'fence-writer', 'gcp', 'succeeded'],
      [1, 'promote-replica', 'aws', 'succeeded'],
      [2, 'scale-standby', 'aws', 'succeeded'],
      [3, 'arc-routing-control', 'aws', 'succeeded'],
    ]);
    // The hooks on AWS commanded on AWS's bus (via: commanded), each answered once by drCommanded
    // (reportedBy: commanded): one invocation per hook behind AWS's fence; Google's across the relay
    await d.drain();
    const of = (epoch: number | undefined, name: string) =>
      d.named<DrActionStartedData & DrActionFinishedData>('aws', name).filter((e) => e.data.epoch === epoch);
    const commandedOf = (epoch: number | undefined) =>
      of(epoch, 'DrActionFinished')
        .filter((e) => e.data.reportedBy === 'commanded')
        .map((e) => [e.data.index, e.data.outcome]);
    expect(of(report.failover.epoch, 'DrActionStarted').map((e) => [e.data.index, e.data.via])).toEqual([
      [0, 'commanded'],
      [1, 'relay'],
      [2, 'relay'],
      [3, 'local'],
    ]);
    expect(commandedOf(report.failover.epoch)).toEqual([[0, 'succeeded']]);
    expect(of(failback.epoch, 'DrActionStarted').map((e) => [e.data.index, e.data.via])).toEqual([
      [0, 'relay'],
      [1, 'commanded'],
      [2, 'commanded'],
      [3, 'local'],
    ]);
    expect(commandedOf(failback.epoch)).toEqual([
      [1, 'succeeded'],
      [2, 'succeeded'],
    ]);
    // The record's TTL (a minute) is in each RTO: the client keeps its answer that long after the flip
    expect(report.ttlMs).toBe(MINUTE);
    for (const move of [report.failover, failback]) {
      const flipped = move.actions[3]?.finishedAt as number;
      expect(move.rtoMs).not.toBeNull();
      expect(move.rtoMs as number).toBeGreaterThanOrEqual(flipped - move.commandedAt);
      expect(move.rtoMs as number).toBeLessThanOrEqual(flipped - move.commandedAt + report.ttlMs + 1_000);
      expect(move.rtoMs as number).toBeLessThanOrEqual(move.budgetMs);
      expect(move.rtoMs as number).toBeLessThanOrEqual(report.objectives.rtoMs);
    }
    // The world: one promotion each way, the primary's database the writer again and AlloyDB a
    // fenced writer until it is re-seeded; never two writers that take writes
    const database = (await d.act('service', { name: SERVICE })).database;
    expect(database.promotions.map((p: { side: string }) => p.side)).toEqual(['gcp', 'aws']);
    expect(database.aws).toMatchObject({ role: 'writer', fenced: false });
    expect(database.gcp).toMatchObject({ role: 'writer', fenced: true });
    expect(database.splitBrains).toEqual([]);
    // The writes the old writer held beyond the promoted one's (the replication lag, the RPO) are
    // the ones the failback's re-seeding discarded: none taken after the fence
    const lost = database.promotions.reduce((n: number, p: { lostWrites: number }) => n + p.lostWrites, 0);
    expect(database.discardedWrites).toBe(lost);
    expect(report.rpo.lossWindowMs).toBe(database.promotions[0].lossWindowMs);
    expect(report.rpo.lossWindowMs).not.toBeNull();
    expect(report.rpo.lossWindowMs as number).toBeLessThanOrEqual(report.objectives.rpoMs);
    // The client failed only while a move was under way (the old side fenced until the name
    // moved on): at most one request a second of the two RTOs, and some did fail
    const window = Math.ceil(((report.failover.rtoMs as number) + (failback.rtoMs as number)) / 1000) + 2;
    expect(report.client.errors).toBeGreaterThan(0);
    expect(report.client.errors).toBeLessThanOrEqual(window);
    expect(report.client.errors).toBe(Object.values(report.client.byKind).reduce((a, b) => a + b, 0));
    console.log(
      `drill through the deployed halves: failover RTO ${(report.failover.rtoMs as number) / 1000}s (budget ${report.failover.budgetMs / 1000}s), failback RTO ${(failback.rtoMs as number) / 1000}s, RPO ${report.rpo.lossWindowMs} ms, client errors ${report.client.errors} of ${report.client.requests} ${JSON.stringify(report.client.byKind)}`,
    );
  }, 600_000);
});
