/**
 * The IAM permissions a gRPC call to Firestore or Pub/Sub needs, read from its request messages
 * (docs/local-gcp-iam.md, "The emulators"), and the google.rpc.Status a refusal carries.
 *
 * Firestore (https://cloud.google.com/firestore/docs/security/iam, "Required permissions for API
 * methods"), each on the database the request names (`projects/<p>/databases/<d>`):
 * - get, batchGet: `datastore.entities.get`; list, runQuery, runAggregationQuery, listen:
 *   `datastore.entities.get` and `datastore.entities.list`; listCollectionIds, partitionQuery:
 *   `datastore.entities.list`;
 * - createDocument: `.create`; patch (UpdateDocument): `.update`; delete: `.delete`;
 * - commit, batchWrite, write, per write: an update or transform with the `exists: false`
 *   precondition `.create`, with `exists: true` (or an update-time precondition, which only an
 *   existing document meets) `.update`, with none both; a delete `.delete`;
 * - beginTransaction, rollback: `datastore.databases.get`. A commit without writes (a read-only
 *   transaction's) is not in the table: it needs `datastore.databases.get`, the transaction
 *   permission (strict: refused without it).
 * Pub/Sub (https://cloud.google.com/pubsub/docs/access-control): Publish needs
 * `pubsub.topics.publish` and GetTopic `pubsub.topics.get`, on the topic the request names.
 * Any other method of either service is refused: nothing the functions do calls it.
 */

export const FIRESTORE_SERVICE = 'google.firestore.v1.Firestore';
export const PUBLISHER_SERVICE = 'google.pubsub.v1.Publisher';

/** One permission on one resource. */
export interface Needed {
  permission: string;
  resource: string;
}

/** A request the check cannot read: INVALID_ARGUMENT naming the field, or UNIMPLEMENTED. */
export class GrpcRequestError extends Error {
  readonly code: 'INVALID_ARGUMENT' | 'UNIMPLEMENTED';
  constructor(code: 'INVALID_ARGUMENT' | 'UNIMPLEMENTED', message: string) {
    super(message);
    this.code = code;
    this.name = 'GrpcRequestError';
  }
}

// ---- protobuf wire format (the few fields read here) ----

interface Field {
  no: number;
  /** Length-delimited payload (wire type 2). */
  bytes?: Buffer;
  /** Varint value (wire type 0). */
  varint?: number;
}

function readVarint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (let i = at; i < buf.length && shift < 64; i++) {
    const b = buf[i] as number;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, i + 1];
    shift += 7;
  }
  throw new GrpcRequestError('INVALID_ARGUMENT', 'the request message is not valid protobuf (a varint)');
}

/** The top-level fields of a message. */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  while (at < buf.length) {
    const [key, next] = readVarint(buf, at);
    at = next;
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      const [v, n] = readVarint(buf, at);
      out.push({ no, varint: v });
      at = n;
    } else if (wire === 2) {
      const [len, n] = readVarint(buf, at);
      if (n + len > buf.length)
        throw new GrpcRequestError(
          'INVALID_ARGUMENT',
          'the request message is not valid protobuf (a length)',
        );
      out.push({ no, bytes: buf.subarray(n, n + len) });
      at = n + len;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else
      throw new GrpcRequestError(
        'INVALID_ARGUMENT',
        `the request message is not valid protobuf (wire type ${wire})`,
      );
    if (at > buf.length)
      throw new GrpcRequestError('INVALID_ARGUMENT', 'the request message is not valid protobuf (truncated)');
  }
  return out;
}

const field = (fs: Field[], no: number) => fs.find((f) => f.no === no);
const text = (f: Field | undefined) => f?.bytes?.toString('utf8');

// ---- Firestore ----

const DATABASE_RE = /^projects\/[^/]+\/databases\/[^/]+/;

const GET = 'datastore.entities.get';
const LIST = 'datastore.entities.list';
const CREATE = 'datastore.entities.create';
const UPDATE = 'datastore.entities.update';
const DELETE = 'datastore.entities.delete';
const TRANSACTION = 'datastore.databases.get';

/** Where each Firestore request names its database or document, and what it needs besides writes. */
const FIRESTORE_METHODS: Readonly<Record<string, { name: string; permissions: readonly string[] }>> = {
  GetDocument: { name: 'name', permissions: [GET] },
  ListDocuments: { name: 'parent', permissions: [GET, LIST] },
  CreateDocument: { name: 'parent', permissions: [CREATE] },
  UpdateDocument: { name: 'document.name', permissions: [UPDATE] },
  DeleteDocument: { name: 'name', permissions: [DELETE] },
  BatchGetDocuments: { name: 'database', permissions: [GET] },
  BeginTransaction: { name: 'database', permissions: [TRANSACTION] },
  Rollback: { name: 'database', permissions: [TRANSACTION] },
  RunQuery: { name: 'parent', permissions: [GET, LIST] },
  RunAggregationQuery: { name: 'parent', permissions: [GET, LIST] },
  PartitionQuery: { name: 'parent', permissions: [LIST] },
  Listen: { name: 'database', permissions: [GET, LIST] },
  ListCollectionIds: { name: 'parent', permissions: [LIST] },
  Commit: { name: 'database', permissions: [] },
  BatchWrite: { name: 'database', permissions: [] },
  Write: { name: 'database', permissions: [] },
};

