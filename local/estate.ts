/**
 * The estate (config/local-estate.yaml): what a platform team's accounts and projects already hold
 * before crosslink runs, put into the local cloud at start so link requests can name it. AWS: Direct
 * Connect gateways, each associated with a virtual private gateway on a VPC (the gateway's allowed
 * prefixes are the VPC's CIDRs). Google: network projects beside the hub, wired as a real
 * deployment wires gcp.yml `networkProjects` (docs/gcp-half.md "Network projects"): the project's
 * TransportManager IAM names its service account only, the listed hub identities may impersonate it
 * (roles/iam.serviceAccountTokenCreator), and every function gets CROSSLINK_NETWORK_PROJECTS.
 * Between the two: Google VPC networks, and IPsec VPNs from a gateway's VPC (on its virtual private
 * gateway or on a Transit Gateway attached to that VPC) to a Google network, built as a platform team
 * builds them (local/world/vpn-builder.ts: customer gateway, VPN connection, HA VPN gateway, tunnels,
 * Cloud Router BGP peers).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { parseCidr } from '#core/net/cidr.ts';
import { addDxGateway } from './aws/common/dx-gateways.ts';
import type { World } from './aws/service.ts';
import { associate } from './aws/services/directconnect.ts';
import type { NetworkWorld } from './world/network.ts';
import { buildVpn } from './world/vpn-builder.ts';

export const DEFAULT_ESTATE_FILE = resolve(import.meta.dirname, '..', 'config', 'local-estate.yaml');

export interface EstateDxGateway {
  accountId: string;
  region: string;
  id: string;
  name: string;
  vpcCidrs: string[];
}

export interface EstateNetworkProject {
  project: string;
  serviceAccount: string;
  /** Hub service account ids (gcp.yml `serviceAccount` of functions) that may impersonate it. */
  impersonators: string[];
}

export interface EstateGcpNetwork {
  project: string;
  name: string;
  subnets: { name: string; region: string; ipCidrRange: string }[];
}

export interface EstateVpn {
  name: string;
  /** The Direct Connect gateway (its `id`) whose VPC the VPN's AWS end is on. */
  directConnectGateway: string;
  /** `vpn-gateway` (that VPC's virtual private gateway) or `transit-gateway` (one attached to the VPC). */
  attach: 'vpn-gateway' | 'transit-gateway';
  tags: Record<string, string>;
  gcp: { project: string; region: string; network: string; labels: Record<string, string> };
}

export interface Estate {
  aws: { directConnectGateways: EstateDxGateway[]; vpns: EstateVpn[] };
  gcp: { networkProjects: EstateNetworkProject[]; networks: EstateGcpNetwork[] };
}

export class EstateError extends Error {
  constructor(file: string, issues: string[]) {
    super(`${file}: ${issues.join('; ')}`);
    this.name = 'EstateError';
  }
}

const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const ACCOUNT_EMAIL =
  /^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com$/;
const SA_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DX_ID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

/** Reads and checks an estate file; every problem is one issue naming its field. */
export function loadEstate(file = DEFAULT_ESTATE_FILE): Estate {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new EstateError(file, [(err as Error).message]);
  }
  return checkEstate(doc, file);
}

