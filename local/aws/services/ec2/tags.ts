/**
 * Local EC2's tag operations on every resource: CreateTags, DeleteTags, DescribeTags (filters,
 * pagination), over the model's own tags where it has them and the side state's otherwise.
 */

import { AwsError } from '../../errors.ts';
import type { Handler, World } from '../../service.ts';
import {
  applyFilters,
  type Filter,
  here,
  InvalidParameterValue,
  ids,
  MissingParameter,
  maxResults,
  net,
  paginate,
  resourceType,
  side,
  type Tags,
  tagsFor,
} from './common.ts';

export const tagOperations: Record<string, Handler<{ world: World }>> = {
  CreateTags(input: { ResourceId?: string[]; Tag?: { Key?: string; Value?: string }[] }, ctx) {
    const resources = ids(input.ResourceId);
    if (!resources || resources.length === 0)
      throw MissingParameter('The request must contain the parameter resourceIdSet');
    const tags = input.Tag ?? [];
    if (tags.length === 0) throw MissingParameter('The request must contain the parameter tagSet');
    for (const t of tags) {
      if (!t.Key || t.Key.length > 128) throw InvalidParameterValue(`Tag key '${t.Key ?? ''}' is invalid`);
      if (t.Key.startsWith('aws:'))
        throw InvalidParameterValue("Tag keys starting with 'aws:' are reserved for internal use");
    }
    const records = resources.map((id) => tagsFor(ctx, id));
    for (const rec of records) {
      for (const t of tags) rec[t.Key as string] = t.Value ?? '';
      if (Object.keys(rec).length > 50)
        throw new AwsError('TagLimitExceeded', 'The maximum number of tags for a resource is 50', {
          status: 400,
        });
    }
    return { return: true };
  },

  DeleteTags(input: { ResourceId?: string[]; Tag?: { Key?: string; Value?: string }[] }, ctx) {
    const resources = ids(input.ResourceId);
    if (!resources || resources.length === 0)
      throw MissingParameter('The request must contain the parameter resourceIdSet');
    for (const id of resources) {
      const rec = tagsFor(ctx, id);
      if (!input.Tag || input.Tag.length === 0) {
        for (const k of Object.keys(rec)) delete rec[k];
        continue;
      }
      for (const t of input.Tag) {
        if (t.Key === undefined) continue;
        // With a value, only a tag with that value is removed (an empty value is a value too).
        if (t.Value === undefined || rec[t.Key] === t.Value) delete rec[t.Key];
      }
    }
    return { return: true };
  },

  DescribeTags(input: { Filter?: Filter[]; MaxResults?: string; NextToken?: string }, ctx) {
    const n = net(ctx);
    const all: { resourceId: string; resourceType: string; key: string; value: string }[] = [];
    const push = (id: string, tags: Tags) => {
      for (const [key, value] of Object.entries(tags))
        all.push({ resourceId: id, resourceType: resourceType(id), key, value });
    };
    for (const v of n.vpnConnections.values())
      if (here(ctx, v) && v.state !== 'deleted') push(v.vpnConnectionId, v.tags);
    for (const c of n.customerGateways.values())
      if (here(ctx, c) && c.state !== 'deleted') push(c.customerGatewayId, c.tags);
    for (const g of n.vpnGateways.values())
      if (here(ctx, g) && g.state !== 'deleted') push(g.vpnGatewayId, g.tags);
    for (const v of n.vpcs.values()) if (here(ctx, v)) push(v.vpcId, v.tags);
    for (const t of n.transitGateways.values())
      if (here(ctx, t) && t.state !== 'deleted') push(t.transitGatewayId, t.tags);
    for (const [id, tags] of side(ctx.world).tags) {
      try {
        tagsFor(ctx, id);
        push(id, tags);
      } catch {
        // another account's or region's resource
      }
    }
    all.sort((a, b) =>
      a.resourceId === b.resourceId ? (a.key < b.key ? -1 : 1) : a.resourceId < b.resourceId ? -1 : 1,
    );
    const filtered = applyFilters(
      all,
      input.Filter,
      {
        'resource-id': (t) => t.resourceId,
        'resource-type': (t) => t.resourceType,
        key: (t) => t.key,
        value: (t) => t.value,
      },
      () => ({}),
    );
    const page = paginate(filtered, maxResults(input.MaxResults, 5, 1000), input.NextToken, [
      'DescribeTags',
      ctx.accountId,
      ctx.region,
      input.Filter,
    ]);
    return { tagSet: page.items, nextToken: page.nextToken };
  },
};
