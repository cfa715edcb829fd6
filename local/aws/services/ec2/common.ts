/**
 * What every local EC2 operation shares: EC2's error codes, the per-world side state (tags of
 * resources the network model has none for, deletion times of deleted resources), input checks,
 * filters and page tokens, and lookups scoped to the caller's account and region. Kept apart from
 * the operations so each resource family's file reads as its operations only.
 */

import { parseDuration } from '#core/clock.ts';
import { type Cidr, parseCidr } from '#core/net/cidr.ts';
import {
  type CustomerGateway,
  NetworkError,
  type NetworkWorld,
  type TgwAttachment,
  type VpnConnection,
} from '#local/world/network.ts';
import { networkOf } from '../../common/network.ts';
import { AwsError, errorClass } from '../../errors.ts';
import type { RequestContext, World } from '../../service.ts';

export const InvalidParameterValue = errorClass('InvalidParameterValue', 400);
export const InvalidParameterCombination = errorClass('InvalidParameterCombination', 400);
export const MissingParameter = errorClass('MissingParameter', 400);
export const IncorrectState = errorClass('IncorrectState', 400);
const InvalidNextToken = errorClass('InvalidNextToken', 400);

export const notFound = (code: string, kind: string, id: string) =>
  new AwsError(`${code}.NotFound`, `The ${kind} ID '${id}' does not exist`, { status: 400 });

export type Ctx = RequestContext<unknown>;
export type Tags = Record<string, string>;
export interface Filter {
  Name?: string;
  Value?: string[];
}

// ---------- per-world side state: tags of resources the model has none for, deletion times ----------

interface Ec2Side {
  tags: Map<string, Tags>;
  deletedAt: Map<string, number>;
}
const sides = new WeakMap<World, Ec2Side>();
export function side(world: World): Ec2Side {
  let s = sides.get(world);
  if (!s) {
    s = { tags: new Map(), deletedAt: new Map() };
    sides.set(world, s);
  }
  return s;
}

function retentionMs(world: World): number {
  return parseDuration(world.settings<{ deletedRetention: string }>('ec2').deletedRetention ?? '1h');
}

/** Deleted resources stay visible for a while, then vanish (inferred retention). */
export function visible(ctx: Ctx, id: string, state: string): boolean {
  if (state !== 'deleted') return true;
  const at = side(ctx.world).deletedAt.get(id);
  return at === undefined || ctx.clock.now() - at < retentionMs(ctx.world);
}

export const net = (ctx: Ctx): NetworkWorld => networkOf(ctx.world);
export const here = (ctx: Ctx, r: { accountId: string; region: string }) =>
  r.accountId === ctx.accountId && r.region === ctx.region;

// ---------- inputs ----------

export function ids(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : [v]).map(String);
}

export function required(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0) {
    throw MissingParameter(`The request must contain the parameter ${name}`);
  }
  return v;
}

export function maxResults(v: unknown, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw InvalidParameterValue(
      `Value ( ${String(v)} ) for parameter maxResults is invalid. Expecting a value between ${min} and ${max}.`,
    );
  }
  return n;
}

export function cidr(v: unknown, name: string): Cidr {
  const text = required(v, name);
  try {
    return parseCidr(text);
  } catch {
    throw InvalidParameterValue(
      `Value (${text}) for parameter ${name} is invalid. This is not a valid CIDR block.`,
    );
  }
}

/** EC2 filter values may use `*` and `?`. */
function glob(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
}

/**
 * Keeps the items every filter matches (values OR-ed, filters AND-ed). `fields` maps a filter name
 * to the item's values; `tag:<key>` and `tag-key` / `tag-value` work on every resource.
 */
export function applyFilters<T>(
  items: T[],
  filters: Filter[] | undefined,
  fields: Record<string, (item: T) => unknown>,
  tagsOf: (item: T) => Tags,
): T[] {
  if (!filters) return items;
  return items.filter((item) =>
    filters.every((f) => {
      const name = required(f.Name, 'Filter.Name');
      const wanted = (f.Value ?? []).map(glob);
      let values: unknown;
      if (name.startsWith('tag:')) {
        const v = tagsOf(item)[name.slice(4)];
        values = v === undefined ? [] : [v];
      } else if (name === 'tag-key') values = Object.keys(tagsOf(item));
      else if (name === 'tag-value') values = Object.values(tagsOf(item));
      else {
        const field = fields[name];
        if (!field) throw InvalidParameterValue(`The filter '${name}' is invalid`);
        values = field(item);
      }
      const list = (Array.isArray(values) ? values : [values]).filter((x) => x !== undefined).map(String);
      return wanted.some((re) => list.some((x) => re.test(x)));
    }),
  );
}

export const tagSet = (tags: Tags) => Object.entries(tags).map(([key, value]) => ({ key, value }));

/** Opaque page tokens, bound to the call's filters so a token cannot be replayed elsewhere. */
export function paginate<T>(items: T[], max: number | undefined, token: unknown, bound: unknown) {
  let start = 0;
  const key = JSON.stringify(bound);
  if (token !== undefined) {
    try {
      const t = JSON.parse(Buffer.from(String(token), 'base64url').toString()) as { i: number; k: string };
      if (t.k !== key || !Number.isInteger(t.i)) throw new Error('other call');
      start = t.i;
    } catch {
      throw InvalidNextToken('The token provided is invalid or has expired.');
    }
  }
  if (max === undefined) return { items: items.slice(start), nextToken: undefined };
  const end = start + max;
  return {
    items: items.slice(start, end),
    nextToken:
      end < items.length ? Buffer.from(JSON.stringify({ i: end, k: key })).toString('base64url') : undefined,
  };
}

