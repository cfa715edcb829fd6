/**
 * Reads the AWS side from the EC2 CLI's own JSON: one object holding the top-level keys of
 * `describe-vpn-connections` (VpnConnections), and optionally `describe-customer-gateways`
 * (CustomerGateways), `describe-route-tables` (RouteTables), `describe-transit-gateway-attachments`
 * (TransitGatewayAttachments), `describe-transit-gateway-route-tables` (TransitGatewayRouteTables) and
 * `TransitGatewayRoutes`: `{<tgw-rtb id>: <search-transit-gateway-routes output>}`. Merging the files
 * with `jq -s add` gives this object, since their top-level keys differ.
 *
 * Regions (docs/vpn-planner.md "Regions"): EC2 is regional and its output names no region, so the
 * export says where each VPN is. A single-region export (one region's describes, as pasted) names
 * its region once, top-level `Region`. A multi-region export (crosslink's inventory reads every AWS
 * region of the policy) is every region's lists concatenated (ids are unique across regions), each
 * `VpnConnections[i]` carrying its own `Region`, with `Regions` (the regions read) and
 * `RegionsMissing` (`[{Region, Reason}]`, the regions that did not answer: their VPNs are absent).
 */
import type { Cidr } from '../net/cidr.ts';
import { AWS_REGION } from './half.ts';
import type { AwsTunnel, AwsVpnHalf } from './model.ts';
import { type Json, Reader, readAwsTags } from './read.ts';

export interface AwsTgwRoute {
  readonly transitGatewayId: string;
  readonly routeTableId: string;
  readonly prefix: Cidr;
  readonly attachments: readonly { readonly resourceType: string; readonly resourceId: string }[];
}

/** An AWS region the export could not read, and why. */
export interface MissingRegion {
  readonly region: string;
  readonly reason: string;
}

export interface AwsExport {
  readonly vpnConnections: readonly AwsVpnHalf[];
  /** The regions read (`Regions`, or the single-region export's `Region`), sorted. */
  readonly regions: readonly string[];
  /** The regions that did not answer (`RegionsMissing`): what is there is not in the export. */
  readonly missingRegions: readonly MissingRegion[];
  /** Static routes of static VPNs (prefixes on the Google side). */
  readonly staticRoutes: ReadonlyMap<string, readonly Cidr[]>;
  readonly customerGateways: readonly string[];
  /** VGW id -> VPC ids whose route tables it propagates into (for display). */
  readonly vgwVpcs: ReadonlyMap<string, readonly string[]>;
  readonly tgwRoutes: readonly AwsTgwRoute[];
  readonly observedTransitGateways: readonly string[];
}

const GONE = new Set(['deleted', 'deleting']);

function region(r: Reader, v: unknown, path: string): string | undefined {
  const s = r.string(v, path);
  if (s && !AWS_REGION.test(s)) return r.fail(path, `must be an AWS region such as us-east-1, got "${s}"`);
  return s;
}

/** `Regions`, `Region` and `RegionsMissing` of the export's top level. */
function readRegions(
  r: Reader,
  top: Json,
): { exportRegion: string | undefined; regions: string[]; missing: MissingRegion[] } {
  const exportRegion = top.Region === undefined ? undefined : region(r, top.Region, 'Region');
  const regions = new Set<string>(exportRegion ? [exportRegion] : []);
  for (const [i, v] of (r.array(top.Regions, 'Regions', true) ?? []).entries()) {
    const got = region(r, v, `Regions[${i}]`);
    if (got) regions.add(got);
  }
  const missing: MissingRegion[] = [];
  for (const [i, m] of (r.array(top.RegionsMissing, 'RegionsMissing', true) ?? []).entries()) {
    const o = r.object(m, `RegionsMissing[${i}]`);
    const got = o && region(r, o.Region, `RegionsMissing[${i}].Region`);
    const reason = o && r.string(o.Reason, `RegionsMissing[${i}].Reason`);
    if (got && reason) missing.push({ region: got, reason });
  }
  return {
    exportRegion,
    regions: [...regions].sort(),
    missing: missing.sort((a, b) => a.region.localeCompare(b.region)),
  };
}

