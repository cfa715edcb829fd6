/** The link store port: the links table in DynamoDB (CROSSLINK_TABLE). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { systemClock } from '#core/clock.ts';
import { need } from '#core/link/settings.ts';
import { DynamoDbLinkStore } from '../link-store.ts';
import { type PortFactory, region } from '../runtime.ts';

export const store: PortFactory<'store'> = (env) =>
  new DynamoDbLinkStore(
    new DynamoDBClient({ region: region(env) }),
    need(env, 'CROSSLINK_TABLE'),
    systemClock,
  );
