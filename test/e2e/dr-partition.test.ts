/**
 * A partition between the clouds during an outage of the payments service's primary region, through
 * both deployed halves (docs/dr-executor.md "A partition between the clouds stalls and pages, never
 * two primaries"): the payments plan (AWS executes: the ARC flip on AWS; the promotion and the
 * scaling on Google, commanded across the relay), deployed as test/support/dr-halves.ts does, on a
 * local cloud with IAM enforced and a manual clock stepped a minute at a time. The relay between the
 * clouds is cut (`relay-partition`) at three moments, each on a deployment of its own:
 *
 * 1. before the decision: with the outage; AWS decides on its own and Route 53's vantage points,
 *    and its command to promote never crosses;
 * 2. after the decision, while Google's actions are commanded: the promotion confirmed, the scaling
 *    run on Google and its answer cut off (the scaling hook cuts the relay before it answers);
 * 3. after the promotion ran on Google, before its result returns (the promotion hook cuts it).
 *
 * After every step the test drives (each minute of the clock, each fault, each heal), the simulated
 * world is read, not crosslink's records: never two writable databases (a writer in a region that is
 * up), never Route 53 answering both sides, never both ARC cells On, no split brain recorded by the
 * database. With no result, the action's command is sent again at its deadline, twice, each time
 * with its whole timeout (the copies held by the cut too); then the run stalls and pages
 * (drExecutor's page, counted for its alarm); the flip never runs while the outcome is unknown.
 * Healed: every copy held past its deadline is refused by Google's fence and nothing moves (1); the
 * copies of an action that ran are answered with its recorded success, which, within the stalled
 * run's late-result window, lets the run go on to the flip (2), unless an operator paused the plan to
 * take the move over, where it is recorded, changes nothing and pages `stale-result` once (3). No
 * other move is decided.
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_RESENDS, type Run, type StepStatus } from '#core/dr/executor.ts';
import { isControl } from '#core/dr/signal-log.ts';
import { PACKAGING_BUDGET_MS } from '../support/dr-deployed.ts';
import {
  type DeployedHalves,
  type DrHalvesOptions,
  deployDrHalves,
  executorPages,
  PROMOTE_HOOK,
  SCALE_HOOK,
  SERVICE,
  type WorldNow,
  worldWatch,
} from '../support/dr-halves.ts';

const ROOT = resolve(import.meta.dirname, '../..');
/**
 * The payments plan's promotion timeout (10m), its command sent twice again with it, and a minute of
 * the state machine's next look at each deadline.
 */
const STALL_WITHIN_MINUTES = (1 + ACTION_RESENDS) * 11;
const CUT_AFTER_HOOK = { CROSSLINK_WORLD_THEN: 'relay-partition' };

interface Scenario {
  d: DeployedHalves;
  watch: ReturnType<typeof worldWatch>;
  /** A minute of the clock, then the world read. */
  step(): Promise<WorldNow>;
  /** A world admin action, then the world read. */
  act(action: string, body: unknown): Promise<WorldNow>;
  run(): Promise<Run | undefined>;
}

/** A deployment of its own for one moment of the cut; `scenario.d` is set once it is up. */
function deployed(prefix: string, options: DrHalvesOptions = {}): Scenario {
  const s = {} as Scenario;
  beforeAll(async () => {
    s.d = await deployDrHalves(ROOT, prefix, () => {}, options);
    s.watch = worldWatch(s.d);
    s.step = async () => {
      await s.d.minute();
      return s.watch.check();
    };
    s.act = async (action, body) => {
      await s.d.act(action, body);
      return s.watch.check();
    };
    s.run = async () => (await s.d.aws.runs.current(SERVICE))?.run;
  }, PACKAGING_BUDGET_MS + 60_000);
  afterAll(async () => {
    await s.d?.stop();
  });
  return s;
}

/** Three healthy minutes, then us-east-1 out (after `before`, a fault landing with it). */
async function outage(s: Scenario, before: () => Promise<unknown> = async () => {}): Promise<void> {
  for (let i = 0; i < 3; i++) await s.step();
  expect((await s.d.act('clients', { service: SERVICE })).failures).toEqual({});
  await before();
  await s.act('region-outage', { cloud: 'aws', region: 'us-east-1', on: true });
}

/** Minutes until the run of a failover has ended (it must, within the promotion's timeouts). */
async function untilRunEnds(s: Scenario): Promise<Run> {
  for (let i = 0; i < 4 + STALL_WITHIN_MINUTES; i++) {
    await s.step();
    const run = await s.run();
    if (run && run.status !== 'running') return run;
  }
  throw new Error(`the run did not end: ${JSON.stringify(await s.run())}`);
}

/** The clouds healed, then `minutes` of the clock. */
async function heal(s: Scenario, minutes: number): Promise<void> {
  await s.act('relay-partition', { on: false });
  for (let i = 0; i < minutes; i++) await s.step();
}