/** Which Transit Gateway attachment carries which VPN: VPN connection id -> attachment id. */
function readVpnAttachments(r: Reader, top: Json): Map<string, string> {
  const vpnAttachment = new Map<string, string>();
  for (const [i, a] of (
    r.array(top.TransitGatewayAttachments, 'TransitGatewayAttachments', true) ?? []
  ).entries()) {
    const p = `TransitGatewayAttachments[${i}]`;
    const o = r.object(a, p);
    if (!o) continue;
    const id = r.string(o.TransitGatewayAttachmentId, `${p}.TransitGatewayAttachmentId`);
    const type = r.string(o.ResourceType, `${p}.ResourceType`);
    const res = r.string(o.ResourceId, `${p}.ResourceId`);
    if (id && type === 'vpn' && res) vpnAttachment.set(res, id);
  }
  return vpnAttachment;
}

/** Each Transit Gateway route table's gateway: route table id -> transit gateway id. */
function readRouteTableGateways(r: Reader, top: Json): Map<string, string> {
  const rtbGateway = new Map<string, string>();
  for (const [i, t] of (
    r.array(top.TransitGatewayRouteTables, 'TransitGatewayRouteTables', true) ?? []
  ).entries()) {
    const p = `TransitGatewayRouteTables[${i}]`;
    const o = r.object(t, p);
    if (!o) continue;
    const rtb = r.string(o.TransitGatewayRouteTableId, `${p}.TransitGatewayRouteTableId`);
    const tgw = r.string(o.TransitGatewayId, `${p}.TransitGatewayId`);
    if (rtb && tgw) rtbGateway.set(rtb, tgw);
  }
  return rtbGateway;
}

/**
 * A VPN's tunnels by outside IP: its telemetry (status, last change, accepted routes), then any
 * tunnel only its options name (no telemetry yet: DOWN), sorted by IP.
 */
function readTunnels(r: Reader, o: Json, options: Json, p: string): AwsTunnel[] {
  const tunnels = new Map<string, AwsTunnel>();
  for (const [j, t] of (r.array(o.VgwTelemetry, `${p}.VgwTelemetry`, true) ?? []).entries()) {
    const tp = `${p}.VgwTelemetry[${j}]`;
    const to = r.object(t, tp);
    if (!to) continue;
    const ip = r.string(to.OutsideIpAddress, `${tp}.OutsideIpAddress`);
    const status = r.string(to.Status, `${tp}.Status`);
    if (status !== undefined && status !== 'UP' && status !== 'DOWN')
      r.fail(`${tp}.Status`, 'expected UP or DOWN');
    const changed =
      to.LastStatusChange === undefined ? undefined : r.time(to.LastStatusChange, `${tp}.LastStatusChange`);
    const accepted =
      to.AcceptedRouteCount === undefined
        ? 0
        : (r.number(to.AcceptedRouteCount, `${tp}.AcceptedRouteCount`) ?? 0);
    if (ip)
      tunnels.set(ip, {
        outsideIp: ip,
        status: status === 'UP' ? 'UP' : 'DOWN',
        lastStatusChange: changed,
        acceptedRouteCount: accepted,
      });
  }
  for (const [j, t] of (r.array(options.TunnelOptions, `${p}.Options.TunnelOptions`, true) ?? []).entries()) {
    const to = r.object(t, `${p}.Options.TunnelOptions[${j}]`);
    const ip = to && r.string(to.OutsideIpAddress, `${p}.Options.TunnelOptions[${j}].OutsideIpAddress`);
    if (ip && !tunnels.has(ip))
      tunnels.set(ip, {
        outsideIp: ip,
        status: 'DOWN',
        lastStatusChange: undefined,
        acceptedRouteCount: 0,
      });
  }
  return [...tunnels.values()].sort((a, b) => a.outsideIp.localeCompare(b.outsideIp));
}

/** A static VPN's routes still in place (not deleted or being deleted). */
function readStaticRoutes(r: Reader, o: Json, p: string): Cidr[] {
  const routes: Cidr[] = [];
  for (const [j, rt] of (r.array(o.Routes, `${p}.Routes`, true) ?? []).entries()) {
    const ro = r.object(rt, `${p}.Routes[${j}]`);
    if (!ro) continue;
    const c = r.cidr(ro.DestinationCidrBlock, `${p}.Routes[${j}].DestinationCidrBlock`);
    if (c && ro.State !== 'deleted' && ro.State !== 'deleting') routes.push(c);
  }
  return routes;
}