/** The writes field of the requests that carry them (CommitRequest, BatchWriteRequest: 2; WriteRequest: 3). */
const WRITES_FIELD: Readonly<Record<string, number>> = { Commit: 2, BatchWrite: 2, Write: 3 };

/** What one google.firestore.v1.Write needs (see the file comment). */
function writeNeeds(write: Buffer): string[] {
  const fs = fields(write);
  if (field(fs, 2)) return [DELETE]; // delete
  if (!field(fs, 1) && !field(fs, 6))
    throw new GrpcRequestError('INVALID_ARGUMENT', 'writes[]: an update, delete or transform is required');
  const precondition = field(fs, 4)?.bytes; // current_document
  if (precondition) {
    const p = fields(precondition);
    const exists = field(p, 1);
    if (exists) return exists.varint ? [UPDATE] : [CREATE];
    if (field(p, 2)) return [UPDATE]; // update_time: only an existing document has one
  }
  return [CREATE, UPDATE];
}

/**
 * The state of one Firestore call: its method, and the database its first message named (a
 * Write or Listen stream's later messages may leave it out).
 */
export class FirestoreCall {
  readonly #method: string;
  #database: string | undefined;

  constructor(method: string) {
    if (!FIRESTORE_METHODS[method])
      throw new GrpcRequestError(
        'UNIMPLEMENTED',
        `${FIRESTORE_SERVICE}/${method} is not served through the local IAM check (the functions do not call it)`,
      );
    this.#method = method;
  }

  /** The permissions one request message needs. */
  needs(message: Buffer): Needed[] {
    const spec = FIRESTORE_METHODS[this.#method]!;
    const fs = fields(message);
    // Every request names its database, parent or document in field 1; UpdateDocument's field 1 is
    // the Document, whose field 1 is its name.
    let name = spec.name.includes('.')
      ? text(field(fields(field(fs, 1)?.bytes ?? Buffer.alloc(0)), 1))
      : text(field(fs, 1));
    if (name === undefined || name === '') name = this.#database;
    const database = name === undefined ? undefined : DATABASE_RE.exec(name)?.[0];
    if (!database)
      throw new GrpcRequestError(
        'INVALID_ARGUMENT',
        `${spec.name}: a name under projects/<project>/databases/<database> is required`,
      );
    this.#database ??= database;
    const permissions = new Set(spec.permissions);
    const writesNo = WRITES_FIELD[this.#method];
    if (writesNo !== undefined) {
      const writes = fs.filter((f) => f.no === writesNo && f.bytes);
      for (const w of writes) for (const p of writeNeeds(w.bytes as Buffer)) permissions.add(p);
      // A commit without writes closes a (read-only) transaction.
      if (this.#method === 'Commit' && writes.length === 0) permissions.add(TRANSACTION);
    }
    return [...permissions].map((permission) => ({ permission, resource: database }));
  }
}

// ---- Pub/Sub ----

const TOPIC_RE = /^projects\/[^/]+\/topics\/[^/]+$/;
const PUBLISHER_METHODS: Readonly<Record<string, string>> = {
  Publish: 'pubsub.topics.publish',
  GetTopic: 'pubsub.topics.get',
};

/** The permission of a Publisher request (its `topic`, field 1). */
export function publisherNeeds(method: string, message: Buffer): Needed[] {
  const permission = PUBLISHER_METHODS[method];
  if (!permission)
    throw new GrpcRequestError(
      'UNIMPLEMENTED',
      `${PUBLISHER_SERVICE}/${method} is not served through the local IAM check (the functions do not call it)`,
    );
  const topic = text(field(fields(message), 1));
  if (!topic || !TOPIC_RE.test(topic))
    throw new GrpcRequestError(
      'INVALID_ARGUMENT',
      'topic: a name projects/<project>/topics/<topic> is required',
    );
  return [{ permission, resource: topic }];
}

// ---- google.rpc.Status ----

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

const tagged = (no: number, payload: Buffer) =>
  Buffer.concat([varint(no * 8 + 2), varint(payload.length), payload]);
const str = (no: number, s: string) => tagged(no, Buffer.from(s, 'utf8'));

/**
 * The binary google.rpc.Status of `grpc-status-details-bin`: code, message and, when given, a
 * google.rpc.ErrorInfo (reason, domain, metadata) as an Any.
 */
export function statusDetails(
  code: number,
  message: string,
  info?: { reason: string; domain: string; metadata: Record<string, string> },
): Buffer {
  const parts = [Buffer.concat([varint(8), varint(code)]), str(2, message)];
  if (info) {
    const errorInfo = Buffer.concat([
      str(1, info.reason),
      str(2, info.domain),
      ...Object.entries(info.metadata).map(([k, v]) => tagged(3, Buffer.concat([str(1, k), str(2, v)]))),
    ]);
    parts.push(
      tagged(3, Buffer.concat([str(1, 'type.googleapis.com/google.rpc.ErrorInfo'), tagged(2, errorInfo)])),
    );
  }
  return Buffer.concat(parts);
}
