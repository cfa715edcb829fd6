/**
 * CloudTrail management events on EventBridge: other simulated services report their mutating
 * calls here, and each becomes an \`AWS API Call via CloudTrail\` event on the default bus of the
 * caller's account and region, as CloudTrail delivers them.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../credentials.ts';
import type { World } from '../service.ts';
import { putEventsFor } from './put-events.ts';

/**
 * Reports a simulated mutating call as CloudTrail does: an `AWS API Call via CloudTrail` event on
 * the default bus of the caller's account and region, source `aws.<service>`. Call it after the
 * call succeeded, e.g. from the edge:
 *
 *     emitCloudTrailEvent(ctx.world, { service: 'interconnect', eventName: 'CreateConnection',
 *       principal: ctx.principal, region: ctx.region, requestParameters: input, responseElements: out });
 */
export function emitCloudTrailEvent(
  world: World,
  call: {
    service: string;
    eventName: string;
    principal: Principal;
    region: string;
    requestParameters?: unknown;
    responseElements?: unknown;
    requestId?: string;
  },
): Promise<unknown> {
  const now = new Date(world.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const p = call.principal;
  const type = p.arn.includes(':assumed-role/')
    ? 'AssumedRole'
    : p.arn.endsWith(':root')
      ? 'Root'
      : p.arn.includes(':role/')
        ? 'AssumedRole'
        : 'IAMUser';
  const detail = {
    eventVersion: '1.09',
    userIdentity: {
      type,
      principalId: p.accessKeyId,
      arn: p.arn,
      accountId: p.accountId,
      accessKeyId: p.accessKeyId,
    },
    eventTime: now,
    eventSource: `${call.service}.amazonaws.com`,
    eventName: call.eventName,
    awsRegion: call.region,
    sourceIPAddress: '127.0.0.1',
    userAgent: 'crosslink-local',
    requestParameters: call.requestParameters ?? null,
    responseElements: call.responseElements ?? null,
    requestID: call.requestId ?? randomUUID(),
    eventID: randomUUID(),
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: p.accountId,
    eventCategory: 'Management',
  };
  return putEventsFor(world, p.accountId, call.region, [
    {
      Source: `aws.${call.service}`,
      DetailType: 'AWS API Call via CloudTrail',
      Detail: JSON.stringify(detail),
    },
  ]);
}