/**
 * One entry of `VpnConnections`, with its static routes; undefined when a field it needs is bad
 * (the reader has the reason) or the VPN is gone.
 */
function readVpnConnection(
  r: Reader,
  v: unknown,
  p: string,
  vpnAttachment: ReadonlyMap<string, string>,
  exportRegion: string | undefined,
): { half: AwsVpnHalf; routes: Cidr[] } | undefined {
  const o = r.object(v, p);
  if (!o) return undefined;
  const id = r.string(o.VpnConnectionId, `${p}.VpnConnectionId`);
  const own = o.Region === undefined ? undefined : region(r, o.Region, `${p}.Region`);
  if (own && exportRegion && own !== exportRegion)
    r.fail(`${p}.Region`, `is ${own} in an export of ${exportRegion} (top-level Region)`);
  const state = r.string(o.State, `${p}.State`);
  const cgw = r.string(o.CustomerGatewayId, `${p}.CustomerGatewayId`);
  const vgw = r.optionalString(o.VpnGatewayId, `${p}.VpnGatewayId`);
  const tgw = r.optionalString(o.TransitGatewayId, `${p}.TransitGatewayId`);
  if (!vgw && !tgw) r.fail(p, 'has neither VpnGatewayId nor TransitGatewayId');
  const options = o.Options === undefined ? {} : (r.object(o.Options, `${p}.Options`) ?? {});
  const staticOnly = r.boolean(options.StaticRoutesOnly, `${p}.Options.StaticRoutesOnly`, false);
  const tunnels = readTunnels(r, o, options, p);
  const routes = readStaticRoutes(r, o, p);
  const tags = readAwsTags(r, o.Tags, `${p}.Tags`);
  if (!id || !state || !cgw || (!vgw && !tgw) || GONE.has(state)) return undefined;
  return {
    half: {
      vpnConnectionId: id,
      region: own ?? exportRegion,
      state,
      gateway: tgw ? { kind: 'tgw', id: tgw } : { kind: 'vgw', id: vgw as string },
      transitGatewayAttachmentId: vpnAttachment.get(id),
      customerGatewayId: cgw,
      staticRoutesOnly: staticOnly,
      tunnels,
      tags,
    },
    routes,
  };
}

/** The customer gateways still there (not deleted), sorted. */
function readCustomerGateways(r: Reader, top: Json): string[] {
  const customerGateways: string[] = [];
  for (const [i, c] of (r.array(top.CustomerGateways, 'CustomerGateways', true) ?? []).entries()) {
    const o = r.object(c, `CustomerGateways[${i}]`);
    const id = o && r.string(o.CustomerGatewayId, `CustomerGateways[${i}].CustomerGatewayId`);
    if (id && o?.State !== 'deleted') customerGateways.push(id);
  }
  return customerGateways.sort();
}

/** VGW id -> the VPCs whose route tables it propagates into, sorted. */
function readVgwVpcs(r: Reader, top: Json): Map<string, string[]> {
  const vgwVpcs = new Map<string, string[]>();
  for (const [i, t] of (r.array(top.RouteTables, 'RouteTables', true) ?? []).entries()) {
    const p = `RouteTables[${i}]`;
    const o = r.object(t, p);
    if (!o) continue;
    const vpc = r.string(o.VpcId, `${p}.VpcId`);
    for (const [j, g] of (r.array(o.PropagatingVgws, `${p}.PropagatingVgws`, true) ?? []).entries()) {
      const go = r.object(g, `${p}.PropagatingVgws[${j}]`);
      const gw = go && r.string(go.GatewayId, `${p}.PropagatingVgws[${j}].GatewayId`);
      if (gw && vpc) {
        const list = vgwVpcs.get(gw) ?? [];
        if (!list.includes(vpc)) list.push(vpc);
        vgwVpcs.set(gw, list.sort());
      }
    }
  }
  return vgwVpcs;
}

