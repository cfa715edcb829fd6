/**
 * `link show` of both sides: merging the two intakes' answers (scripts/cli/link-show.ts). Stages by
 * time, the events that crossed by the time they were emitted, equal times in a fixed order, a side
 * that did not answer, and the reasons of ignored and refused events.
 */
import { describe, expect, it } from 'vitest';
import type { LinkResource } from '#scripts/cli/intake-client.ts';
import { bothSidesLines, mergedAudit, mergeSides, showLines } from '#scripts/cli/link-show.ts';

const ID = 'lk-01jx0000000000000000000000';
const HASH = 'a'.repeat(64);
const t = (s: number) => new Date(Date.UTC(2026, 5, 1, 10, 0, s)).toISOString();

function side(over: Partial<LinkResource>): LinkResource {
  return {
    id: ID,
    name: 'east-west',
    state: 'AWAITING_APPROVAL',
    initiator: 'aws',
    environment: 'prod',
    requester: 'arn:aws:iam::111111111111:user/alice',
    halves: {
      aws: { state: 'absent', nativeState: null, sequence: 0 },
      gcp: { state: 'absent', nativeState: null, sequence: 0 },
    },
    approvals: [],
    stages: [],
    audit: [],
    ...over,
  };
}

function peer(
  from: 'aws' | 'gcp',
  action: string,
  eventId: string,
  eventTime: string | undefined,
  at: string,
  outcome = 'applied',
  reasons = [action],
) {
  return {
    at,
    actor: `peer:${from}`,
    action,
    outcome,
    reasons,
    eventId,
    ...(eventTime ? { eventTime } : {}),
    linkId: ID,
    policyHash: HASH,
  };
}

const own = (at: string, actor: string, action: string) => ({
  at,
  actor,
  action,
  outcome: 'allowed',
  reasons: ['policy'],
  linkId: ID,
  policyHash: HASH,
});

// The AWS side initiated: it recorded REQUESTED at 0s and AWAITING_APPROVAL at 1s; the Google side
// made its replica from LinkRequested (emitted 0s, received 3s), then carol approved there (5s),
// which AWS received at 9s; a redelivery of that approval was ignored at 12s.
const aws = side({
  stages: [
    { state: 'REQUESTED', at: t(0) },
    { state: 'AWAITING_APPROVAL', at: t(1) },
  ],
  audit: [
    own(t(0), 'arn:aws:iam::111111111111:user/alice', 'request'),
    peer('gcp', 'LinkApproved', '01EVGCPAPPROVED00000000000', t(5), t(9)),
    peer('gcp', 'LinkApproved', '01EVGCPAPPROVED00000000000', t(5), t(12), 'ignored', [
      'duplicate: gcp already approved',
    ]),
  ],
});
const gcp = side({
  stages: [
    { state: 'REQUESTED', at: t(3) },
    { state: 'AWAITING_APPROVAL', at: t(3) },
  ],
  audit: [
    peer('aws', 'LinkRequested', '01EVAWSREQUESTED0000000000', t(0), t(3), 'applied', ['replica created']),
    own(t(5), 'carol@example.com', 'approve'),
  ],
});