/** An operator brings Google's dead letters back (`crosslink relay redrive --side gcp`), then two minutes. */
async function redriveGoogle(s: Scenario): Promise<void> {
  const r = await s.d.cli('relay', 'redrive', '--side', 'gcp', '--max', '1000');
  console.log(`relay redrive --side gcp: ${r.out.join(' ')}`);
  expect(r.code, r.err.join('\n')).toBe(0);
  await s.watch.check();
  for (let i = 0; i < 2; i++) await s.step();
}

/** Traffic where it was: the primary's cell On, Route 53 answering the primary alone. */
function trafficUnmoved(now: WorldNow): void {
  expect(now.cells).toEqual({ aws: 'On', gcp: 'Off' });
  expect(now.dns).toEqual(['aws']);
}

/**
 * The failover's run, stalled with its steps after the fence at `statuses` and paged once (its
 * record and drExecutor's log); the fence of Aurora, run by drCommanded on AWS, succeeded first.
 */
function stalled(run: Run, statuses: StepStatus[], s: Scenario): void {
  expect([run.decision, run.status]).toEqual(['failover', 'stalled']);
  expect(run.steps.map((x) => [x.via, x.status])).toEqual([
    ['commanded', 'succeeded'],
    ['relay', statuses[0]],
    ['relay', statuses[1]],
    ['local', statuses[2]],
  ]);
  expect(run.pages.map((p) => p.reason)).toEqual(['action-timed-out']);
  expect(executorPages(s.d)).toEqual(['action-timed-out']);
}

/** Google's database promoted, the only writable one (us-east-1 out), and no traffic moved to it. */
async function promotedUnserved(s: Scenario): Promise<void> {
  const now = await s.watch.check();
  expect(now.promotions).toHaveLength(1);
  expect(now.writable).toEqual(['gcp']);
  trafficUnmoved(now);
}

/**
 * Healed: the copies of action `index` sent again and held by the cut reach Google's fence, which
 * answers them with the success it recorded; within the stalled run's late-result window (the
 * failover's timeouts summed, from the stall) that late success is taken and the run goes on to the
 * flip, with no operator. Traffic moves to Google's database, the one writer; the stall paged once.
 */
