/**
 * The link as the intakes answer it (`GET /links/{id}`, `link show --json`) and list it (`GET /links`,
 * `link ls --json`): the same shape on both clouds, never the stored record (no outbox, no health
 * internals, no policy hash). The list leaves out the audit, which only `show` reads.
 */
import type { LinkRecord } from './model.ts';
import type { LinkStore } from './ports.ts';

function halfOut(h: LinkRecord['halves']['aws']) {
  return { state: h.condition, nativeState: h.nativeState, sequence: h.sequence };
}

/** The resource without its audit: what a list gives for each link. */
export function linkSummary(link: LinkRecord) {
  return {
    id: link.id,
    name: link.name,
    state: link.state,
    initiator: link.initiator,
    environment: link.environment,
    requester: link.requester,
    halves: {
      aws: {
        ...halfOut(link.halves.aws),
        ...(link.halves.aws.resourceId ? { connectionId: link.halves.aws.resourceId } : {}),
      },
      gcp: {
        ...halfOut(link.halves.gcp),
        ...(link.halves.gcp.resourceId ? { transportName: link.halves.gcp.resourceId } : {}),
      },
    },
    approvals: link.approvals,
    ...(link.decommission ? { decommission: link.decommission } : {}),
    stages: link.stages,
  };
}

/** The link resource of `link show --json`: the summary plus the audit. */
export async function linkResource(store: Pick<LinkStore, 'listAudit'>, link: LinkRecord) {
  return { ...linkSummary(link), audit: await store.listAudit(link.id) };
}