// biome-ignore lint/suspicious/noExplicitAny: the parsed YAML is checked field by field here.
export function checkEstate(doc: any, file = 'estate'): Estate {
  const issues: string[] = [];
  if (!doc || typeof doc !== 'object') throw new EstateError(file, ['must be a mapping']);
  if (doc.version !== 1) issues.push('version: must be 1');
  const list = (v: unknown, path: string): unknown[] => {
    if (v === undefined || v === null) return [];
    if (Array.isArray(v)) return v;
    issues.push(`${path}: must be a list`);
    return [];
  };
  const gateways: EstateDxGateway[] = [];
  list(doc.aws?.directConnectGateways, 'aws.directConnectGateways').forEach((g, i) => {
    const p = `aws.directConnectGateways[${i}]`;
    // biome-ignore lint/suspicious/noExplicitAny: checked below.
    const e = (g ?? {}) as any;
    if (typeof e.accountId !== 'string' || !/^\d{12}$/.test(e.accountId))
      issues.push(`${p}.accountId: must be 12 digits in quotes`);
    if (typeof e.region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(e.region))
      issues.push(`${p}.region: must be an AWS region such as us-east-1`);
    if (typeof e.id !== 'string' || !DX_ID.test(e.id)) issues.push(`${p}.id: must be a UUID`);
    if (typeof e.name !== 'string' || e.name.length === 0) issues.push(`${p}.name: is required`);
    const cidrs = list(e.vpcCidrs, `${p}.vpcCidrs`);
    if (cidrs.length === 0) issues.push(`${p}.vpcCidrs: needs at least one CIDR`);
    cidrs.forEach((c, j) => {
      try {
        parseCidr(String(c));
      } catch (err) {
        issues.push(`${p}.vpcCidrs[${j}]: ${(err as Error).message}`);
      }
    });
    gateways.push({ ...e, id: String(e.id).toUpperCase(), vpcCidrs: cidrs.map(String) });
  });
  const projects: EstateNetworkProject[] = [];
  const seen = new Set<string>();
  list(doc.gcp?.networkProjects, 'gcp.networkProjects').forEach((n, i) => {
    const p = `gcp.networkProjects[${i}]`;
    // biome-ignore lint/suspicious/noExplicitAny: checked below.
    const e = (n ?? {}) as any;
    if (typeof e.project !== 'string' || !PROJECT.test(e.project))
      issues.push(`${p}.project: must be a project id (6-30 lowercase letters, digits, -)`);
    else if (seen.has(e.project)) issues.push(`${p}.project: ${e.project} is listed twice`);
    seen.add(e.project);
    if (typeof e.serviceAccount !== 'string' || !ACCOUNT_EMAIL.test(e.serviceAccount))
      issues.push(
        `${p}.serviceAccount: must be a service account email (<id>@<project>.iam.gserviceaccount.com)`,
      );
    const imps = list(e.impersonators, `${p}.impersonators`);
    imps.forEach((id, j) => {
      if (typeof id !== 'string' || !SA_ID.test(id))
        issues.push(`${p}.impersonators[${j}]: must be a hub service account id such as crosslink-steps`);
    });
    projects.push({ project: e.project, serviceAccount: e.serviceAccount, impersonators: imps.map(String) });
  });
  const networks: EstateGcpNetwork[] = [];
  list(doc.gcp?.networks, 'gcp.networks').forEach((n, i) => {
    const p = `gcp.networks[${i}]`;
    // biome-ignore lint/suspicious/noExplicitAny: checked below.
    const e = (n ?? {}) as any;
    if (typeof e.project !== 'string' || !PROJECT.test(e.project))
      issues.push(`${p}.project: must be a project id (6-30 lowercase letters, digits, -)`);
    if (typeof e.name !== 'string' || !NAME.test(e.name))
      issues.push(`${p}.name: must be a network name (lowercase letters, digits, -; at most 63)`);
    const subnets = list(e.subnets, `${p}.subnets`);
    if (subnets.length === 0) issues.push(`${p}.subnets: needs at least one subnet`);
    subnets.forEach((sn, j) => {
      // biome-ignore lint/suspicious/noExplicitAny: checked below.
      const x = (sn ?? {}) as any;
      if (typeof x.name !== 'string' || !NAME.test(x.name))
        issues.push(`${p}.subnets[${j}].name: must be a name`);
      if (typeof x.region !== 'string' || !/^[a-z]+-[a-z]+\d$/.test(x.region))
        issues.push(`${p}.subnets[${j}].region: must be a Google region such as us-east4`);
      try {
        parseCidr(String(x.ipCidrRange));
      } catch (err) {
        issues.push(`${p}.subnets[${j}].ipCidrRange: ${(err as Error).message}`);
      }
    });
    networks.push({ project: e.project, name: e.name, subnets: subnets as EstateGcpNetwork['subnets'] });
  });
  const vpns: EstateVpn[] = [];
  list(doc.aws?.vpns, 'aws.vpns').forEach((v, i) => {
    const p = `aws.vpns[${i}]`;
    // biome-ignore lint/suspicious/noExplicitAny: checked below.
    const e = (v ?? {}) as any;
    if (typeof e.name !== 'string' || !NAME.test(e.name))
      issues.push(`${p}.name: must be a name (lowercase letters, digits, -; at most 63)`);
    const gw = String(e.directConnectGateway ?? '').toUpperCase();
    if (!gateways.some((g) => g.id === gw))
      issues.push(`${p}.directConnectGateway: must be the id of one of aws.directConnectGateways`);
    const attach = e.attach ?? 'vpn-gateway';
    if (attach !== 'vpn-gateway' && attach !== 'transit-gateway')
      issues.push(`${p}.attach: must be vpn-gateway or transit-gateway`);
    const tags = e.tags ?? {};
    if (
      typeof tags !== 'object' ||
      Array.isArray(tags) ||
      Object.values(tags).some((t) => typeof t !== 'string')
    )
      issues.push(`${p}.tags: must map keys to strings`);
    const g = e.gcp ?? {};
    if (!networks.some((n) => n.project === g.project && n.name === g.network))
      issues.push(`${p}.gcp: project and network must name one of gcp.networks`);
    else if (typeof g.region !== 'string' || !/^[a-z]+-[a-z]+\d$/.test(g.region))
      issues.push(`${p}.gcp.region: must be a Google region such as us-east4`);
    const labels = g.labels ?? {};
    if (
      typeof labels !== 'object' ||
      Array.isArray(labels) ||
      Object.entries(labels).some(
        ([k, l]) =>
          !/^[a-z][a-z0-9_-]{0,62}$/.test(k) || typeof l !== 'string' || !/^[a-z0-9_-]{0,63}$/.test(l),
      )
    )
      issues.push(
        `${p}.gcp.labels: must map Google label keys to label values (lowercase letters, digits, _ -)`,
      );
    vpns.push({
      name: e.name,
      directConnectGateway: gw,
      attach,
      tags,
      gcp: { project: g.project, region: g.region, network: g.network, labels },
    });
  });
  if (issues.length > 0) throw new EstateError(file, issues);
  return {
    aws: { directConnectGateways: gateways, vpns },
    gcp: { networkProjects: projects, networks },
  };
}

