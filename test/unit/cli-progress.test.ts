/**
 * The `--wait` progress line: in a terminal (a fake TTY stream) one line on stderr rewritten at each
 * poll (stage, time waited, what it waits for) and cleared at the end; nothing with `--json` or
 * when stderr is not a terminal.
 */
import { describe, expect, it } from 'vitest';
import type { IntakeAccess, LinkResource } from '#scripts/cli/intake-client.ts';
import type { CliIO } from '#scripts/cli/io.ts';
import { waitForLinkState } from '#scripts/cli/link-wait.ts';
import { elapsed, progressLine, waitingOn } from '#scripts/cli/progress.ts';

const half = (state: string) => ({ state, nativeState: null, sequence: 0 });
const link = (state: string, o: Partial<LinkResource> = {}): LinkResource => ({
  id: 'lk-1',
  name: 'payments-east',
  state,
  initiator: 'aws',
  halves: { aws: half('NONE'), gcp: half('NONE') },
  approvals: [],
  stages: [{ state, at: '2026-12-06T10:00:00Z' }],
  ...o,
});

function fakeIo(isTTY: boolean) {
  const written: string[] = [];
  const io: CliIO = {
    out: () => {},
    err: () => {},
    cwd: '.',
    env: {},
    status: { isTTY, write: (chunk: string) => written.push(chunk) },
  };
  return { io, written };
}

describe('the --wait progress line', () => {
  it('in a terminal: rewritten in place at each poll, cleared at the end', async () => {
    const { io, written } = fakeIo(true);
    const seq = [
      link('AWAITING_APPROVAL', { approvals: [{ side: 'aws', decision: 'approve', by: 'bob', at: 'x' }] }),
      link('PROVISIONING', { halves: { aws: half('UP'), gcp: half('PENDING') } }),
      link('ACTIVE'),
    ];
    let now = 0;
    const access = {
      client: { get: async () => seq.shift() as LinkResource },
      clock: { now: async () => now },
      maxPollMs: 60_000,
    } as unknown as IntakeAccess;
    const progress = progressLine(io, false, 'ACTIVE');
    await waitForLinkState(access, 'lk-1', {
      until: 'ACTIVE',
      timeoutMs: 3_600_000,
      sleep: async (ms) => {
        now += ms + 125_000;
      },
      onPoll: (l, waited) => progress.update(l, waited),
    });
    progress.done();
    expect(written).toEqual([
      '\r\x1b[2Kwaiting for ACTIVE: AWAITING_APPROVAL, 0s, on the gcp approval',
      '\r\x1b[2Kwaiting for ACTIVE: PROVISIONING, 2m 05s, on the gcp half to come up (PENDING)',
      '\r\x1b[2K',
    ]);
  });

  it('silent with --json, and when stderr is not a terminal', () => {
    for (const [tty, json] of [
      [false, false],
      [true, true],
    ] as const) {
      const { io, written } = fakeIo(tty);
      const p = progressLine(io, json, 'ACTIVE');
      p.update(link('REQUESTED'), 1000);
      p.done();
      expect(written).toEqual([]);
    }
  });

  it('says what each state waits for, and the time in a few characters', () => {
    expect(waitingOn(link('AWAITING_APPROVAL'))).toBe('the aws and gcp approvals');
    expect(waitingOn(link('PROVISIONING', { halves: { aws: half('UP'), gcp: half('UP') } }))).toBe(
      'both halves to report up',
    );
    expect(
      waitingOn(link('ACTIVE', { decommission: { status: 'PENDING', requestedBy: 'a', attempt: 1 } })),
    ).toBe('the decommission approval');
    expect(elapsed(3_725_000)).toBe('1h 02m');
    expect(elapsed(187_000)).toBe('3m 07s');
    expect(elapsed(12_400)).toBe('12s');
  });
});
