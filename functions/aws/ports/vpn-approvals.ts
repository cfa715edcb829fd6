/**
 * The VPN delete approvals port: the links table's `VPNRUN#` items (functions/aws/vpn-approvals.ts);
 * recording an approval answers the waiting vpn-half execution's token through the tokens port.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { systemClock } from '#core/clock.ts';
import { need } from '#core/link/settings.ts';
import { type PortFactory, region } from '../runtime.ts';
import { DynamoDbVpnApprovals } from '../vpn-approvals.ts';

export const vpnApprovals: PortFactory<'vpnApprovals'> = (env, deps) =>
  new DynamoDbVpnApprovals(new DynamoDBClient({ region: region(env) }), need(env, 'CROSSLINK_TABLE'), {
    clock: systemClock,
    resume: (token, output) => deps.tokens.success(token, output),
  });
