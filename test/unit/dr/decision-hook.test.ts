/**
 * The decision hook's rules both clouds share (functions/core/dr/decision-hook.ts), over an
 * in-memory ledger: nothing is marked decided and no checkpoint is kept when the hand-on fails (the
 * next call hands the same decisions on), which cloud hands on, and which decisions the hook
 * publishes when the executor publishes those it takes.
 */
import { describe, expect, it } from 'vitest';
import {
  type Decided,
  type DecisionHookDeps,
  handOnDecisions,
  newDecisions,
} from '#core/dr/decision-hook.ts';
import type { DeciderCheckpoint } from '#core/dr/failover-decider.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import { isControl } from '#core/dr/signal-log.ts';
import type { CloudEvent } from '#core/envelope.ts';
import { fixture, planWith } from './helpers.ts';

const outage = fixture('regional-outage.jsonl').filter((r) => !isControl(r));

function hook(o: { fail?: boolean; executorPublishes?: boolean } = {}) {
  const kept: { decidedAt: Decided | null; checkpoint: DeciderCheckpoint | null } = {
    decidedAt: null,
    checkpoint: null,
  };
  const events: CloudEvent[] = [];
  const handed: Decision[] = [];
  const deps: DecisionHookDeps = {
    plan: planWith(),
    log: { records: async (_s, since = 0) => outage.filter((r) => Date.parse(r.time) >= since) },
    ledger: {
      decidedAt: async () => kept.decidedAt,
      checkpoint: async () => kept.checkpoint,
      keepCheckpoint: async (_s, _plan, c) => {
        kept.checkpoint = c;
        return true;
      },
      markDecided: async (_s, _p, t) => {
        kept.decidedAt = t;
        return true;
      },
      current: async () => undefined,
    },
    bus: { put: async (e) => void events.push(...e) },
    origin: { cloud: 'aws', accountId: '000000000000', region: 'us-west-2' },
    clock: { now: () => Date.parse('2026-03-02T10:20:00Z') },
    cloud: 'aws',
    handOn: async (d) => {
      if (o.fail) throw new Error('the executor did not answer');
      handed.push(d);
      return `exec-${d.epoch}`;
    },
    ...(o.executorPublishes && { executorPublishes: true }),
  };
  return { deps, kept, events, handed };
}

const published = (events: CloudEvent[]) => events.map((e) => (e.data as { epoch: number }).epoch);

describe('the decision hook', () => {
  it('keeps neither the decided time nor the checkpoint when the hand-on fails, so the next call hands them on', async () => {
    // Arrange
    const failing = hook({ fail: true });

    // Act
    await expect(handOnDecisions(failing.deps)).rejects.toThrow(/did not answer/);
    const retried = await handOnDecisions({ ...failing.deps, handOn: async (d) => `exec-${d.epoch}` });

    // Assess
    expect(retried.started).toEqual(['exec-3']);
    expect(failing.kept.decidedAt?.time).toBe(retried.decisions.at(-1)?.time);
    expect(failing.kept.checkpoint?.at).toBe(
      Date.parse('2026-03-02T10:20:00Z') - failing.deps.plan.settings.staleAfterMs,
    );
  });

  it('hands on nothing on the cloud that does not execute the plan', async () => {
    // Arrange
    const h = hook();

    // Act
    const out = await handOnDecisions({ ...h.deps, cloud: 'gcp' });

    // Assess
    expect(out).toEqual({ decisions: [], started: [] });
    expect([h.events, h.handed, h.kept.decidedAt]).toEqual([[], [], null]);
  });

  it('publishes every decision, or only those the executor does not take when it publishes its own', async () => {
    // Arrange
    const all = hook();
    const own = hook({ executorPublishes: true });

    // Act
    const a = await handOnDecisions(all.deps);
    await handOnDecisions(own.deps);

    // Assess
    expect(published(all.events)).toEqual(a.decisions.map((d) => d.epoch));
    expect(own.handed.map((d) => d.decision)).toEqual(['failover']);
    expect(published(own.events)).toEqual(
      a.decisions.filter((d) => d.decision === 'hold').map((d) => d.epoch),
    );
  });

  it("takes a decision at the last one's time with a higher epoch: an approval at the instant of its move", () => {
    // Arrange: the move awaiting approval handed on; the approval, recorded at the same instant, gives
    // the approved move that instant and the next epoch
    const at = '2026-03-02T10:06:03Z';
    const pending = { time: at, epoch: 3 } as Decision;
    const approved = { time: at, epoch: 4 } as Decision;

    // Act / Assess
    expect(newDecisions([pending, approved], { time: at, epoch: 3 })).toEqual([approved]);
    expect(newDecisions([pending, approved], { time: at, epoch: 4 })).toEqual([]);
    expect(newDecisions([pending, approved], { time: '2026-03-02T10:06:04Z', epoch: 0 })).toEqual([]);
  });
});