async function lateSuccessGoesOn(s: Scenario, run: Run, index: number): Promise<void> {
  await heal(s, 1);
  let after = await s.run();
  for (let i = 0; i < 8 && after?.status !== 'succeeded'; i++) {
    await s.step();
    after = await s.run();
  }
  expect([after?.epoch, after?.status]).toEqual([run.epoch, 'succeeded']);
  expect(after?.steps.map((x) => x.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
  const note = new RegExp(
    `result of action ${index} under epoch ${run.epoch} \\(succeeded\\) came after its deadline .* taken, the run goes on`,
  );
  expect(after?.history.some((h) => note.test(h.note))).toBe(true);
  expect(after?.pages.map((p) => p.reason)).toEqual(['action-timed-out']);
  expect(executorPages(s.d)).toEqual(['action-timed-out']);
  const now = await s.watch.check();
  expect(now.writable).toEqual(['gcp']);
  expect(now.cells).toEqual({ aws: 'Off', gcp: 'On' });
  expect(now.dns).toEqual(['gcp']);
  expect(s.watch.violations).toEqual([]);
}

/**
 * An operator pauses the plan to take the stalled move over by hand (`crosslink dr pause`), then the
 * clouds heal and Google's dead letters are redriven: the late success of action `index` is recorded
 * in the run, not acted on, and pages `stale-result`; the run still stalled, the world as it was.
 */
async function lateSuccessPausedPages(s: Scenario, run: Run, index: number): Promise<void> {
  const paused = await s.d.cli('dr', 'pause', 'plan.yaml', '--as', 'bob');
  expect(paused.code, paused.err.join('\n')).toBe(0);
  await heal(s, 1);
  await redriveGoogle(s);
  const after = await s.run();
  expect([after?.epoch, after?.status, after?.paused?.by]).toEqual([
    run.epoch,
    'stalled',
    expect.stringContaining('bob'),
  ]);
  expect(after?.steps.map((x) => x.status)).toEqual(run.steps.map((x) => x.status));
  // Paged once, however many copies were answered with that success.
  expect(after?.pages.map((p) => p.reason)).toEqual(['action-timed-out', 'stale-result']);
  const note = new RegExp(`result of action ${index} under epoch ${run.epoch} \\(succeeded\\) not taken`);
  expect(after?.history.some((h) => note.test(h.note))).toBe(true);
  expect(executorPages(s.d)).toEqual(['action-timed-out', 'stale-result']);
  await promotedUnserved(s);
  expect(s.watch.violations).toEqual([]);
}

describe('the clouds cut apart before the decision', () => {
  const s = deployed('crosslink-dr-partition-before-');

  it('decides on AWS alone, stalls at the promotion and pages; healed, the late command is refused; never two primaries', async () => {
    // Act: the relay cut as us-east-1 goes out
    let cutAt = 0;
    await outage(s, async () => {
      cutAt = s.d.cloud.clock.now();
      await s.act('relay-partition', { on: true });
    });
    const run = await untilRunEnds(s);
    // AWS decided on its own vantage point and Route 53's: no observation of Google's since the cut
    const fromGoogle = (await s.d.aws.log.records(SERVICE)).filter(
      (r) => !isControl(r) && r.vantage === 'gcp-us-west1' && Date.parse(r.time) > cutAt,
    );
    expect(fromGoogle).toEqual([]);

    // Assess: the failover decided and claimed on AWS, its promotion commanded and never answered
    stalled(run, ['timed-out', 'pending', 'pending'], s);
    // The world: nothing promoted, the primary's database the only writer (its region out), traffic unmoved
    let now = await s.watch.check();
    expect(now.promotions).toEqual([]);
    expect(now.writable).toEqual([]);
    trafficUnmoved(now);
    expect((await s.d.fence.read(SERVICE)).results).toEqual({});

    // Act: healed; the relay's receives of the held copies go on (180 s apart)
    await heal(s, 8);

    // Assess: each copy that crossed late was refused by Google's fence and recorded; nothing ran.
    // The copies the cut held past the AWS relay's 5 receives (15 minutes) are its dead letters, with
    // the reason, for an operator: none is lost.
    const fence = await s.d.fence.read(SERVICE);
    expect(fence.results).toEqual({});
    expect(fence.refused.length).toBeGreaterThan(0);
    expect(fence.refused.map((r) => [r.epoch, r.index])).toEqual(
      Array(fence.refused.length).fill([run.epoch, 1]),
    );
    for (const r of fence.refused) expect(r.reason).toMatch(/after its deadline/);
    const listed = await s.d.cli('relay', 'dead-letters', 'ls', '--side', 'aws', '--json');
    expect(listed.code, listed.err.join('\n')).toBe(0);
    const dead = (JSON.parse(listed.out.join('\n')) as { type: string | null; reason: string }[]).filter(
      (d) => d.type?.includes('DrActionStarted'),
    );
    expect(dead.length).toBeGreaterThanOrEqual(1 + ACTION_RESENDS - fence.refused.length);
    for (const d of dead) expect(d.reason).toMatch(/publish failed/);
    now = await s.watch.check();
    expect(now.promotions).toEqual([]);
    trafficUnmoved(now);
    // The stalled run stays stalled for a person; no other run was claimed
    const after = await s.run();
    expect([after?.epoch, after?.status]).toEqual([run.epoch, 'stalled']);
    // Google's refusal came back: recorded in the run, not acted on, no second page
    expect(after?.history.some((h) => /result of action 1 .*\(refused\) not taken/.test(h.note))).toBe(true);
    expect(executorPages(s.d)).toEqual(['action-timed-out']);
    expect(s.watch.violations).toEqual([]);
    expect(s.watch.checks()).toBeGreaterThan(STALL_WITHIN_MINUTES);
  }, 600_000);
});

describe('the clouds cut apart after the decision, while the actions on Google are commanded', () => {
  const s = deployed('crosslink-dr-partition-commanded-', {
    hookEnvironment: { [SCALE_HOOK]: CUT_AFTER_HOOK },
  });

  it('promotes, loses the scaling answer, stalls and pages, never flips; healed, the answers to its copies let the run go on to the flip', async () => {
    // Act: the outage; the scaling hook cuts the relay once it has scaled, before it answers
    await outage(s);
    const run = await untilRunEnds(s);

    // Assess: the promotion confirmed, the scaling unknown (run on Google), the flip never started
    stalled(run, ['succeeded', 'timed-out', 'pending'], s);
    await promotedUnserved(s);
    expect((await s.d.act('service', { name: SERVICE })).gcp.desired).toBe(12);
    expect(Object.keys((await s.d.fence.read(SERVICE)).results).sort()).toEqual([
      `${run.epoch}#1`,
      `${run.epoch}#2`,
    ]);

    // Act and assess: healed, the scaling's copies answered with its recorded success
    await lateSuccessGoesOn(s, run, 2);
  }, 600_000);
});

describe('the clouds cut apart after the promotion ran on Google, before its result returns', () => {
  const s = deployed('crosslink-dr-partition-promoted-', {
    hookEnvironment: { [PROMOTE_HOOK]: CUT_AFTER_HOOK },
  });

  it('stalls at the promotion and pages, the standby a writer with no traffic; paused and healed, the late success pages stale-result', async () => {
    // Act: the outage; the promotion hook cuts the relay once it has promoted, before it answers
    await outage(s);
    const run = await untilRunEnds(s);

    // Assess: the promotion unknown to AWS (run on Google), nothing after it started
    stalled(run, ['timed-out', 'pending', 'pending'], s);
    await promotedUnserved(s);
    expect(Object.keys((await s.d.fence.read(SERVICE)).results)).toEqual([`${run.epoch}#1`]);
    expect((await s.d.act('service', { name: SERVICE })).gcp.desired).toBe(2);

    // Act and assess: paused by an operator, healed, the dead letters redriven (the promotion's result among them)
    await lateSuccessPausedPages(s, run, 1);
  }, 600_000);
});
