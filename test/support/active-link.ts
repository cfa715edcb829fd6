/** A link record both halves took to ACTIVE, as either side stores it, for tests of what follows. */
import type { LinkRecord } from '#core/link/model.ts';
import { createLink, type LinkInput, transition } from '#core/link/transition.ts';

export function activeLinkRecord(o: {
  id: string;
  policyHash: string;
  now: number;
  /** The Google half's transport name and the link's shared id, when the test reads a real transport. */
  transport?: { name: string; sharedId: string };
}): LinkRecord {
  let link = createLink(
    {
      id: o.id,
      name: 'east',
      initiator: 'aws',
      environment: 'nonprod',
      requester: 'arn:aws:iam::000000000000:user/alice',
      bandwidth: '1Gbps',
      policyHash: o.policyHash,
    },
    o.now,
  );
  const inputs: LinkInput[] = [
    { kind: 'requestApproval' },
    { kind: 'approve', side: 'aws', by: 'arn:aws:iam::000000000000:user/bob' },
    { kind: 'approve', side: 'gcp', by: 'carol@example.com' },
    { kind: 'startProvisioning' },
    { kind: 'halfObserved', side: 'aws', sequence: 1, nativeState: 'available', resourceId: 'mcc-1a2b3c4d' },
    {
      kind: 'halfObserved',
      side: 'gcp',
      sequence: 1,
      nativeState: 'ACTIVE',
      adminEnabled: true,
      ...(o.transport ? { resourceId: o.transport.name, sharedId: o.transport.sharedId } : {}),
    },
  ];
  for (const input of inputs) link = transition(link, input, o.now).link;
  if (link.state !== 'ACTIVE') throw new Error(`the link is ${link.state}, not ACTIVE`);
  return link;
}
