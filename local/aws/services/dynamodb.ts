/**
 * DynamoDB (AWS JSON 1.0, `X-Amz-Target: DynamoDB_20120810.<Op>`): the edge verifies SigV4 and
 * faults as for every service, then forwards the body as received to dynalite (its answer goes
 * back byte for byte, CRC32 header included), one in-memory dynalite server
 * per simulated (account, region) on 127.0.0.1, started on first use and stopped with the edge.
 * Table ARNs carry the caller's account and region.
 *
 * What dynalite 4 does not do, and so the local cloud does not either: transactions
 * (TransactWriteItems / TransactGetItems answer UnknownOperationException, as dynalite does),
 * streams, PartiQL, backups, global tables, and TTL deletion. UpdateTimeToLive /
 * DescribeTimeToLive are answered here (the setting is recorded, ENABLING then ENABLED after a
 * minute of virtual time) but expired items are never deleted: reads must filter on the expiry
 * attribute (docs/architecture.md, "Storage"). Table status changes (CREATING -> ACTIVE ...) happen at once on
 * wall time, and dynalite's own timestamps (CreationDateTime) are wall time, not virtual time.
 */

import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { AwsError, errorClass } from '../errors.ts';
import { RawResponse } from '../protocols.ts';
import { defineService, type RequestContext } from '../service.ts';

const ResourceNotFound = errorClass('ResourceNotFoundException', 400);
const Validation = errorClass('ValidationException', 400);

type Dynalite = (options: Record<string, unknown>) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;

/** Operations dynalite 4 implements, forwarded as they are. */
const FORWARDED = [
  'BatchGetItem',
  'BatchWriteItem',
  'CreateTable',
  'DeleteItem',
  'DeleteTable',
  'DescribeTable',
  'GetItem',
  'ListTables',
  'PutItem',
  'Query',
  'Scan',
  'TagResource',
  'UntagResource',
  'ListTagsOfResource',
  'UpdateItem',
  'UpdateTable',
] as const;

interface Ttl {
  attributeName: string;
  status: 'ENABLING' | 'ENABLED' | 'DISABLING' | 'DISABLED';
}

interface DynamoState {
  accountId: string;
  region: string;
  server?: Promise<{ server: Server; port: number }>;
  ttl: Map<string, Ttl>;
  /** Each table's partition key attribute (what IAM's dynamodb:LeadingKeys reads). */
  partitionKeys: Map<string, string>;
  /** Calls dynalite is answering: its store must stay open until they end. */
  inFlight: Set<Promise<unknown>>;
}

/** Starts this scope's dynalite. It reads the account and region for its ARNs from the environment once, at creation. */
function start(state: DynamoState): Promise<{ server: Server; port: number }> {
  const saved = { account: process.env.AWS_ACCOUNT_ID, region: process.env.AWS_REGION };
  process.env.AWS_ACCOUNT_ID = state.accountId;
  process.env.AWS_REGION = state.region;
  let server: Server;
  try {
    server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  } finally {
    restore('AWS_ACCOUNT_ID', saved.account);
    restore('AWS_REGION', saved.region);
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** Sends one call to this scope's dynalite; returns its answer, or throws its error as an AwsError. */
async function call(
  ctx: RequestContext<DynamoState>,
  operation: string,
  body: Buffer | string,
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  ctx.state.server ??= start(ctx.state);
  const { port } = await ctx.state.server;
  const amzDate = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  // dynalite only checks that a SigV4-shaped Authorization is present; the edge verified the real one.
  const pending = fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `DynamoDB_20120810.${operation}`,
      'x-amz-date': amzDate,
      authorization: `AWS4-HMAC-SHA256 Credential=local/${amzDate.slice(0, 8)}/${ctx.region}/dynamodb/aws4_request, SignedHeaders=host, Signature=0`,
      connection: 'close',
    },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  }).then(async (r) => ({ res: r, bytes: Buffer.from(await r.arrayBuffer()) }));
  ctx.state.inFlight.add(pending);
  const { res, bytes } = await pending.finally(() => ctx.state.inFlight.delete(pending));
  if (res.ok) {
    const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.0' };
    const crc = res.headers.get('x-amz-crc32');
    if (crc) headers['x-amz-crc32'] = crc;
    return { status: res.status, headers, body: bytes };
  }
  const parsed = (bytes.length > 0 ? JSON.parse(bytes.toString('utf8')) : {}) as Record<string, unknown>;
  const { __type, message, Message, ...fields } = parsed;
  const code = String(__type ?? 'InternalServerError')
    .split('#')
    .pop() as string;
  throw new AwsError(code, String(message ?? Message ?? ''), { status: res.status, fields });
}

