import { describe, expect, it } from 'vitest';
import type { LinkRecord } from '#core/link/model.ts';
import { createLink } from '#core/link/transition.ts';
import {
  healthShare,
  type KnownHalf,
  mayBeWaiting,
  type ObservedHalf,
  orphanSweepDue,
  RESUME_WINDOW_MS,
  watchHalves,
} from '#core/link/watch.ts';

const NOW = Date.parse('2026-11-26T10:00:00Z');
const H = 'a'.repeat(64);
const known = (
  linkId: string,
  resourceId: string,
  nativeState: KnownHalf['nativeState'],
  sequence = 3,
  location = 'us-east4',
): KnownHalf => ({ linkId, resourceId, nativeState, sequence, location });
const never = async (): Promise<ObservedHalf | null> => {
  throw new Error('no Get expected');
};

describe('watchHalves', () => {
  it('reports a real change with the next sequence, and nothing for unchanged halves', async () => {
    const r = await watchHalves(
      {
        side: 'gcp',
        policyHash: H,
        now: NOW,
        known: [known('lk-a', 't-a', 'PENDING_CONFIG'), known('lk-b', 't-b', 'ACTIVE')],
        listed: [
          { linkId: 'lk-a', resourceId: 't-a', nativeState: 'ACTIVE', sharedId: 'u-1' },
          { linkId: 'lk-b', resourceId: 't-b', nativeState: 'ACTIVE' },
        ],
      },
      never,
    );
    expect(r.unchanged).toBe(1);
    expect(r.changes).toEqual([
      {
        linkId: 'lk-a',
        policyHash: H,
        side: 'gcp',
        sequence: 4,
        nativeState: 'ACTIVE',
        previousNativeState: 'PENDING_CONFIG',
        condition: 'UP',
        resourceId: 't-a',
        sharedId: 'u-1',
        observedAt: '2026-11-26T10:00:00.000Z',
      },
    ]);
  });

  it('an adminEnabled flip is a change (the transport stops carrying traffic)', async () => {
    const r = await watchHalves(
      {
        side: 'gcp',
        policyHash: H,
        now: NOW,
        known: [{ ...known('lk-a', 't-a', 'ACTIVE'), adminEnabled: true }],
        listed: [{ linkId: 'lk-a', resourceId: 't-a', nativeState: 'ACTIVE', adminEnabled: false }],
      },
      never,
    );
    expect(r.changes[0]).toMatchObject({ condition: 'DOWN', adminEnabled: false });
  });

  it('confirms a missing half with a Get: 404 is gone, anything else is its state', async () => {
    const asked: string[] = [];
    const r = await watchHalves(
      {
        side: 'aws',
        policyHash: H,
        now: NOW,
        known: [
          known('lk-a', 'mcc-aaaaaaaa', 'available', 3, 'us-east-1'),
          known('lk-b', 'mcc-bbbbbbbb', 'available', 7, 'us-east-1'),
        ],
        listed: [],
      },
      async (k) => {
        asked.push(k.resourceId);
        return k.linkId === 'lk-a'
          ? null
          : { linkId: 'lk-b', resourceId: 'mcc-bbbbbbbb', nativeState: 'available' };
      },
    );
    expect(asked).toEqual(['mcc-aaaaaaaa', 'mcc-bbbbbbbb']);
    expect(r.changes).toEqual([
      expect.objectContaining({ linkId: 'lk-a', nativeState: null, condition: 'GONE', sequence: 4 }),
    ]);
    expect(r.unchanged).toBe(1);
  });

  it('leaves halves in unreachable locations unknown (never reported deleted)', async () => {
    const r = await watchHalves(
      {
        side: 'gcp',
        policyHash: H,
        now: NOW,
        known: [known('lk-a', 't-a', 'ACTIVE', 3, 'us-east4')],
        listed: [],
        unreachable: ['us-east4'],
      },
      never,
    );
    expect(r.changes).toEqual([]);
    expect(r.unknown.map((k) => k.linkId)).toEqual(['lk-a']);
  });

  it('reports listed halves that no record owns as orphans', async () => {
    const r = await watchHalves(
      {
        side: 'aws',
        policyHash: H,
        now: NOW,
        known: [],
        listed: [
          { linkId: 'lk-x', resourceId: 'mcc-xxxxxxxx', nativeState: 'requested' },
          { linkId: undefined, resourceId: 'mcc-yyyyyyyy', nativeState: 'deleted' },
        ],
      },
      never,
    );
    expect(r.orphans.map((o) => o.resourceId)).toEqual(['mcc-xxxxxxxx']);
  });

  it('does not report the half of a live link whose create was answered but not yet recorded', async () => {
    // The watcher ran between CreateConnection's answer and the step recording it: the connection
    // carries lk-new's id, and lk-new is PROVISIONING with no AWS half yet. An untagged one is still an orphan.
    const r = await watchHalves(
      {
        side: 'aws',
        policyHash: H,
        now: NOW,
        known: [],
        creating: new Set(['lk-new']),
        listed: [
          { linkId: 'lk-new', resourceId: 'mcc-nnnnnnnn', nativeState: 'requested' },
          { linkId: 'lk-gone', resourceId: 'mcc-gggggggg', nativeState: 'available' },
          { linkId: undefined, resourceId: 'mcc-uuuuuuuu', nativeState: 'available' },
        ],
      },
      never,
    );
    expect(r.orphans.map((o) => o.resourceId)).toEqual(['mcc-gggggggg', 'mcc-uuuuuuuu']);
  });

  it('does not ask again about a half already recorded gone', async () => {
    const r = await watchHalves(
      { side: 'aws', policyHash: H, now: NOW, known: [known('lk-a', 'mcc-aaaaaaaa', null)], listed: [] },
      never,
    );
    expect(r).toMatchObject({ changes: [], unchanged: 1 });
  });
});

