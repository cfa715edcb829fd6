/**
 * The DynamoDB store against dynalite (the engine #3b puts behind the local AWS edge), run through
 * the same contract as the in-memory store. Each test gets its own table.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
// @ts-expect-error dynalite ships no types
import dynalite from 'dynalite';
import { afterAll, beforeAll } from 'vitest';
import { DynamoDbLinkStore, LINK_TABLE_SCHEMA } from '#aws/link-store.ts';
import { ManualClock } from '#core/clock.ts';
import { linkStoreContract } from '../support/link-store-contract.ts';

let server: {
  listen(port: number, host: string, cb: () => void): void;
  close(cb: () => void): void;
  address(): AddressInfo;
};
let client: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${server.address().port}`,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});
afterAll(async () => {
  client?.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

linkStoreContract('DynamoDB (dynalite)', async () => {
  const clock = new ManualClock(Date.parse('2026-06-01T00:00:00Z'));
  const TableName = `links-${++tables}`;
  await client.send(new CreateTableCommand({ TableName, ...structuredClone(LINK_TABLE_SCHEMA) } as never));
  return { store: new DynamoDbLinkStore(client, TableName, clock), clock };
});
