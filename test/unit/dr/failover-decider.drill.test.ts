/**
 * The decider's drill control (`control: drill`, `crosslink dr drill --apply`): a planned move to the
 * standby and back, without quorum, hysteresis or dampening, but never to a standby that is not
 * ready, with the plan's approval, held on the standby until the drill's end, and leaving no pin once
 * back on the primary.
 */
import { describe, expect, it } from 'vitest';
import { replay } from '#core/dr/failover-decider.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import type { DrRecord, SignalStatus } from '#core/dr/signal-log.ts';
import { PRIMARY, planWith, STANDBY } from './helpers.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString().replace('.000Z', 'Z');
/** Every 10 s in [from, to): each pair reports `status`. */
function reports(from: number, to: number, pairs: [string, string][], status: SignalStatus): DrRecord[] {
  const out: DrRecord[] = [];
  for (let t = from; t < to; t += 10)
    for (const [vantage, signal] of pairs)
      out.push({ time: at(t), service: 'payments-api', vantage, signal, status });
  return out;
}
const drill = (
  s: number,
  side: 'standby' | 'primary',
  by = 'arn:aws:iam::000000000000:user/bob',
): DrRecord => ({
  time: at(s),
  control: 'drill',
  service: 'payments-api',
  side,
  by,
});
const approve = (s: number, decision: 'failover' | 'failback'): DrRecord => ({
  time: at(s),
  control: 'approve',
  service: 'payments-api',
  decision,
  by: 'carol',
});
/** Records in time order, a control after the signals of its second. */
const byTime = (rs: DrRecord[]) => rs.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
const moves = (ds: Decision[]) => ds.filter((d) => d.decision !== 'hold');
const healthy = (to: number) => [
  ...reports(0, to, PRIMARY, 'healthy'),
  ...reports(0, to, STANDBY, 'healthy'),
];
const noApproval = planWith((d) => {
  d.failback = { ...d.failback, approval: 'none' };
});