/** The attachments one Transit Gateway route sends to. */
function readRouteAttachments(
  r: Reader,
  ro: Json,
  rp: string,
): { resourceType: string; resourceId: string }[] {
  const attachments: { resourceType: string; resourceId: string }[] = [];
  for (const [k, a] of (
    r.array(ro.TransitGatewayAttachments, `${rp}.TransitGatewayAttachments`, true) ?? []
  ).entries()) {
    const ao = r.object(a, `${rp}.TransitGatewayAttachments[${k}]`);
    if (!ao) continue;
    const resourceType = r.string(ao.ResourceType, `${rp}.TransitGatewayAttachments[${k}].ResourceType`);
    const resourceId = r.string(ao.ResourceId, `${rp}.TransitGatewayAttachments[${k}].ResourceId`);
    if (resourceType && resourceId) attachments.push({ resourceType, resourceId });
  }
  return attachments;
}

/**
 * The routes of each exported Transit Gateway route table (blackholes left out), and the gateways
 * whose routes were exported at all.
 */
function readTgwRoutes(
  r: Reader,
  top: Json,
  rtbGateway: ReadonlyMap<string, string>,
): { tgwRoutes: AwsTgwRoute[]; observed: string[] } {
  const tgwRoutes: AwsTgwRoute[] = [];
  const observed = new Set<string>();
  const byTable =
    top.TransitGatewayRoutes === undefined
      ? {}
      : (r.object(top.TransitGatewayRoutes, 'TransitGatewayRoutes') ?? {});
  for (const [rtb, out] of Object.entries(byTable)) {
    const p = `TransitGatewayRoutes.${rtb}`;
    const tgw = rtbGateway.get(rtb);
    if (!tgw) {
      r.fail(
        p,
        'route table not in TransitGatewayRouteTables (export describe-transit-gateway-route-tables)',
      );
      continue;
    }
    observed.add(tgw);
    const o = r.object(out, p);
    for (const [j, rt] of (r.array(o?.Routes, `${p}.Routes`) ?? []).entries()) {
      const rp = `${p}.Routes[${j}]`;
      const ro = r.object(rt, rp);
      if (!ro) continue;
      const prefix = r.cidr(ro.DestinationCidrBlock, `${rp}.DestinationCidrBlock`);
      if (ro.State === 'blackhole') continue;
      const attachments = readRouteAttachments(r, ro, rp);
      if (prefix) tgwRoutes.push({ transitGatewayId: tgw, routeTableId: rtb, prefix, attachments });
    }
  }
  return { tgwRoutes, observed: [...observed].sort() };
}

export function importAwsExport(input: unknown): AwsExport {
  const r = new Reader();
  const root = r.object(input, '');
  if (!root) r.done('AWS export');
  const top = root as Json;
  if (top.VpnConnections === undefined)
    r.fail('VpnConnections', 'missing: export `aws ec2 describe-vpn-connections --output json`');

  const { exportRegion, regions, missing } = readRegions(r, top);
  const vpnAttachment = readVpnAttachments(r, top);
  const rtbGateway = readRouteTableGateways(r, top);
  const vpnConnections: AwsVpnHalf[] = [];
  const staticRoutes = new Map<string, Cidr[]>();
  for (const [i, v] of (r.array(top.VpnConnections, 'VpnConnections') ?? []).entries()) {
    const read = readVpnConnection(r, v, `VpnConnections[${i}]`, vpnAttachment, exportRegion);
    if (!read) continue;
    vpnConnections.push(read.half);
    staticRoutes.set(read.half.vpnConnectionId, read.routes);
  }
  const customerGateways = readCustomerGateways(r, top);
  const vgwVpcs = readVgwVpcs(r, top);
  const { tgwRoutes, observed } = readTgwRoutes(r, top, rtbGateway);

  r.done('AWS export');
  return {
    vpnConnections: vpnConnections.sort((a, b) => a.vpnConnectionId.localeCompare(b.vpnConnectionId)),
    regions: [
      ...new Set([...regions, ...vpnConnections.flatMap((v) => (v.region ? [v.region] : []))]),
    ].sort(),
    missingRegions: missing,
    staticRoutes,
    customerGateways,
    vgwVpcs,
    tgwRoutes,
    observedTransitGateways: observed,
  };
}
