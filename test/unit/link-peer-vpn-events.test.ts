/**
 * The peer-event consumer (Google's `peerEvents`, on every event relayed from AWS) is handed the VPN
 * runs' events too: a run's inventory request and report, a half's drain and undrain results. They
 * are no link's, so it acknowledges them as ignored without reading a link record: Firestore refuses
 * a document path that is not a string, and a consumer that read the record of an event's missing
 * `linkId` failed every delivery of them until Pub/Sub dead-lettered it.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import type { EventName } from '#core/events/catalog.ts';
import { isLinkId } from '#core/ids.ts';
import { consumePeerEvent, type IntakeDeps } from '#core/link/intake.ts';
import { type Harness, stepHarness } from '../support/step-harness.ts';

const AWS = { cloud: 'aws' as const, accountId: '000000000000', region: 'us-east-1' };
const RUN = 'vpn-dev-20261207T110000Z';
const VPN = 'vpn-0000000000000000d';
const AT = '2026-12-07T11:00:00.000Z';

let h: Harness;
let deps: IntakeDeps;
let reads: unknown[];

beforeEach(() => {
  h = stepHarness();
  reads = [];
  const store = h.deps.store;
  const get = store.get.bind(store);
  // As Firestore's doc(): a path that is not a link's id is refused.
  store.get = async (linkId: string) => {
    reads.push(linkId);
    if (typeof linkId !== 'string' || !isLinkId(linkId))
      throw new Error(`Value for argument "documentPath" is not a valid resource path: ${linkId}`);
    return get(linkId);
  };
  deps = {
    ...h.deps,
    origin: { cloud: 'gcp', project: 'payments-prod', region: 'us-east4' },
    stages: {
      start: async () => {
        throw new Error('no run starts for a VPN event');
      },
      running: async () => false,
    },
  };
});

const result = (outcome: string) => ({
  runId: RUN,
  vpnId: VPN,
  side: 'aws',
  outcome,
  method: 'google-side',
  changed: [],
  reason: 'a VGW VPN is drained from Google’s side',
  appliedAt: AT,
});

const VPN_EVENTS: [EventName, string, unknown][] = [
  ['VpnInventoryRequested', RUN, { runId: RUN, side: 'gcp', requestedAt: AT }],
  ['VpnDrained', VPN, result('unchanged')],
  ['VpnUndrained', VPN, result('unchanged')],
  ['VpnHalfDeleted', VPN, { ...result('changed'), method: 'tgw-propagation', changed: [VPN] }],
];

describe("the VPN runs' events relayed from AWS", () => {
  it.each(VPN_EVENTS)(
    '%s is acknowledged as no link’s, reading no link record',
    async (name, subject, data) => {
      // Arrange
      const event: CloudEvent = buildEvent({
        name,
        origin: AWS,
        subject,
        data: data as never,
        clock: h.clock,
      });
      // Act
      const out = await consumePeerEvent(deps, event);
      const again = await consumePeerEvent(deps, event);
      // Assess
      expect(out).toEqual({ outcome: 'ignored', reason: `${name} is not a link event`, type: name });
      expect(again).toMatchObject({ outcome: 'ignored', reason: `duplicate event ${event.id}` });
      expect(reads).toEqual([]);
    },
  );
});
