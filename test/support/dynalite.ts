/**
 * dynalite (the engine behind the local AWS edge's DynamoDB) on a loopback port for the tests of one
 * file, with a client for it and a fresh links table per call of `linksTable`.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
// @ts-expect-error dynalite ships no types
import dynalite from 'dynalite';
import { afterAll, beforeAll } from 'vitest';
import { LINK_TABLE_SCHEMA } from '#aws/dynamodb-link-store.ts';

export interface Dynalite {
  /** Valid once the file's beforeAll has run. */
  client: DynamoDBClient;
  /** Creates a table with the links table's schema; returns its name. */
  linksTable(): Promise<string>;
}

/** Registers the file's beforeAll / afterAll that start and stop dynalite. */
export function useDynalite(): Dynalite {
  let server: {
    listen(p: number, h: string, cb: () => void): void;
    close(cb: () => void): void;
    address(): AddressInfo;
  };
  let tables = 0;
  const handle = {
    client: undefined as unknown as DynamoDBClient,
    async linksTable() {
      const TableName = `links-${++tables}`;
      await handle.client.send(
        new CreateTableCommand({ TableName, ...structuredClone(LINK_TABLE_SCHEMA) } as never),
      );
      return TableName;
    },
  };
  beforeAll(async () => {
    server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    handle.client = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${server.address().port}`,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });
  afterAll(async () => {
    handle.client?.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return handle;
}
