/**
 * The request stage judges the pair's live offering on this side, discovered in the request's
 * regions: the policy names regions only, so the Google profile's key flow is checked here, before
 * anyone is asked to approve and before anything is created.
 */
import { describe, expect, it } from 'vitest';
import type { PairCapacity } from '#core/link/ports.ts';
import { request } from '#core/link/request.ts';
import { CapacityUnavailableError } from '#core/link/stage.ts';
import { parseLinkRequest } from '#core/policy/request.ts';
import { LINK, REQUEST, requestedLink, stepHarness } from '../support/step-harness.ts';

async function requested(initiator: 'aws' | 'gcp', offered: PairCapacity, pair = {}) {
  const h = stepHarness();
  const asked: unknown[] = [];
  h.halves.capacity = async (req) => {
    asked.push({ aws: req.aws.region, gcp: req.gcp.region });
    return offered;
  };
  await h.store.create(requestedLink(initiator, h.deps.policy.hash));
  const outcome = await request(h.deps, {
    linkId: LINK,
    mode: 'initiate',
    request: parseLinkRequest({ ...REQUEST, initiator, ...pair }),
  }).catch((e: unknown) => e);
  return { h, outcome, asked };
}

const PROFILE = 'Google profile projects/p/locations/us-east4/remoteTransportProfiles/aws-us-east-1';

describe('the request stage and the live offering of the pair', () => {
  it("refuses an initiator the live profile's flow cannot serve, naming the profile; asks no one", async () => {
    const { h, outcome } = await requested('aws', {
      state: 'available',
      availableBandwidths: ['BPS_1G'],
      offering: PROFILE,
      flow: 'OUTPUT_ONLY',
    });
    expect(outcome).toBeInstanceOf(CapacityUnavailableError);
    expect((outcome as Error).message).toBe(
      `${PROFILE}: the Google profile is OUTPUT_ONLY: Google cannot accept a key issued by AWS (input); choose initiator gcp`,
    );
    expect(h.events.events.map((e) => e.type)).not.toContain('crosslink.LinkApprovalRequested.v1');
    expect((await h.store.get(LINK))?.link.state).toBe('REQUESTED');
  });

  it("goes on when the flow serves the initiator, asking the halves about the request's own regions", async () => {
    const { h, outcome, asked } = await requested(
      'gcp',
      { state: 'available', availableBandwidths: ['BPS_1G'], offering: PROFILE, flow: 'OUTPUT_ONLY' },
      {
        aws: { ...REQUEST.aws, region: 'us-west-2' },
        gcp: { ...REQUEST.gcp, region: 'us-west1' },
      },
    );
    expect(outcome).toMatchObject({ escalated: false });
    expect(asked).toEqual([{ aws: 'us-west-2', gcp: 'us-west1' }]);
    expect((await h.store.get(LINK))?.link.state).toBe('AWAITING_APPROVAL');
  });

  it('names what it found when the bandwidth is not offered', async () => {
    const { outcome } = await requested('aws', {
      state: 'limited',
      availableBandwidths: ['10Gbps'],
      offering: 'AWS environment mce-aws-gcp-iad in us-east-1',
    });
    expect((outcome as Error).message).toBe(
      'AWS environment mce-aws-gcp-iad in us-east-1 is limited; 1Gbps available: false',
    );
  });

  it('refuses a pair the policy does not list before asking the provider', async () => {
    const { outcome, asked } = await requested(
      'aws',
      { state: 'available', availableBandwidths: ['1Gbps'], offering: 'x' },
      { gcp: { ...REQUEST.gcp, region: 'us-west1' } },
    );
    expect((outcome as Error).message).toBe('the policy pairs no AWS us-east-1 with Google us-west1');
    expect(asked).toEqual([]);
  });
});
