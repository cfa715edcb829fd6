import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ManualClock } from '#core/clock.ts';
import { judgeHealth } from '#core/link/health.ts';
import type { LinkRecord } from '#core/link/model.ts';
import type { LinkDeps } from '#core/link/ports.ts';
import { transition } from '#core/link/transition.ts';
import { recordHealth } from '#core/link/watch.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { activeLinkRecord } from '../support/active-link.ts';
import { MemoryEventSink, MemoryLinkStore } from '../support/memory-store.ts';

const T0 = Date.parse('2026-11-26T10:00:00Z');
const sessions = (...up: boolean[]) => up.map((u, i) => ({ id: `peer-${i + 1}`, up: u }));

const activeLink = (policyHash: string) =>
  activeLinkRecord({ id: 'lk-01jdx0000000000000000000aa', policyHash, now: T0 });

describe('judgeHealth', () => {
  it('every session up is healthy, some down impaired, all down down', () => {
    // Act / Assess
    expect(judgeHealth({ connectionUp: true, sessions: sessions(true, true) })).toEqual({
      status: 'healthy',
      detail: '2 of 2 BGP sessions up',
    });
    expect(judgeHealth({ connectionUp: true, sessions: sessions(true, false) })).toEqual({
      status: 'impaired',
      detail: '1 of 2 BGP sessions down (peer-2)',
    });
    expect(judgeHealth({ connectionUp: true, sessions: sessions(false, false) })).toEqual({
      status: 'down',
      detail: 'every BGP session down (peer-1, peer-2)',
    });
  });

  it('judges nothing without a session or with the connection itself not up', () => {
    // Act / Assess
    expect(judgeHealth({ connectionUp: true, sessions: [] })).toBeUndefined();
    expect(judgeHealth({ connectionUp: false, sessions: sessions(false, false) })).toBeUndefined();
  });
});

describe('link health in the lifecycle', () => {
  it('ACTIVE -> DEGRADED -> DOWN -> ACTIVE as sessions fail and recover, with the sessions as the reason', () => {
    // Prepare
    const link = activeLink('a'.repeat(64));
    const at = (m: number) => new Date(T0 + m * 60_000).toISOString();
    const observe = (l: LinkRecord, m: number, up: boolean[]) => {
      const j = judgeHealth({ connectionUp: true, sessions: sessions(...up) });
      if (!j) throw new Error('no judgement');
      return transition(
        l,
        { kind: 'healthObserved', status: j.status, detail: j.detail, at: at(m) },
        T0 + m * 60_000,
      );
    };
    // Act
    const degraded = observe(link, 10, [true, false]);
    const down = observe(degraded.link, 20, [false, false]);
    const back = observe(down.link, 30, [true, true]);
    // Assess
    expect(
      [degraded, down, back].map((r) =>
        r.events.map((e) => `${e.data.from}->${e.data.to}: ${e.data.reason}`),
      ),
    ).toEqual([
      ['ACTIVE->DEGRADED: health impaired: 1 of 2 BGP sessions down (peer-2)'],
      ['DEGRADED->DOWN: health down: every BGP session down (peer-1, peer-2)'],
      ['DOWN->ACTIVE: health restored: 2 of 2 BGP sessions up'],
    ]);
  });

  it('a half coming back while every session is still down leaves the link DOWN', () => {
    // Prepare
    const link = activeLink('a'.repeat(64));
    const down = transition(
      link,
      { kind: 'halfObserved', side: 'aws', sequence: 2, nativeState: 'down' },
      T0 + 60_000,
    ).link;
    const noBgp = transition(
      down,
      { kind: 'healthObserved', status: 'down', at: '2026-11-26T10:02:00Z' },
      T0 + 120_000,
    ).link;
    // Act
    const halfBack = transition(
      noBgp,
      { kind: 'halfObserved', side: 'aws', sequence: 3, nativeState: 'available' },
      T0 + 180_000,
    );
    // Assess
    expect(halfBack.link.state).toBe('DOWN');
    expect(halfBack.events).toEqual([]);
  });

  it('recordHealth writes and emits only a change of status, once, however often the watcher sees it', async () => {
    // Prepare
    const policy = loadPolicy(parse(readFileSync('config/policy.yaml', 'utf8')));
    const clock = new ManualClock('2026-11-26T10:00:00Z');
    const store = new MemoryLinkStore(clock);
    const sink = new MemoryEventSink();
    const deps: LinkDeps = {
      store,
      events: sink,
      policy,
      clock,
      origin: { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' },
    };
    const link = activeLink(policy.hash);
    await store.create(link);
    const rounds = [
      [true, false],
      [true, false],
      [true, true],
      [true, true],
    ];
    // Act
    const results = [];
    for (const up of rounds) {
      clock.advance(5 * 60_000);
      const j = judgeHealth({ connectionUp: true, sessions: sessions(...up) });
      if (j) results.push(await recordHealth(deps, link.id, j));
    }
    // Assess
    expect(results.map((r) => r.link.state)).toEqual(['DEGRADED', 'DEGRADED', 'ACTIVE', 'ACTIVE']);
    expect(results.map((r) => r.ignored)).toEqual([undefined, 'no change', undefined, 'no change']);
    expect(sink.names()).toEqual(['LinkStateChanged', 'LinkStateChanged']);
    expect((await store.get(link.id))?.link.outbox ?? []).toEqual([]);
  });
});