describe('mergeSides', () => {
  it('keeps the initiator side as the resource, and each side as it answered', () => {
    const m = mergeSides({ aws, gcp });
    expect(m).toMatchObject({ id: ID, name: 'east-west', initiator: 'aws', audit: aws.audit });
    expect(m.sides).toEqual({ aws, gcp });

    // The Google side initiated: its record leads even though aws is asked first.
    const g = mergeSides({
      aws: { ...aws, initiator: 'gcp', state: 'REQUESTED' },
      gcp: { ...gcp, initiator: 'gcp' },
    });
    expect(g.state).toBe('AWAITING_APPROVAL');
    expect(g.audit).toEqual(gcp.audit);
  });

  it('shows each half as its own side records it, the other side taking over when one did not answer', () => {
    // Prepare: Google has seen its transport ACTIVE; AWS has not heard of it yet (relay in flight),
    // and AWS has seen its connection available before Google heard of that.
    const up = { state: 'UP', nativeState: 'available', sequence: 2, connectionId: 'mcc-abcd1234' };
    const pending = { state: 'PENDING', nativeState: 'requested', sequence: 1, connectionId: 'mcc-abcd1234' };
    const transport = 'projects/p/locations/us-east4/transports/t';
    const active = { state: 'UP', nativeState: 'ACTIVE', sequence: 2, transportName: transport };
    const creating = { state: 'PENDING', nativeState: 'PENDING_KEY', sequence: 1, transportName: transport };
    const a = side({ halves: { aws: up, gcp: creating } });
    const g = side({ halves: { aws: pending, gcp: active } });
    // Act
    const both = mergeSides({ aws: a, gcp: g });
    const onlyAws = mergeSides({ aws: a });
    // Assess
    expect(both.halves).toEqual({ aws: up, gcp: active });
    expect(bothSidesLines(both).join('\n')).toMatch(/gcp\s+UP\s+ACTIVE\s+2/);
    expect(onlyAws.halves).toEqual({ aws: up, gcp: creating });
  });

  it('orders both sides stages by time, each labelled with its side', () => {
    expect(mergeSides({ aws, gcp }).stages).toEqual([
      { side: 'aws', state: 'REQUESTED', at: t(0) },
      { side: 'aws', state: 'AWAITING_APPROVAL', at: t(1) },
      { side: 'gcp', state: 'REQUESTED', at: t(3) },
      { side: 'gcp', state: 'AWAITING_APPROVAL', at: t(3) },
    ]);
  });

  it('keeps equal times stable: the initiator side first, then each side in its own order', () => {
    const a = side({
      initiator: 'gcp',
      stages: [
        { state: 'REQUESTED', at: t(7) },
        { state: 'AWAITING_APPROVAL', at: t(7) },
      ],
    });
    const g = side({
      initiator: 'gcp',
      stages: [
        { state: 'REQUESTED', at: t(7) },
        { state: 'AWAITING_APPROVAL', at: t(7) },
      ],
    });
    expect(mergeSides({ aws: a, gcp: g }).stages.map((s) => `${s.side} ${s.state}`)).toEqual([
      'gcp REQUESTED',
      'gcp AWAITING_APPROVAL',
      'aws REQUESTED',
      'aws AWAITING_APPROVAL',
    ]);
    // Different spellings of the same instant are equal times, not a string order.
    const mixed = mergeSides({
      aws: side({ stages: [{ state: 'REQUESTED', at: '2026-06-01T10:00:07Z' }] }),
      gcp: side({ stages: [{ state: 'REQUESTED', at: '2026-06-01T10:00:06.500Z' }] }),
    });
    expect(mixed.stages.map((s) => s.side)).toEqual(['gcp', 'aws']);
  });

  it('lists the events that crossed by the time they were emitted, with direction and outcome', () => {
    // Carol's approval, emitted on Google at 5s, delivered to AWS twice.
    const carolsApproval = {
      id: '01EVGCPAPPROVED00000000000',
      type: 'LinkApproved',
      from: 'gcp',
      to: 'aws',
      emittedAt: t(5),
    };
    expect(mergeSides({ aws, gcp }).crossed).toEqual([
      {
        id: '01EVAWSREQUESTED0000000000',
        type: 'LinkRequested',
        from: 'aws',
        to: 'gcp',
        emittedAt: t(0),
        receivedAt: t(3),
        outcome: 'applied',
      },
      { ...carolsApproval, receivedAt: t(9), outcome: 'applied' },
      { ...carolsApproval, receivedAt: t(12), outcome: 'ignored', reason: 'duplicate: gcp already approved' },
    ]);
  });

  it('orders by emission, not receipt: an event sent first but received last comes first', () => {
    const a = side({ audit: [peer('gcp', 'LinkSideStateChanged', '01B', t(20), t(21))] });
    const g = side({
      audit: [
        peer('aws', 'LinkKeyIssued', '01A', t(10), t(40)),
        // Written before eventTime was audited: ordered by its receipt, shown as unknown.
        peer('aws', 'LinkStateChanged', '01C', undefined, t(30)),
      ],
    });
    const crossed = mergeSides({ aws: a, gcp: g }).crossed;
    expect(crossed.map((e) => e.id)).toEqual(['01A', '01B', '01C']);
    expect(crossed[2]?.emittedAt).toBeNull();
  });

  it('keeps the reason of a refused event', () => {
    const a = side({
      audit: [
        peer('gcp', 'LinkApproved', '01R', t(2), t(3), 'refused', [
          `policy hash ${'b'.repeat(64)} differs from ${HASH}`,
        ]),
      ],
    });
    expect(mergeSides({ aws: a }).crossed).toEqual([
      expect.objectContaining({
        outcome: 'refused',
        reason: expect.stringMatching(/^policy hash b+ differs/),
      }),
    ]);
  });

  it('with one side missing: that side alone, its crossings only', () => {
    const m = mergeSides({ gcp });
    expect(m.sides).toEqual({ gcp });
    expect(m.stages.every((s) => s.side === 'gcp')).toBe(true);
    expect(m.crossed.map((e) => `${e.from} -> ${e.to}`)).toEqual(['aws -> gcp']);
    expect(() => mergeSides({})).toThrow(/at least one side/);
  });

  it('merges both audits by time, labelled by side', () => {
    expect(
      mergedAudit(mergeSides({ aws, gcp })).map((a) => `${a.at.slice(17, 19)} ${a.side} ${a.action}`),
    ).toEqual([
      '00 aws request',
      '03 gcp LinkRequested',
      '05 gcp approve',
      '09 aws LinkApproved',
      '12 aws LinkApproved',
    ]);
  });
});

describe('link show text', () => {
  it('both sides: stages by side, the events between the clouds in order, the merged audit', () => {
    const lines = bothSidesLines(mergeSides({ aws, gcp }));
    const text = lines.join('\n');
    expect(lines[0]).toBe(`${ID}  "east-west"  AWAITING_APPROVAL`);
    expect(text).toContain(`  ${t(3)}  gcp  REQUESTED`);
    const events = lines.slice(lines.indexOf('events between the clouds:') + 1, lines.indexOf('audit:') - 1);
    expect(events[0]).toMatch(/^ {2}EMITTED +DIRECTION +TYPE +EVENT +RECEIVED +OUTCOME$/);
    expect(events.slice(1)).toEqual([
      expect.stringMatching(
        new RegExp(`^ {2}${t(0)} +aws -> gcp +LinkRequested +01EVAWSREQUESTED0000000000 +${t(3)} +applied$`),
      ),
      expect.stringMatching(new RegExp(`^ {2}${t(5)} +gcp -> aws +LinkApproved .* ${t(9)} +applied$`)),
      expect.stringMatching(/ignored: duplicate: gcp already approved$/),
    ]);
    expect(text).toMatch(/ {2}AT +SIDE +ACTOR +ACTION +OUTCOME +REASONS/);
  });

  it('says none when nothing crossed', () => {
    const lines = bothSidesLines(mergeSides({ aws: side({}) }));
    expect(lines[lines.indexOf('events between the clouds:') + 1]).toBe('  none');
  });

  it('one side (--side): the record as before, no side labels', () => {
    const lines = showLines(aws);
    expect(lines).toContain(`  ${t(0)}  REQUESTED`);
    expect(lines).not.toContain('events between the clouds:');
  });
});
