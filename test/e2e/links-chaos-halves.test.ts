/**
 * Chaos on the halves (issue #10), in one local cloud running both halves, the flows through the CLI:
 * the AWS half deleted out of band: an ACTIVE Google-first link's connection is deleted with the
 * real Interconnect client as the admin; the link goes DOWN on both sides, and decommission cleans
 * up: DECOMMISSIONED, the transport deleted, nothing billing.
 * (The missed-watcher-run case, commit a2803d0, passed alone but hung in the full suite: it is out
 * until its choreography is made robust; docs/relay.md "Chaos tests".)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteConnectionCommand } from '#aws/interconnect-client.ts';
import { type BothHalves, resourcesOf, startBothHalves, waitFor } from '../support/both-halves.ts';
import { linkFlows } from '../support/link-flows.ts';
import { interconnectClient } from '../support/local-cloud.ts';

let both: BothHalves;

beforeAll(async () => {
  // Clock x30, as the relay chaos test (see there): at x60 the relay queue's visibility is 3 s wall.
  both = await startBothHalves({
    clock: { mode: 'scaled', scale: 30, start: Math.floor(Date.now() / 1000) * 1000 },
  });
}, 240_000);

afterAll(async () => {
  await both?.stop();
});

const { bothSides, googleFirst, expectActive, decommission } = linkFlows(() => both);

describe('the halves under chaos', () => {
  it('the AWS half deleted out of band: DOWN on both sides, then decommission cleans up', async () => {
    const id = await googleFirst();
    const { aws } = await expectActive(id);
    await interconnectClient(both.cloud).send(
      new DeleteConnectionCommand({ identifier: aws.halves.aws.connectionId as string }),
    );
    // The AWS watcher (every 5 virtual minutes) sees it; the peer event carries it to Google.
    const down = await waitFor(
      'the link DOWN on both sides',
      async () => {
        const views = await bothSides(id);
        return views.aws.state === 'DOWN' && views.gcp.state === 'DOWN' ? views : undefined;
      },
      120_000,
    );
    for (const view of [down.aws, down.gcp]) {
      expect(view.halves.aws.state).toMatch(/^(DELETING|GONE)$/);
      expect(view.halves.gcp).toMatchObject({ state: 'UP', nativeState: 'ACTIVE' });
    }
    // alice asks on AWS; carol approves from Google. The transport is deleted, nothing bills.
    await decommission(id, ['--as', 'alice'], ['--side', 'gcp', '--as', 'carol']);
    const left = await resourcesOf(both, id);
    expect(left.transports.filter((t) => !t.deleting)).toEqual([]);
  }, 600_000);
});
