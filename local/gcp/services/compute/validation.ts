/**
 * The input of `routers.patch`: interfaces and BGP peers read from the request body, each refusal
 * naming its field as compute does. Kept apart from the routes as the one request body compute
 * parses field by field.
 */
import type { RouterBgpPeer, RouterInterface } from '#local/world/network.ts';
import { invalidArgument } from '../../errors.ts';
import { lastSegment } from './model.ts';

export function parseInterfaces(v: unknown): RouterInterface[] {
  if (!Array.isArray(v)) throw invalidArgument('interfaces must be a list', 'interfaces');
  return v.map((i: Record<string, unknown>, n) => {
    if (typeof i.name !== 'string')
      throw invalidArgument(`interfaces[${n}].name is required`, `interfaces[${n}].name`);
    return {
      name: i.name,
      ...(typeof i.linkedVpnTunnel === 'string' ? { linkedVpnTunnel: lastSegment(i.linkedVpnTunnel) } : {}),
      ...(typeof i.ipRange === 'string' ? { ipRange: i.ipRange } : {}),
    };
  });
}

export function parsePeers(v: unknown): RouterBgpPeer[] {
  if (!Array.isArray(v)) throw invalidArgument('bgpPeers must be a list', 'bgpPeers');
  return v.map((p: Record<string, unknown>, n) => {
    const at = `bgpPeers[${n}]`;
    if (typeof p.name !== 'string') throw invalidArgument(`${at}.name is required`, `${at}.name`);
    if (typeof p.interfaceName !== 'string')
      throw invalidArgument(`${at}.interfaceName is required`, `${at}.interfaceName`);
    const asn = Number(p.peerAsn);
    if (!Number.isInteger(asn) || asn <= 0)
      throw invalidArgument(`${at}.peerAsn must be an ASN`, `${at}.peerAsn`);
    if (p.enable !== undefined && p.enable !== 'TRUE' && p.enable !== 'FALSE')
      throw invalidArgument(
        `Invalid value for field '${at}.enable': '${String(p.enable)}'. Expected TRUE or FALSE.`,
        `${at}.enable`,
      );
    return {
      name: p.name,
      interfaceName: p.interfaceName,
      peerAsn: asn,
      ...(typeof p.ipAddress === 'string' ? { ipAddress: p.ipAddress } : {}),
      ...(typeof p.peerIpAddress === 'string' ? { peerIpAddress: p.peerIpAddress } : {}),
      ...(p.enable ? { enable: p.enable as 'TRUE' | 'FALSE' } : {}),
      ...(p.advertisedRoutePriority !== undefined
        ? { advertisedRoutePriority: Number(p.advertisedRoutePriority) }
        : {}),
      ...(p.advertiseMode === 'CUSTOM' || p.advertiseMode === 'DEFAULT'
        ? { advertiseMode: p.advertiseMode }
        : {}),
      ...(Array.isArray(p.advertisedGroups) ? { advertisedGroups: p.advertisedGroups as string[] } : {}),
      ...(Array.isArray(p.advertisedIpRanges)
        ? { advertisedIpRanges: p.advertisedIpRanges as Array<{ range: string; description?: string }> }
        : {}),
    };
  });
}
