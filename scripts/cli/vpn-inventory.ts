/**
 * Reads the VPN planner's inputs from a running local cloud (`crosslink vpn plan` without files):
 * the same calls the standard CLIs make, through the real SDK clients over HTTP, written out in
 * exactly the shapes `importAwsExport` / `importGcpExport` / `importMetricsFile` take
 * (docs/vpn-planner.md, "Input files"). Every list is paged to the end.
 */

import { DirectConnectClient } from '@aws-sdk/client-direct-connect';
import { EC2Client } from '@aws-sdk/client-ec2';
import type { JWT } from 'google-auth-library';
import { readAwsExports } from '#aws/vpn-inventory.ts';
import { readAwsTraffic, readAwsTrafficByRegion } from '#aws/vpn-traffic.ts';
import { ComputeRest } from '#gcp/compute-rest.ts';
import { jwtClient, type ServiceAccountKey } from '#gcp/google-credentials.ts';
import { readGcpExport } from '#gcp/vpn-inventory.ts';
import { UsageError } from './errors.ts';
import type { LocalHandshake } from './target.ts';

export { readAwsTraffic };

export interface AwsAccess {
  endpoint?: string | undefined;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export interface GcpAccess {
  /** Base URL serving `/compute/v1/...` (the local edge). */
  endpoint: string;
  project: string;
  region: string;
  auth: JWT;
}

/**
 * `aws ec2 describe-vpn-connections` ... merged as `jq -s add` would, with `TransitGatewayRoutes`,
 * in each of `regions` (the policy's AWS regions): the multi-region export, each VPN with its
 * `Region` (docs/vpn-planner.md "Regions").
 */
export async function readAwsInventory(
  access: AwsAccess,
  regions: readonly string[],
): Promise<Record<string, unknown>> {
  const made: { ec2: EC2Client; dx: DirectConnectClient }[] = [];
  try {
    return await readAwsExports(regions, (region) => {
      const c = {
        ec2: new EC2Client({ ...access, region }),
        dx: new DirectConnectClient({ ...access, region }),
      };
      made.push(c);
      return c;
    });
  } finally {
    for (const c of made) {
      c.ec2.destroy();
      c.dx.destroy();
    }
  }
}

/**
 * `{vpnTunnels, routers, routerStatus, externalVpnGateways}` as gcloud's JSON: tunnels of every
 * region (aggregated list), routers of the regions holding tunnels (and the handshake's region),
 * `getRouterStatus` per router.
 */
export async function readGcpInventory(access: GcpAccess): Promise<Record<string, unknown>> {
  const compute = new ComputeRest({ authFor: () => access.auth, endpoint: access.endpoint });
  return readGcpExport(compute, [access.project], [access.region]);
}

/** What `crosslink vpn plan` reads from the local cloud when given no files. */
export interface LiveInputs {
  aws: unknown;
  gcp: unknown;
  metrics: unknown;
  /** The local cloud's clock (its time, manual or scaled), or `at` when given. */
  now: number;
}

export interface LiveSource {
  /** Where the inputs come from, for messages (e.g. "local cloud (aws)"). */
  label: string;
  read(at: number | undefined, idleWindowMs: number): Promise<LiveInputs>;
}

/** The local cloud of `local` (a handshake), signing as `who` with the Google key file `keyFile`. */
export function localCloudSource(
  local: LocalHandshake,
  who: { aws: AwsAccess['credentials']; gcpKey: ServiceAccountKey },
  awsRegions: readonly string[],
): LiveSource {
  return {
    label: 'local cloud',
    async read(at, idleWindowMs) {
      if (!local.aws || !local.gcp)
        throw new UsageError('the local cloud runs without its AWS or Google edge');
      let now = at;
      if (now === undefined) {
        if (!local.admin) throw new UsageError('the local cloud has no admin API: cannot read its clock');
        const res = await fetch(`${local.admin}/clock`);
        now = Date.parse(((await res.json()) as { now: string }).now);
      }
      const aws: AwsAccess = { endpoint: local.aws.endpoint, region: local.aws.region, credentials: who.aws };
      const awsInventory = await readAwsInventory(aws, awsRegions);
      const vpns = (
        (awsInventory.VpnConnections as { VpnConnectionId?: string; State?: string; Region?: string }[]) ?? []
      )
        .filter((v) => v.VpnConnectionId && v.Region && v.State !== 'deleted')
        .map((v) => ({ vpnConnectionId: v.VpnConnectionId as string, region: v.Region as string }));
      const gcp = await readGcpInventory({
        endpoint: local.gcp.endpoint,
        project: local.gcp.project,
        region: local.gcp.region,
        auth: jwtClient(who.gcpKey),
      });
      const metrics = await readAwsTrafficByRegion(aws, vpns, now, idleWindowMs);
      return { aws: awsInventory, gcp, metrics, now };
    },
  };
}
