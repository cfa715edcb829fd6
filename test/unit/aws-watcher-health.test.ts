/**
 * The AWS watcher reads the BGP sessions of every watched link whose connection is up and records
 * the health the core judges from them: one of two down DEGRADED, both down DOWN, back up ACTIVE,
 * each LinkStateChanged once however many rounds see the same sessions.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { BgpSessionReader } from '#aws/bgp-sessions.ts';
import type { StepDeps as AwsStepDeps } from '#aws/steps.ts';
import { watch } from '#aws/watcher.ts';
import type { BgpSessionView } from '#core/link/health.ts';
import type { LinkInput } from '#core/link/transition.ts';
import { approvedLink, CONNECTION, type Harness, LINK, stepHarness } from '../support/step-harness.ts';

const ACTIVE: LinkInput[] = [
  { kind: 'startProvisioning' },
  { kind: 'halfObserved', side: 'aws', sequence: 1, nativeState: 'available', resourceId: CONNECTION },
  { kind: 'halfObserved', side: 'gcp', sequence: 1, nativeState: 'ACTIVE' },
];

/** Sessions the test sets; every read is remembered with where it was asked. */
class Sessions implements BgpSessionReader {
  now: BgpSessionView[] = [];
  fail: Error | undefined;
  readonly asked: string[] = [];
  async sessions(connectionId: string, where: { accountId?: string; region?: string } = {}) {
    this.asked.push(`${connectionId} ${where.accountId} ${where.region}`);
    if (this.fail) throw this.fail;
    return this.now;
  }
}

let h: Harness;
let bgp: Sessions;
let deps: AwsStepDeps;
beforeEach(async () => {
  h = stepHarness();
  bgp = new Sessions();
  deps = { ...(h.deps as unknown as AwsStepDeps), bgp };
  await h.store.create(approvedLink(ACTIVE));
  h.halves.set('available');
});

const up = (...states: boolean[]) => states.map((u, i) => ({ id: `dxpeer-${i + 1}`, up: u }));
const transitions = () =>
  h.events.events
    .filter((e) => e.type.includes('LinkStateChanged'))
    .map((e) => {
      const d = e.data as { from: string; to: string; reason: string };
      return `${d.from}->${d.to}: ${d.reason}`;
    });

describe('AWS watcher: link health from the connection BGP sessions', () => {
  it('DEGRADED with one of two sessions down, DOWN with both, ACTIVE again, each event once', async () => {
    // Act
    const reports = [];
    for (const states of [
      [true, true],
      [true, false],
      [true, false],
      [false, false],
      [true, true],
      [true, true],
    ]) {
      bgp.now = up(...states);
      h.clock.advance(5 * 60_000);
      reports.push(await watch(deps));
    }
    // Assess
    expect(reports.map((r) => r.health)).toEqual([
      [],
      [`${LINK} impaired`],
      [],
      [`${LINK} down`],
      [`${LINK} healthy`],
      [],
    ]);
    expect(transitions()).toEqual([
      'ACTIVE->DEGRADED: health impaired: 1 of 2 BGP sessions down (dxpeer-2)',
      'DEGRADED->DOWN: health down: every BGP session down (dxpeer-1, dxpeer-2)',
      'DOWN->ACTIVE: health restored: 2 of 2 BGP sessions up',
    ]);
    expect(bgp.asked[0]).toBe(`${CONNECTION} 000000000000 us-east-1`);
  });

  it('reads no sessions of a connection that is not up, and keeps the health when they cannot be read', async () => {
    // Prepare
    bgp.now = up(true, false);
    h.halves.set('down');
    // Act
    const whileDown = await watch(deps);
    h.halves.set('available');
    bgp.fail = new Error('Rate exceeded');
    const unreadable = await watch(deps);
    // Assess
    expect(whileDown.health).toEqual([]);
    expect(bgp.asked).toHaveLength(1);
    expect(unreadable.healthErrors).toEqual([`${LINK}: Rate exceeded`]);
    expect((await h.store.get(LINK))?.link.state).toBe('ACTIVE');
  });
});
