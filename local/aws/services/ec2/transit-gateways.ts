/**
 * Local EC2's Transit Gateway operations: attachments, route tables, route search (filters,
 * MaxResults), and enable / disable / list route table propagations (the per-VPN drain of the VPN
 * decommission).
 */

import { type Cidr, contains, parseCidr } from '#core/net/cidr.ts';
import type { TgwAttachment } from '#local/world/network.ts';
import type { Handler, World } from '../../service.ts';
import {
  applyFilters,
  cidr,
  type Filter,
  here,
  InvalidParameterValue,
  ids,
  MissingParameter,
  mapNetworkError,
  maxResults,
  net,
  notFound,
  paginate,
  required,
  sideTags,
  tagSet,
  tgwAttachment,
  tgwRouteTable,
} from './common.ts';
import { attachmentsOf, propagationView } from './views.ts';

export const transitGatewayOperations: Record<string, Handler<{ world: World }>> = {
  DescribeTransitGatewayAttachments(
    input: {
      TransitGatewayAttachmentIds?: string[];
      Filter?: Filter[];
      MaxResults?: string;
      NextToken?: string;
    },
    ctx,
  ) {
    const n = net(ctx);
    const wanted = ids(input.TransitGatewayAttachmentIds);
    let atts = [...n.tgwAttachments.values()].filter((a) => {
      const tgw = n.transitGateways.get(a.transitGatewayId);
      return tgw !== undefined && here(ctx, tgw) && a.state !== 'deleted';
    });
    if (wanted) {
      for (const id of wanted)
        if (!atts.some((a) => a.transitGatewayAttachmentId === id))
          throw notFound('InvalidTransitGatewayAttachmentID', 'transitGatewayAttachment', id);
      atts = atts.filter((a) => wanted.includes(a.transitGatewayAttachmentId));
    }
    atts = applyFilters(
      atts,
      input.Filter,
      {
        'transit-gateway-attachment-id': (a) => a.transitGatewayAttachmentId,
        'transit-gateway-id': (a) => a.transitGatewayId,
        'resource-id': (a) => a.resourceId,
        'resource-type': (a) => a.resourceType,
        state: (a) => a.state,
        'association.transit-gateway-route-table-id': (a) => a.associatedRouteTableId,
      },
      (a) => sideTags(ctx, a.transitGatewayAttachmentId),
    );
    const page = paginate(atts, maxResults(input.MaxResults, 5, 1000), input.NextToken, [
      'DescribeTransitGatewayAttachments',
      ctx.accountId,
      input.Filter,
    ]);
    return {
      transitGatewayAttachments: page.items.map((a) => ({
        transitGatewayAttachmentId: a.transitGatewayAttachmentId,
        transitGatewayId: a.transitGatewayId,
        transitGatewayOwnerId: ctx.accountId,
        resourceOwnerId: ctx.accountId,
        resourceType: a.resourceType,
        resourceId: a.resourceId,
        state: a.state,
        association: a.associatedRouteTableId
          ? { transitGatewayRouteTableId: a.associatedRouteTableId, state: 'associated' }
          : undefined,
        tagSet: tagSet(sideTags(ctx, a.transitGatewayAttachmentId)),
      })),
      nextToken: page.nextToken,
    };
  },

  SearchTransitGatewayRoutes(
    input: { TransitGatewayRouteTableId?: string; Filter?: Filter[]; MaxResults?: string },
    ctx,
  ) {
    const rtb = tgwRouteTable(ctx, required(input.TransitGatewayRouteTableId, 'TransitGatewayRouteTableId'));
    if (!input.Filter || input.Filter.length === 0)
      throw MissingParameter('The request must contain the parameter Filters');
    const max = maxResults(input.MaxResults, 5, 1000) ?? 1000;
    const routes = net(ctx).tgwRoutes(rtb.transitGatewayRouteTableId);
    const matchers: Record<string, (given: Cidr, route: Cidr) => boolean> = {
      'route-search.exact-match': (g, r) => g.text === r.text,
      'route-search.subnet-of-match': (g, r) => contains(g, r),
      'route-search.supernet-of-match': (g, r) => contains(r, g),
    };
    let found = routes;
    const plain: Filter[] = [];
    for (const f of input.Filter) {
      const name = required(f.Name, 'Filter.Name');
      const matcher = matchers[name];
      if (matcher) {
        const givens = (f.Value ?? []).map((v) => cidr(v, name));
        found = found.filter((route) =>
          givens.some((g) => matcher(g, parseCidr(route.destinationCidrBlock))),
        );
      } else if (name === 'route-search.longest-prefix-match') {
        const givens = (f.Value ?? []).map((v) => cidr(v, name));
        found = found.filter((route) => {
          const rc = parseCidr(route.destinationCidrBlock);
          return givens.some((g) => {
            if (!contains(rc, g)) return false;
            const best = Math.max(
              ...routes
                .map((x) => parseCidr(x.destinationCidrBlock))
                .filter((x) => contains(x, g))
                .map((x) => x.length),
            );
            return rc.length === best;
          });
        });
      } else plain.push(f);
    }
    found = applyFilters(
      found,
      plain,
      {
        type: (r) => r.type,
        state: (r) => r.state,
        'attachment.transit-gateway-attachment-id': (r) => r.transitGatewayAttachmentId,
        'attachment.resource-id': (r) => attachmentsOf(ctx, r).map((a) => a.resourceId),
        'attachment.resource-type': (r) => attachmentsOf(ctx, r).map((a) => a.resourceType),
        'prefix-list-id': () => [],
      },
      () => ({}),
    );
    found.sort((a, b) => (a.destinationCidrBlock < b.destinationCidrBlock ? -1 : 1));
    return {
      routeSet: found.slice(0, max).map((r) => ({
        destinationCidrBlock: r.destinationCidrBlock,
        transitGatewayAttachments: attachmentsOf(ctx, r),
        type: r.type,
        state: r.state,
      })),
      additionalRoutesAvailable: found.length > max,
    };
  },

  EnableTransitGatewayRouteTablePropagation(
    input: { TransitGatewayRouteTableId?: string; TransitGatewayAttachmentId?: string },
    ctx,
  ) {
    const rtb = tgwRouteTable(ctx, required(input.TransitGatewayRouteTableId, 'TransitGatewayRouteTableId'));
    const att = tgwAttachment(ctx, required(input.TransitGatewayAttachmentId, 'TransitGatewayAttachmentId'));
    if (att.transitGatewayId !== rtb.transitGatewayId) {
      throw InvalidParameterValue(
        `${att.transitGatewayAttachmentId} is not an attachment of ${rtb.transitGatewayId}`,
      );
    }
    net(ctx).enableTgwPropagation(rtb.transitGatewayRouteTableId, att.transitGatewayAttachmentId);
    return propagationView(rtb.transitGatewayRouteTableId, att, true);
  },

  DisableTransitGatewayRouteTablePropagation(
    input: { TransitGatewayRouteTableId?: string; TransitGatewayAttachmentId?: string },
    ctx,
  ) {
    const rtb = tgwRouteTable(ctx, required(input.TransitGatewayRouteTableId, 'TransitGatewayRouteTableId'));
    const att = tgwAttachment(ctx, required(input.TransitGatewayAttachmentId, 'TransitGatewayAttachmentId'));
    try {
      net(ctx).disableTgwPropagation(rtb.transitGatewayRouteTableId, att.transitGatewayAttachmentId);
    } catch (err) {
      mapNetworkError(err);
    }
    return propagationView(rtb.transitGatewayRouteTableId, att, false);
  },

  DescribeTransitGatewayRouteTables(
    input: {
      TransitGatewayRouteTableIds?: string[];
      Filter?: Filter[];
      MaxResults?: string;
      NextToken?: string;
    },
    ctx,
  ) {
    const n = net(ctx);
    const wanted = ids(input.TransitGatewayRouteTableIds);
    let tables = [...n.tgwRouteTables.values()].filter((r) => {
      const tgw = n.transitGateways.get(r.transitGatewayId);
      return tgw !== undefined && here(ctx, tgw) && tgw.state !== 'deleted';
    });
    if (wanted) {
      for (const id of wanted) {
        if (!tables.some((t) => t.transitGatewayRouteTableId === id)) {
          throw notFound('InvalidRouteTableID', 'transitGatewayRouteTable', id);
        }
      }
      tables = tables.filter((t) => wanted.includes(t.transitGatewayRouteTableId));
    }
    const isDefault = (
      id: string,
      tgwId: string,
      which: 'associationDefaultRouteTableId' | 'propagationDefaultRouteTableId',
    ) => n.transitGateways.get(tgwId)?.[which] === id;
    tables = applyFilters(
      tables,
      input.Filter,
      {
        'transit-gateway-route-table-id': (t) => t.transitGatewayRouteTableId,
        'transit-gateway-id': (t) => t.transitGatewayId,
        state: () => 'available',
        'default-association-route-table': (t) =>
          String(
            isDefault(t.transitGatewayRouteTableId, t.transitGatewayId, 'associationDefaultRouteTableId'),
          ),
        'default-propagation-route-table': (t) =>
          String(
            isDefault(t.transitGatewayRouteTableId, t.transitGatewayId, 'propagationDefaultRouteTableId'),
          ),
      },
      (t) => sideTags(ctx, t.transitGatewayRouteTableId),
    );
    const page = paginate(tables, maxResults(input.MaxResults, 5, 1000), input.NextToken, [
      'DescribeTransitGatewayRouteTables',
      ctx.accountId,
      input.Filter,
    ]);
    return {
      transitGatewayRouteTables: page.items.map((t) => ({
        transitGatewayRouteTableId: t.transitGatewayRouteTableId,
        transitGatewayId: t.transitGatewayId,
        state: 'available',
        defaultAssociationRouteTable: isDefault(
          t.transitGatewayRouteTableId,
          t.transitGatewayId,
          'associationDefaultRouteTableId',
        ),
        defaultPropagationRouteTable: isDefault(
          t.transitGatewayRouteTableId,
          t.transitGatewayId,
          'propagationDefaultRouteTableId',
        ),
        tagSet: tagSet(sideTags(ctx, t.transitGatewayRouteTableId)),
      })),
      nextToken: page.nextToken,
    };
  },

  GetTransitGatewayRouteTablePropagations(
    input: {
      TransitGatewayRouteTableId?: string;
      Filter?: Filter[];
      MaxResults?: string;
      NextToken?: string;
    },
    ctx,
  ) {
    const rtb = tgwRouteTable(ctx, required(input.TransitGatewayRouteTableId, 'TransitGatewayRouteTableId'));
    const n = net(ctx);
    let props = rtb.propagations
      .map((id) => n.tgwAttachments.get(id))
      .filter((a): a is TgwAttachment => a !== undefined && a.state !== 'deleted');
    props = applyFilters(
      props,
      input.Filter,
      {
        'transit-gateway-attachment-id': (a) => a.transitGatewayAttachmentId,
        'resource-id': (a) => a.resourceId,
        'resource-type': (a) => a.resourceType,
        state: () => 'enabled',
      },
      () => ({}),
    );
    const page = paginate(props, maxResults(input.MaxResults, 5, 1000), input.NextToken, [
      'GetTransitGatewayRouteTablePropagations',
      rtb.transitGatewayRouteTableId,
      input.Filter,
    ]);
    return {
      transitGatewayRouteTablePropagations: page.items.map((a) => ({
        transitGatewayAttachmentId: a.transitGatewayAttachmentId,
        resourceId: a.resourceId,
        resourceType: a.resourceType,
        state: 'enabled',
      })),
      nextToken: page.nextToken,
    };
  },
};