/**
 * The Google side of the estate as local-cloud settings (TransportManager IAM per project, token
 * creator bindings), merged into `settings` in place, and the functions' environment.
 */
export function applyEstateSettings(
  estate: Estate,
  settings: Record<string, unknown>,
  hubProject: string,
): Record<string, string> {
  if (estate.gcp.networkProjects.length === 0) return {};
  const nc = (settings.networkconnectivity ?? {}) as { members?: Record<string, string[]> };
  const iam = (settings.iamcredentials ?? {}) as { bindings?: { member: string; serviceAccount: string }[] };
  const members = { ...nc.members };
  const bindings = [...(iam.bindings ?? [])];
  for (const n of estate.gcp.networkProjects) {
    members[n.project] = [...new Set([...(members[n.project] ?? []), n.serviceAccount])];
    for (const id of n.impersonators)
      bindings.push({
        member: `${id}@${hubProject}.iam.gserviceaccount.com`,
        serviceAccount: n.serviceAccount,
      });
  }
  settings.networkconnectivity = { ...nc, members };
  settings.iamcredentials = { ...iam, bindings };
  return {
    CROSSLINK_NETWORK_PROJECTS: JSON.stringify(
      Object.fromEntries(estate.gcp.networkProjects.map((n) => [n.project, n.serviceAccount])),
    ),
  };
}

/**
 * The network side of the estate: each Direct Connect gateway, a VPC and its associated VGW; the
 * Google networks; the VPNs between them.
 */
export function seedAwsEstate(estate: Estate, world: World, network: NetworkWorld): void {
  const vpcOf = new Map<
    string,
    { vpcId: string; routeTableId: string; vpnGatewayId: string; accountId: string; region: string }
  >();
  const propagating = new Set<string>();
  for (const g of estate.aws.directConnectGateways) {
    addDxGateway(world, g.accountId, { id: g.id, name: g.name });
    const vpc = network.addVpc({ accountId: g.accountId, region: g.region, cidrBlocks: g.vpcCidrs });
    const vgw = network.createVpnGateway({ accountId: g.accountId, region: g.region });
    network.attachVpnGateway(vgw.vpnGatewayId, vpc.vpcId);
    vpcOf.set(g.id, {
      vpcId: vpc.vpcId,
      routeTableId: vpc.mainRouteTableId,
      vpnGatewayId: vgw.vpnGatewayId,
      accountId: g.accountId,
      region: g.region,
    });
    associate(world, {
      accountId: g.accountId,
      dxGatewayId: g.id,
      gatewayId: vgw.vpnGatewayId,
      immediate: true,
    });
  }
  for (const n of estate.gcp.networks) network.addGcpNetwork(n);
  for (const v of estate.aws.vpns) {
    const at = vpcOf.get(v.directConnectGateway);
    if (!at) continue; // checkEstate refuses it
    let transitGatewayId: string | undefined;
    if (v.attach === 'transit-gateway') {
      transitGatewayId = network.createTransitGateway({
        accountId: at.accountId,
        region: at.region,
      }).transitGatewayId;
      network.attachVpcToTransitGateway(transitGatewayId, at.vpcId);
    } else if (!propagating.has(at.vpnGatewayId)) {
      // The VPC learns the VPN's routes from its virtual private gateway, as a VPN on a VGW is set up.
      network.enableVgwRoutePropagation(at.routeTableId, at.vpnGatewayId);
      propagating.add(at.vpnGatewayId);
    }
    buildVpn(network, {
      name: v.name,
      aws: {
        vpcId: at.vpcId,
        tags: v.tags,
        // The VPN's customer gateway is its own: it carries the VPN's tags (crosslink:managed).
        customerGatewayTags: v.tags,
        ...(transitGatewayId ? { transitGatewayId } : { vpnGatewayId: at.vpnGatewayId }),
      },
      gcp: v.gcp,
    });
  }
}
