/** A dynalite server (the engine behind the local AWS edge's DynamoDB) on a free port, for store contracts. */
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
// @ts-expect-error dynalite ships no types
import dynalite from 'dynalite';
import { afterAll, beforeAll } from 'vitest';
import { createLinksTable } from './links-table.ts';

export interface Dynalite {
  client: DynamoDBClient;
  /** A new table with the links table's keys and index, once it is ACTIVE. */
  table(): Promise<string>;
  stop(): Promise<void>;
}

export async function startDynalite(prefix = 'links'): Promise<Dynalite> {
  const server: {
    listen(port: number, host: string, cb: () => void): void;
    close(cb: () => void): void;
    address(): AddressInfo;
  } = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${server.address().port}`,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  let tables = 0;
  return {
    client,
    async table() {
      const TableName = `${prefix}-${++tables}`;
      await createLinksTable(client, TableName);
      return TableName;
    },
    async stop() {
      client.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The file's dynalite through its beforeAll / afterAll; `client` and `linksTable` valid once it ran. */
export function useDynalite(): { client: DynamoDBClient; linksTable(): Promise<string> } {
  let db: Dynalite | undefined;
  const handle = {
    client: undefined as unknown as DynamoDBClient,
    linksTable: () => (db as Dynalite).table(),
  };
  beforeAll(async () => {
    db = await startDynalite();
    handle.client = db.client;
  });
  afterAll(async () => {
    await db?.stop();
  });
  return handle;
}