describe('failover decider: a drill', () => {
  it('fails over at the command and back at its end, holding on the standby between, with both sides healthy', () => {
    // Act: the drill starts at 60 s, the primary healthy all along; it ends at 2400 s (past the stable period)
    const { decisions, ignored, state } = replay(
      noApproval,
      byTime([...healthy(3000), drill(60, 'standby'), drill(2400, 'primary')]),
    );

    // Assess: one failover at the command, held on the standby (not failed back at the stable period), back at the end
    expect(ignored).toEqual([]);
    expect(moves(decisions)).toMatchObject([
      { decision: 'failover', time: at(60), trigger: 'control', active: 'standby', approval: 'not-required' },
      {
        decision: 'failback',
        time: at(2400),
        trigger: 'control',
        active: 'primary',
        approval: 'not-required',
      },
    ]);
    expect(moves(decisions).map((d) => d.reasons[0]?.code)).toEqual(['drill-commanded', 'drill-commanded']);
    expect(moves(decisions)[1]!.epoch).toBeGreaterThan(moves(decisions)[0]!.epoch);
    const between = decisions.filter((d) => d.time > at(60) && d.time < at(2400));
    expect(between.map((d) => d.reasons[0]?.code)).toEqual(['drill']);
    // Back on the primary, nothing pins it: the drill is over and counted no failover for dampening
    expect(state.drill).toBeNull();
    expect(state.lastFailoverAt).toBeNull();
  });

  it('never fails over to a standby that is not ready: it waits and moves once the standby is seen healthy', () => {
    // Prepare: the standby unhealthy until 300 s
    const records = byTime([
      ...reports(0, 900, PRIMARY, 'healthy'),
      ...reports(0, 300, STANDBY, 'unhealthy'),
      ...reports(300, 900, STANDBY, 'healthy'),
      drill(60, 'standby'),
    ]);

    // Act
    const { decisions } = replay(noApproval, records);

    // Assess
    const atCommand = decisions.find((d) => d.time === at(60));
    expect(atCommand?.reasons[0]).toMatchObject({
      code: 'standby-not-healthy',
      message: expect.stringMatching(/^the drill by .* waits: the standby is not ready/),
    });
    expect(moves(decisions)).toMatchObject([{ decision: 'failover', time: at(300) }]);
  });

  it('takes the approvals the plan requires: the failback of the payments plan waits for one', () => {
    // Act
    const { decisions } = replay(
      planWith(),
      byTime([...healthy(600), drill(60, 'standby'), drill(300, 'primary'), approve(420, 'failback')]),
    );

    // Assess
    expect(moves(decisions).map((d) => [d.decision, d.approval, d.time])).toEqual([
      ['failover', 'not-required', at(60)],
      ['failback', 'pending', at(300)],
      ['failback', 'approved', at(420)],
    ]);
  });

  it('moves nothing while the plan is paused; the end of a drill that never moved leaves nothing to undo', () => {
    // Act
    const { decisions, state } = replay(
      noApproval,
      byTime([
        ...healthy(600),
        { time: at(30), control: 'pause', service: 'payments-api', by: 'ops' },
        drill(60, 'standby'),
        drill(120, 'primary'),
      ]),
    );

    // Assess
    expect(moves(decisions)).toEqual([]);
    expect(decisions.at(-1)?.reasons[0]?.code).toBe('paused');
    expect(state.drill).toBeNull();
  });

  it("ends the drill when the standby fails by quorum during the hold: back to the primary at once, the plan's approval kept", () => {
    // Prepare: the drill starts at 60 s; the standby is seen unhealthy from 600 s, the primary healthy all along
    const records = (plan = noApproval) =>
      replay(
        plan,
        byTime([
          ...reports(0, 1200, PRIMARY, 'healthy'),
          ...reports(0, 600, STANDBY, 'healthy'),
          ...reports(600, 1200, STANDBY, 'unhealthy'),
          drill(60, 'standby'),
        ]),
      );

    // Act
    const { decisions, state } = records();
    const withApproval = records(planWith()).decisions;

    // Assess: the failback follows the standby's quorum at 600 s (the second unhealthy report), not the hold's end
    expect(moves(decisions)).toMatchObject([
      { decision: 'failover', time: at(60), active: 'standby' },
      { decision: 'failback', time: at(600), active: 'primary', approval: 'not-required' },
    ]);
    expect(moves(decisions)[1]!.reasons.map((r) => r.code)).toEqual([
      'drill-standby-failed',
      'primary-healthy',
    ]);
    expect(moves(decisions)[1]!.reasons[0]!.message).toMatch(
      /^the standby failed during the drill by arn:aws:iam::000000000000:user\/bob .*the drill ends/,
    );
    expect(state.drill).toBeNull();
    expect(state.active).toBe('primary');
    // The payments plan's failback needs an approval, a drill's early end too
    expect(moves(withApproval).map((d) => [d.decision, d.approval, d.time])).toEqual([
      ['failover', 'not-required', at(60)],
      ['failback', 'pending', at(600)],
    ]);
  });

  it('keeps holding when one vantage point alone sees the standby fail, and says nothing serves when the primary is down too', () => {
    // Prepare: one observer of the standby unhealthy from 600 s; from 900 s all three, with the primary down too
    const one = STANDBY.slice(0, 1);
    const others = STANDBY.slice(1);
    const { decisions } = replay(
      noApproval,
      byTime([
        ...reports(0, 900, PRIMARY, 'healthy'),
        ...reports(900, 1200, PRIMARY, 'unhealthy'),
        ...reports(0, 600, STANDBY, 'healthy'),
        ...reports(600, 1200, one, 'unhealthy'),
        ...reports(600, 900, others, 'healthy'),
        ...reports(900, 1200, others, 'unhealthy'),
        drill(60, 'standby'),
      ]),
    );

    // Assess
    expect(moves(decisions).map((d) => d.decision)).toEqual(['failover']);
    // (a decision is written when its deciding reason changes: the hold is still the drill's at 900 s)
    expect(decisions.filter((d) => d.time < at(900)).at(-1)?.reasons[0]?.code).toBe('drill');
    expect(decisions.at(-1)?.reasons[0]?.code).toBe('no-side-serving');
  });
});
