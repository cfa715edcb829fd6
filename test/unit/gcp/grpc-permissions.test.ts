/**
 * What a Firestore or Pub/Sub request message needs (local/gcp/iam/grpc-permissions.ts), on
 * messages encoded here by field number as google/firestore/v1 and google/pubsub/v1 define them:
 * each write's kind decides create / update / delete as Firestore's IAM page says; a Write stream's
 * later messages are checked on the database its first named; what cannot be read is refused
 * naming the field.
 */
import { describe, expect, it } from 'vitest';
import { FirestoreCall, publisherNeeds, statusDetails } from '#local/gcp/iam/grpc-permissions.ts';

const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  return [...out, n];
};
/** A length-delimited field. */
const bytes = (no: number, value: Buffer | string) => {
  const b = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.from([...varint(no * 8 + 2), ...varint(b.length), ...b]);
};
/** A varint field. */
const number = (no: number, value: number) => Buffer.from([...varint(no * 8), ...varint(value)]);
const msg = (...fields: Buffer[]) => Buffer.concat(fields);

const DB = 'projects/p/databases/(default)';
const DOC = `${DB}/documents/links/lk-1`;
const document = msg(bytes(1, DOC));
/** google.firestore.v1.Write variants (update 1, delete 2, current_document 4, transform 6). */
const writes = {
  create: msg(bytes(1, document), bytes(4, number(1, 0))),
  update: msg(bytes(1, document), bytes(4, number(1, 1))),
  updateAtTime: msg(bytes(1, document), bytes(4, bytes(2, number(1, 1700000000)))),
  set: msg(bytes(1, document)),
  transform: msg(bytes(6, bytes(1, DOC))),
  delete: msg(bytes(2, DOC)),
};
const perms = (needs: { permission: string }[]) => needs.map((n) => n.permission).sort();

describe('the permissions of a Firestore request', () => {
  it('reads each write of a Commit: exists false creates, exists true or an update time updates, none both, a delete deletes', () => {
    const commit = (w: Buffer) => perms(new FirestoreCall('Commit').needs(msg(bytes(1, DB), bytes(2, w))));
    expect(commit(writes.create)).toEqual(['datastore.entities.create']);
    expect(commit(writes.update)).toEqual(['datastore.entities.update']);
    expect(commit(writes.updateAtTime)).toEqual(['datastore.entities.update']);
    expect(commit(writes.set)).toEqual(['datastore.entities.create', 'datastore.entities.update']);
    expect(commit(writes.transform)).toEqual(['datastore.entities.create', 'datastore.entities.update']);
    expect(commit(writes.delete)).toEqual(['datastore.entities.delete']);
    // A commit without writes closes a transaction.
    expect(perms(new FirestoreCall('Commit').needs(msg(bytes(1, DB), bytes(3, 'tx'))))).toEqual([
      'datastore.databases.get',
    ]);
  });

  it("checks a Write stream's later messages on the database its first named", () => {
    // Prepare
    const call = new FirestoreCall('Write');
    // Act
    const first = call.needs(msg(bytes(1, DB)));
    const later = call.needs(msg(bytes(2, 'stream-1'), bytes(3, writes.delete), bytes(3, writes.create)));
    // Assess
    expect(first).toEqual([]);
    expect(later).toEqual([
      { permission: 'datastore.entities.delete', resource: DB },
      { permission: 'datastore.entities.create', resource: DB },
    ]);
  });

  it('names the database of reads, queries and a patched document', () => {
    expect(new FirestoreCall('GetDocument').needs(msg(bytes(1, DOC)))).toEqual([
      { permission: 'datastore.entities.get', resource: DB },
    ]);
    expect(perms(new FirestoreCall('RunQuery').needs(msg(bytes(1, `${DB}/documents`))))).toEqual([
      'datastore.entities.get',
      'datastore.entities.list',
    ]);
    expect(new FirestoreCall('UpdateDocument').needs(msg(bytes(1, document)))).toEqual([
      { permission: 'datastore.entities.update', resource: DB },
    ]);
  });

  it('refuses what it cannot read, naming the field, and a method no function calls', () => {
    expect(() => new FirestoreCall('GetDocument').needs(msg(bytes(1, 'links/lk-1')))).toThrow(
      /name: a name under projects\/<project>\/databases\/<database> is required/,
    );
    expect(() => new FirestoreCall('Commit').needs(Buffer.from([0x0a, 0x05, 0x61]))).toThrow(
      /not valid protobuf/,
    );
    expect(() => new FirestoreCall('ExecutePipeline')).toThrow(/not served through the local IAM check/);
  });
});

describe('the permissions of a Pub/Sub request', () => {
  it('publishes on the topic the request names, and refuses a request without one', () => {
    expect(publisherNeeds('Publish', msg(bytes(1, 'projects/p/topics/t')))).toEqual([
      { permission: 'pubsub.topics.publish', resource: 'projects/p/topics/t' },
    ]);
    expect(() => publisherNeeds('Publish', msg(bytes(2, 'x')))).toThrow(/topic: a name projects/);
  });

  it('encodes the google.rpc.Status of a refusal with its ErrorInfo', () => {
    const status = statusDetails(7, 'denied', { reason: 'R', domain: 'd', metadata: { k: 'v' } });
    expect(status.subarray(0, 2)).toEqual(Buffer.from([0x08, 0x07]));
    expect(status.toString('latin1')).toContain('type.googleapis.com/google.rpc.ErrorInfo');
  });
});