/** Forwards the request body as received; dynalite's answer goes back byte for byte (its CRC32 included). */
async function forward(ctx: RequestContext<DynamoState>, operation: string): Promise<RawResponse> {
  const out = await call(ctx, operation, ctx.rawBody.length > 0 ? ctx.rawBody : '{}');
  return new RawResponse(out.status, out.headers, out.body);
}

async function requireTable(ctx: RequestContext<DynamoState>, tableName: unknown): Promise<string> {
  if (typeof tableName !== 'string' || tableName.length < 3) {
    throw Validation(
      `1 validation error detected: Value '${String(tableName ?? null)}' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3`,
    );
  }
  try {
    await call(ctx, 'DescribeTable', JSON.stringify({ TableName: tableName }));
  } catch (err) {
    if (err instanceof AwsError && err.code === 'ResourceNotFoundException') {
      throw ResourceNotFound('Requested resource not found');
    }
    throw err;
  }
  return tableName;
}

const operations: Record<string, (input: unknown, ctx: RequestContext<DynamoState>) => unknown> = {};
for (const op of FORWARDED) operations[op] = (_input, ctx) => forward(ctx, op);

operations.CreateTable = async (input, ctx) => {
  const out = await forward(ctx, 'CreateTable');
  const i = input as { TableName?: string; KeySchema?: { AttributeName?: string; KeyType?: string }[] };
  const hash = i.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
  if (i.TableName && hash) ctx.state.partitionKeys.set(i.TableName, hash);
  return out;
};

operations.DeleteTable = async (input, ctx) => {
  const out = await forward(ctx, 'DeleteTable');
  ctx.state.partitionKeys.delete(String((input as { TableName?: string }).TableName));
  return out;
};

operations.UpdateTimeToLive = async (input, ctx) => {
  const i = input as {
    TableName?: string;
    TimeToLiveSpecification?: { AttributeName?: string; Enabled?: boolean };
  };
  const table = await requireTable(ctx, i.TableName);
  const spec = i.TimeToLiveSpecification;
  if (!spec?.AttributeName || typeof spec.Enabled !== 'boolean') {
    throw Validation(
      "1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null",
    );
  }
  const current = ctx.state.ttl.get(table);
  const enabled = current?.status === 'ENABLED' || current?.status === 'ENABLING';
  if (spec.Enabled === enabled) {
    throw Validation(`TimeToLive is already ${enabled ? 'enabled' : 'disabled'}`);
  }
  const ttl: Ttl = { attributeName: spec.AttributeName, status: spec.Enabled ? 'ENABLING' : 'DISABLING' };
  ctx.state.ttl.set(table, ttl);
  ctx.clock.after(60_000, () => {
    if (ctx.state.ttl.get(table) === ttl) ttl.status = spec.Enabled ? 'ENABLED' : 'DISABLED';
  });
  return { TimeToLiveSpecification: { AttributeName: spec.AttributeName, Enabled: spec.Enabled } };
};

operations.DescribeTimeToLive = async (input, ctx) => {
  const table = await requireTable(ctx, (input as { TableName?: string }).TableName);
  const ttl = ctx.state.ttl.get(table);
  return {
    TimeToLiveDescription: ttl
      ? { TimeToLiveStatus: ttl.status, AttributeName: ttl.attributeName }
      : { TimeToLiveStatus: 'DISABLED' },
  };
};

export default defineService<DynamoState>({
  name: 'dynamodb',
  signingName: 'dynamodb',
  protocol: 'json1.0',
  targetPrefix: 'DynamoDB_20120810',
  errors: {
    throttling: { code: 'ThrottlingException', status: 400 },
    server: { code: 'InternalServerError', status: 500 },
  },
  createState: ({ accountId, region }) => ({
    accountId,
    region,
    ttl: new Map(),
    partitionKeys: new Map(),
    inFlight: new Set(),
  }),
  operations,
  async dispose(state) {
    const running = await state.server?.catch(() => undefined);
    if (!running) return;
    // A write dynalite is still applying when its store closes throws from inside dynalite ("Database
    // is closed", uncaught): let the calls under way end first (each is a few milliseconds).
    await Promise.allSettled([...state.inFlight]);
    running.server.closeAllConnections?.();
    await new Promise<void>((resolve) => running.server.close(() => resolve()));
  },
  status: (state) => (state.server ? { dynalite: 'running', ttl: Object.fromEntries(state.ttl) } : undefined),
});