// ---------- model errors in EC2's words ----------

export function mapNetworkError(err: unknown, notFoundAs?: () => AwsError): never {
  if (err instanceof NetworkError) {
    if (err.code === 'NotFound' && notFoundAs) throw notFoundAs();
    if (err.code === 'Invalid') throw InvalidParameterValue(err.message);
    if (err.code === 'AlreadyExists') throw new AwsError('RouteAlreadyExists', err.message, { status: 400 });
    if (err.code === 'IncorrectState' || err.code === 'InUse') throw IncorrectState(err.message);
    throw InvalidParameterValue(err.message);
  }
  throw err;
}

// ---------- lookups scoped to the caller's account and region ----------

export function vpnConnection(ctx: Ctx, id: string, live = true): VpnConnection {
  const v = net(ctx).vpnConnections.get(id);
  if (!v || !here(ctx, v) || (live && v.state === 'deleted') || !visible(ctx, id, v.state)) {
    throw notFound('InvalidVpnConnectionID', 'vpnConnection', id);
  }
  return v;
}

export function customerGateway(ctx: Ctx, id: string): CustomerGateway {
  const c = net(ctx).customerGateways.get(id);
  if (!c || !here(ctx, c) || c.state === 'deleted')
    throw notFound('InvalidCustomerGatewayID', 'customerGateway', id);
  return c;
}

export function routeTable(ctx: Ctx, id: string) {
  const r = net(ctx).routeTables.get(id);
  if (!r || !here(ctx, r)) throw notFound('InvalidRouteTableID', 'routeTable', id);
  return r;
}

export function vpnGateway(ctx: Ctx, id: string) {
  const g = net(ctx).vpnGateways.get(id);
  if (!g || !here(ctx, g) || g.state === 'deleted') throw notFound('InvalidVpnGatewayID', 'vpnGateway', id);
  return g;
}

export function tgwRouteTable(ctx: Ctx, id: string) {
  const n = net(ctx);
  const r = n.tgwRouteTables.get(id);
  const tgw = r ? n.transitGateways.get(r.transitGatewayId) : undefined;
  if (!r || !tgw || !here(ctx, tgw)) throw notFound('InvalidRouteTableID', 'transitGatewayRouteTable', id);
  return r;
}

export function tgwAttachment(ctx: Ctx, id: string): TgwAttachment {
  const n = net(ctx);
  const a = n.tgwAttachments.get(id);
  const tgw = a ? n.transitGateways.get(a.transitGatewayId) : undefined;
  if (!a || !tgw || !here(ctx, tgw) || a.state === 'deleted') {
    throw notFound('InvalidTransitGatewayAttachmentID', 'transitGatewayAttachment', id);
  }
  return a;
}

/** The tags record of any resource id (the model's own where it has one); throws for an unknown id. */
export function tagsFor(ctx: Ctx, id: string): Tags {
  const n = net(ctx);
  if (id.startsWith('vpn-')) return vpnConnection(ctx, id, false).tags;
  if (id.startsWith('cgw-')) return customerGateway(ctx, id).tags;
  if (id.startsWith('vgw-')) return vpnGateway(ctx, id).tags;
  if (id.startsWith('vpc-')) {
    const vpc = n.vpcs.get(id);
    if (!vpc || !here(ctx, vpc)) throw notFound('InvalidVpcID', 'vpc', id);
    return vpc.tags;
  }
  if (id.startsWith('tgw-rtb-')) tgwRouteTable(ctx, id);
  else if (id.startsWith('tgw-attach-')) tgwAttachment(ctx, id);
  else if (id.startsWith('rtb-')) routeTable(ctx, id);
  else if (id.startsWith('tgw-')) {
    const tgw = n.transitGateways.get(id);
    if (!tgw || !here(ctx, tgw) || tgw.state === 'deleted')
      throw notFound('InvalidTransitGatewayID', 'transitGateway', id);
    return tgw.tags;
  } else throw new AwsError('InvalidID', `The ID '${id}' is not valid`, { status: 400 });
  const s = side(ctx.world);
  let t = s.tags.get(id);
  if (!t) {
    t = {};
    s.tags.set(id, t);
  }
  return t;
}

export function sideTags(ctx: Ctx, id: string): Tags {
  return side(ctx.world).tags.get(id) ?? {};
}

export function resourceType(id: string): string {
  if (id.startsWith('vpn-')) return 'vpn-connection';
  if (id.startsWith('cgw-')) return 'customer-gateway';
  if (id.startsWith('vgw-')) return 'vpn-gateway';
  if (id.startsWith('vpc-')) return 'vpc';
  if (id.startsWith('rtb-')) return 'route-table';
  if (id.startsWith('tgw-rtb-')) return 'transit-gateway-route-table';
  if (id.startsWith('tgw-attach-')) return 'transit-gateway-attachment';
  return 'transit-gateway';
}
