/**
 * This account's VPN inventory as the AWS CLI exports it (docs/vpn-planner.md, "Input files"), read
 * through the real EC2 client: `describe-vpn-connections`, `describe-customer-gateways`,
 * `describe-route-tables`, `describe-transit-gateway-attachments`,
 * `describe-transit-gateway-route-tables` merged as `jq -s add` would, with `TransitGatewayRoutes`
 * (each route table's active routes). What `importAwsExport` reads; the VPN run's coordinator and
 * `crosslink vpn plan` without files read it. Every list is paged to the end.
 */
import {
  DescribeCustomerGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeTransitGatewayAttachmentsCommand,
  DescribeTransitGatewayRouteTablesCommand,
  DescribeVpnConnectionsCommand,
  type EC2Client,
  SearchTransitGatewayRoutesCommand,
} from '@aws-sdk/client-ec2';

/** What the CLI prints: the output object without `$metadata`, dates as ISO strings. */
const exported = (out: object): Record<string, unknown> => {
  const { $metadata: _, ...rest } = out as { $metadata?: unknown };
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
};

/** Pages an EC2 describe call by NextToken, concatenating `key`. */
async function paged<T>(
  key: string,
  call: (token: string | undefined) => Promise<{ NextToken?: string | undefined } & object>,
): Promise<T[]> {
  const all: T[] = [];
  let token: string | undefined;
  do {
    const page = exported(await call(token));
    all.push(...((page[key] as T[] | undefined) ?? []));
    token = page.NextToken as string | undefined;
  } while (token);
  return all;
}

/** `aws ec2 describe-vpn-connections` ... merged as `jq -s add` would, with `TransitGatewayRoutes`. */
export async function readAwsExport(ec2: EC2Client): Promise<Record<string, unknown>> {
  const vpn = exported(await ec2.send(new DescribeVpnConnectionsCommand({})));
  const cgw = exported(await ec2.send(new DescribeCustomerGatewaysCommand({})));
  const RouteTables = await paged('RouteTables', (NextToken) =>
    ec2.send(new DescribeRouteTablesCommand({ NextToken })),
  );
  const TransitGatewayAttachments = await paged('TransitGatewayAttachments', (NextToken) =>
    ec2.send(new DescribeTransitGatewayAttachmentsCommand({ NextToken })),
  );
  const TransitGatewayRouteTables = await paged<{ TransitGatewayRouteTableId?: string }>(
    'TransitGatewayRouteTables',
    (NextToken) => ec2.send(new DescribeTransitGatewayRouteTablesCommand({ NextToken })),
  );
  const TransitGatewayRoutes: Record<string, unknown> = {};
  for (const t of TransitGatewayRouteTables) {
    const id = t.TransitGatewayRouteTableId;
    if (!id) continue;
    TransitGatewayRoutes[id] = exported(
      await ec2.send(
        new SearchTransitGatewayRoutesCommand({
          TransitGatewayRouteTableId: id,
          Filters: [{ Name: 'state', Values: ['active'] }],
        }),
      ),
    );
  }
  return {
    VpnConnections: vpn.VpnConnections ?? [],
    CustomerGateways: cgw.CustomerGateways ?? [],
    RouteTables,
    TransitGatewayAttachments,
    TransitGatewayRouteTables,
    TransitGatewayRoutes,
  };
}
