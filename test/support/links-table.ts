/** The links table as the tests create it on dynalite or the local AWS edge. */
import { CreateTableCommand, type DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { LINK_TABLE_SCHEMA } from '#aws/link-store.ts';

/**
 * Creates a table with the links table's keys and index and waits until it is ACTIVE. A table
 * answers ResourceNotFoundException while it is CREATING, in dynalite as in DynamoDB; dynalite marks
 * it ACTIVE on a timer of its own, which a loaded machine can delay past the caller's next request.
 * The SDK's waiter polls DescribeTable until it is ACTIVE.
 */
export async function createLinksTable(client: DynamoDBClient, TableName: string): Promise<void> {
  await client.send(new CreateTableCommand({ TableName, ...structuredClone(LINK_TABLE_SCHEMA) } as never));
  await waitUntilTableExists({ client, minDelay: 0.05, maxDelay: 0.5, maxWaitTime: 60 }, { TableName });
}
