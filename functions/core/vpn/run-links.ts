/**
 * crosslink's link records as the planner's links (the links file's form, docs/vpn-planner.md): a
 * run plans with the links crosslink itself made, never with a file.
 *
 * - The AWS gateway a link reaches is each virtual private or transit gateway AWS's inventory
 *   export lists as associated with its Direct Connect gateway (`DirectConnectGatewayAssociations`,
 *   the responder's `DescribeDirectConnectGatewayAssociations` of each gateway a VPN is on): one
 *   planner link per associated gateway, on either coordinator.
 * - Its prefixes are the request's routes (the record's `endpoints`); its Google network is
 *   `projects/<project>/global/networks/<network>`; its peering on Google is the transport, whose id
 *   is the link id.
 * - Its health history is the record's stages: ACTIVE healthy, DEGRADED degraded, DOWN down; the
 *   soak counts from the first ACTIVE.
 */
import type { LinkRecord } from '../link/model.ts';
import type { LinkStore } from '../link/ports.ts';

/** The states whose links a run reads: a link that was once up and is not being removed. */
export const RUN_LINK_STATES = ['ACTIVE', 'DEGRADED', 'DOWN'] as const;

const HEALTH: Readonly<Record<string, 'healthy' | 'degraded' | 'down'>> = {
  ACTIVE: 'healthy',
  DEGRADED: 'degraded',
  DOWN: 'down',
};

export interface PlannerLinkJson {
  linkId: string;
  state: string;
  aws: { gatewayId: string; directConnectGatewayId: string; allowedPrefixes: string[] };
  gcp: { network: string; peering: string; advertisedRoutes: string[] };
  health: { at: string; status: 'healthy' | 'degraded' | 'down' }[];
}

/**
 * The planner's links of one record; `gateways` are the gateways associated with its Direct Connect
 * gateway. A record without endpoints (made before they were kept) or without an associated gateway
 * gives none, with the reason.
 */
export function plannerLinksOf(
  link: LinkRecord,
  gateways: readonly string[],
): { links: PlannerLinkJson[]; skipped?: string } {
  const e = link.endpoints;
  if (!e)
    return {
      links: [],
      skipped: `${link.id}: its record holds no endpoints (requested before they were kept)`,
    };
  if (gateways.length === 0)
    return {
      links: [],
      skipped: `${link.id}: Direct Connect gateway ${e.aws.directConnectGateway} is associated with no gateway a VPN is on`,
    };
  const health = link.stages.flatMap((s) => {
    const status = HEALTH[s.state];
    return status ? [{ at: s.at, status }] : [];
  });
  return {
    links: [...new Set(gateways)].sort().map((gatewayId) => ({
      linkId: link.id,
      state: link.state,
      aws: {
        gatewayId,
        directConnectGatewayId: e.aws.directConnectGateway,
        allowedPrefixes: [...e.aws.routes],
      },
      gcp: {
        network: `projects/${e.gcp.project}/global/networks/${e.gcp.network}`,
        peering: link.id,
        advertisedRoutes: [...e.gcp.routes],
      },
      health,
    })),
  };
}

/**
 * The gateways associated with a Direct Connect gateway as AWS's inventory export lists them
 * (`DirectConnectGatewayAssociations`, what `aws directconnect
 * describe-direct-connect-gateway-associations` prints for each gateway holding a VPN): what
 * either coordinator's plan reads, calling no Direct Connect itself.
 */
export function exportedGateways(awsExport: unknown, directConnectGatewayId: string): string[] {
  const list = (awsExport as { DirectConnectGatewayAssociations?: unknown } | null)
    ?.DirectConnectGatewayAssociations;
  if (!Array.isArray(list)) return [];
  const ids: string[] = [];
  for (const a of list as {
    directConnectGatewayId?: string;
    associationState?: string;
    associatedGateway?: { id?: string };
  }[])
    if (
      a.directConnectGatewayId?.toLowerCase() === directConnectGatewayId.toLowerCase() &&
      a.associationState === 'associated' &&
      a.associatedGateway?.id
    )
      ids.push(a.associatedGateway.id);
  return ids;
}

/** The link records a run reads (ACTIVE, DEGRADED, DOWN), every page of the store's list. */
export async function runLinkRecords(store: Pick<LinkStore, 'list'>): Promise<LinkRecord[]> {
  const out: LinkRecord[] = [];
  for (const state of RUN_LINK_STATES) {
    let cursor: string | undefined;
    do {
      const page = await store.list({ state, limit: 100, ...(cursor ? { cursor } : {}) });
      out.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
  }
  return out;
}

/**
 * The planner's links of crosslink's records in `store`, each reaching the gateways AWS's export
 * lists as associated with its Direct Connect gateway: what either coordinator plans with; and the
 * reasons of the records that give none.
 */
export async function runLinks(
  store: Pick<LinkStore, 'list'>,
  awsExport: unknown,
): Promise<{ links: PlannerLinkJson[]; skipped: string[] }> {
  const links: PlannerLinkJson[] = [];
  const skipped: string[] = [];
  for (const record of await runLinkRecords(store)) {
    const e = record.endpoints;
    const out = plannerLinksOf(record, e ? exportedGateways(awsExport, e.aws.directConnectGateway) : []);
    links.push(...out.links);
    if (out.skipped) skipped.push(out.skipped);
  }
  return { links, skipped };
}