describe('when a watcher run may skip the provider', () => {
  const HOUR = 3_600_000;
  const record = (state: LinkRecord['state'], movedAgoMs: number): LinkRecord => {
    const l = createLink(
      {
        id: 'lk-w',
        name: 'w',
        initiator: 'aws',
        environment: 'nonprod',
        requester: 'alice@example.com',
        bandwidth: '1Gbps',
        policyHash: H,
      },
      NOW - movedAgoMs,
    );
    return {
      ...l,
      state,
      stages: [...l.stages, { state, at: new Date(NOW - movedAgoMs).toISOString(), reason: 'x' }],
    };
  };

  it('a link not yet live, or live and moved within the window, may be waited on; an ended one never', () => {
    expect(mayBeWaiting(record('PROVISIONING', 30 * 24 * HOUR), NOW)).toBe(true);
    expect(mayBeWaiting(record('DECOMMISSIONING', 30 * 24 * HOUR), NOW)).toBe(true);
    expect(mayBeWaiting(record('ACTIVE', HOUR), NOW)).toBe(true);
    expect(mayBeWaiting(record('ACTIVE', RESUME_WINDOW_MS + 1), NOW)).toBe(false);
    expect(mayBeWaiting(record('DECOMMISSIONED', 0), NOW)).toBe(false);
  });

  it('the orphan sweep: every run without a period, else the run in the first schedule interval of each window', () => {
    const every = 15 * 60_000;
    const window = Math.floor(NOW / every) * every;
    expect(orphanSweepDue(window + 7 * 60_000, undefined)).toBe(true);
    // Runs every minute (the default, the deployed schedule): one of fifteen.
    expect(orphanSweepDue(window + 30_000, every)).toBe(true);
    expect(orphanSweepDue(window + 60_000, every)).toBe(false);
    expect(orphanSweepDue(window + every - 1, every)).toBe(false);
    // Runs every 5 minutes: one of three falls in a window's first 5 minutes.
    expect(orphanSweepDue(window + 4 * 60_000, every, 5 * 60_000)).toBe(true);
    expect(orphanSweepDue(window + 5 * 60_000, every, 5 * 60_000)).toBe(false);
    // A period no longer than the schedule's: every run.
    expect(orphanSweepDue(window + 7 * 60_000, 60_000)).toBe(true);
    expect(orphanSweepDue(window + 7 * 60_000, 5 * 60_000, 5 * 60_000)).toBe(true);
  });

  it('the health reads a run makes: all links up to the budget, else a slice per run that covers every link in turn', () => {
    const links = ['a', 'b', 'c', 'd', 'e'];
    const minute = Math.floor(NOW / 60_000) * 60_000;
    expect(healthShare(links, minute, 5)).toEqual(links);
    // Five links, two reads a run: three runs in a row read every link, the third wraps around.
    const runs = [0, 1, 2].map((i) => healthShare(links, minute + i * 60_000 + 30_000, 2));
    expect(runs.map((r) => r.length)).toEqual([2, 2, 2]);
    expect(new Set(runs.flat())).toEqual(new Set(links));
    expect(runs[1]).not.toEqual(runs[0]);
    // Runs on a 5-minute schedule step by their own interval.
    expect(healthShare(links, minute, 2, 5 * 60_000)).toEqual(
      healthShare(links, minute + 60_000, 2, 5 * 60_000),
    );
  });
});
