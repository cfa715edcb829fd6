/**
 * stacks/esbuild-plugins.cjs registers a client's service errors with the operations that throw
 * them, and only those the bundled code imports (or the SDK marks retryable): a bundle keeps the
 * error classes its code can tell apart by class. Bundled as the packaging bundles (the same
 * plugins), a DynamoDB client sending GetItem to a server that answers with an error throws what
 * the unbundled client throws: an error the code imports as its class, and any other code as the
 * service's base exception with that code as its name and the answer's message.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const plugins = createRequire(import.meta.url)('../../stacks/esbuild-plugins.cjs') as Plugin[];
const dir = mkdtempSync(join(tmpdir(), 'crosslink-sdk-errors-'));
let server: Server;
let endpoint: string;
/** The error type the server answers with next. */
let errorType = '';

type Sent = (
  endpoint: string,
) => Promise<{ name: string; message: string; isOwnClass: boolean; isBase: boolean }>;
let bundled: { send: Sent; code: string };

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(
        JSON.stringify({
          __type: `com.amazonaws.dynamodb.v20120810#${errorType}`,
          message: `${errorType} here`,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const entry = join(dir, 'entry.mjs');
  writeFileSync(
    entry,
    `import { DynamoDBClient, GetItemCommand, ResourceNotFoundException, DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
export async function send(endpoint) {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
  try { await client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } })); } catch (e) {
    return { name: e.name, message: e.message, isOwnClass: e instanceof ResourceNotFoundException, isBase: e instanceof DynamoDBServiceException };
  }
  throw new Error('no error');
}`,
  );
  const outfile = join(dir, 'out.mjs');
  await build({
    entryPoints: [entry],
    nodePaths: [join(import.meta.dirname, '../../node_modules')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    mainFields: ['module', 'main'],
    outfile,
    plugins,
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
  bundled = {
    send: (await import(pathToFileURL(outfile).href)).send as Sent,
    code: readFileSync(outfile, 'utf8'),
  };
}, 60_000);

afterAll(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('service errors registered by the operations that throw them', () => {
  it('throws an error GetItem documents as its own class (ResourceNotFoundException)', async () => {
    errorType = 'ResourceNotFoundException';
    expect(await bundled.send(endpoint)).toEqual({
      name: 'ResourceNotFoundException',
      message: 'ResourceNotFoundException here',
      isOwnClass: true,
      isBase: true,
    });
  });

  it('throws an error GetItem documents that the code does not import as the base exception, named by its code', async () => {
    errorType = 'InvalidEndpointException';
    expect(await bundled.send(endpoint)).toEqual({
      name: 'InvalidEndpointException',
      message: 'InvalidEndpointException here',
      isOwnClass: false,
      isBase: true,
    });
    expect(bundled.code).not.toContain('"InvalidEndpointException"');
  });

  it('throws an error of an operation the bundle never sends as the base exception, named by its code', async () => {
    errorType = 'BackupInUseException';
    expect(await bundled.send(endpoint)).toEqual({
      name: 'BackupInUseException',
      message: 'BackupInUseException here',
      isOwnClass: false,
      isBase: true,
    });
  });

  it('leaves out the error classes of operations the bundle never sends', () => {
    // GetItem throws ResourceNotFoundException; no operation it reaches throws these.
    expect(bundled.code).toContain('"ResourceNotFoundException"');
    for (const name of [
      'BackupInUseException',
      'TableAlreadyExistsException',
      'TransactionCanceledException',
    ])
      expect(bundled.code).not.toContain(`"${name}"`);
  });
});

describe('client imports the plugin cannot read', () => {
  it.each([
    ["import * as ddb from '@aws-sdk/client-dynamodb'; export const c = ddb.DynamoDBClient;"],
    ["export { ResourceNotFoundException } from '@aws-sdk/client-dynamodb';"],
    ["export const load = () => import('@aws-sdk/client-dynamodb');"],
  ])('fail the build, naming the module and the import: %s', async (source) => {
    const entry = join(dir, 'unread.mjs');
    writeFileSync(entry, source);
    await expect(
      build({
        entryPoints: [entry],
        nodePaths: [join(import.meta.dirname, '../../node_modules')],
        bundle: true,
        format: 'esm',
        platform: 'node',
        write: false,
        logLevel: 'silent',
        plugins,
      }),
    ).rejects.toThrow(
      /unread\.mjs: `.*@aws-sdk\/client-dynamodb.*` reaches an AWS SDK client in a form this plugin cannot read/,
    );
  });

  it('accept named imports, type-only ones included', () => {
    const { unreadClientImport } = createRequire(import.meta.url)('../../stacks/esbuild-plugins.cjs') as {
      unreadClientImport: (code: string) => string | undefined;
    };
    expect(
      unreadClientImport("import { GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';"),
    ).toBeUndefined();
    expect(
      unreadClientImport("import type { AttributeValue } from '@aws-sdk/client-dynamodb';"),
    ).toBeUndefined();
    expect(
      unreadClientImport("export type { AttributeValue } from '@aws-sdk/client-dynamodb';"),
    ).toBeUndefined();
  });
});
