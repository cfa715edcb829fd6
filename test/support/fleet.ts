/** Link records for the fleet benches (reaction, burst): many links stored at once, as a watcher finds them. */
import type { AwsConnectionState, LinkRecord } from '#core/link/model.ts';
import { createLink } from '#core/link/transition.ts';

/**
 * An AWS-first link whose Google half is up and whose AWS half is `connectionId`, last seen
 * `nativeState`: PROVISIONING while that half is pending, ACTIVE once it is `available`.
 */
export function fleetLink(
  id: string,
  aws: { connectionId: string; nativeState: AwsConnectionState },
  policyHash: string,
  now: number,
): LinkRecord {
  const l = createLink(
    {
      id,
      name: `fleet-${id.slice(-6)}`,
      initiator: 'aws',
      environment: 'nonprod',
      requester: 'alice@example.com',
      bandwidth: '1Gbps',
      policyHash,
    },
    now,
  );
  const at = new Date(now).toISOString();
  const up = aws.nativeState === 'available';
  l.state = up ? 'ACTIVE' : 'PROVISIONING';
  l.stages.push({ state: 'PROVISIONING', at, reason: 'activation started' });
  if (up) l.stages.push({ state: 'ACTIVE', at, reason: 'both halves up' });
  l.halves.aws = {
    ...l.halves.aws,
    resourceId: aws.connectionId,
    nativeState: aws.nativeState,
    condition: up ? 'UP' : 'PENDING',
    sequence: 1,
    observedAt: at,
  };
  l.halves.gcp = {
    ...l.halves.gcp,
    resourceId: `projects/payments-prod/locations/us-east4/transports/${id}`,
    nativeState: 'ACTIVE',
    adminEnabled: true,
    condition: 'UP',
    sequence: 1,
    observedAt: at,
  };
  return l;
}
