/** Link records for the Google watcher's tests: a PROVISIONING link whose transport the store last saw. */
import type { Clock } from '#core/clock.ts';
import { mintLinkId } from '#core/ids.ts';
import type { GcpTransportState, LinkRecord } from '#core/link/model.ts';
import type { LinkStore } from '#core/link/ports.ts';
import { createLink } from '#core/link/transition.ts';
import type { Policy } from '#core/policy/policy.ts';

/**
 * Stores a PROVISIONING link whose Google half was last seen as `nativeState` at `sequence`. The
 * transport id is the link id (the last segment of `resourceId`; a new id when there is none yet).
 */
export async function storedGcpLink(
  deps: { store: LinkStore; clock: Clock; policy: Policy },
  resourceId: string | undefined,
  nativeState: GcpTransportState | null,
  sequence: number,
): Promise<LinkRecord> {
  const id = resourceId?.split('/').at(-1) ?? mintLinkId(deps.clock);
  const l = createLink(
    {
      id,
      name: `link-${id.slice(-4)}`,
      initiator: 'gcp',
      environment: 'nonprod',
      requester: 'carol@example.com',
      bandwidth: '1Gbps',
      policyHash: deps.policy.hash,
    },
    deps.clock.now(),
  );
  l.state = 'PROVISIONING';
  l.halves.gcp = {
    ...l.halves.gcp,
    nativeState,
    sequence,
    condition: nativeState === 'ACTIVE' ? 'UP' : nativeState ? 'PENDING' : 'NONE',
    adminEnabled: true,
    ...(resourceId ? { resourceId } : {}),
  };
  await deps.store.create(l);
  return l;
}
