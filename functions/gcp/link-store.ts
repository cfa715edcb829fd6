/**
 * The `StageStore` port on Firestore (Native mode), single-document conditional writes only, the same
 * semantics as the DynamoDB store (functions/aws/link-store.ts):
 *
 * | document                                | fields                                   | written with                            |
 * | --------------------------------------- | ---------------------------------------- | --------------------------------------- |
 * | `links/{linkId}`                        | `link`, `version`, `state`               | `create()`; `update()` with `lastUpdateTime` of the read that saw `version` |
 * | `links/{linkId}/audit/{at}~{n}`         | `entry`                                  | `create()`: append-only, ordered by id  |
 * | `idempotency/{sha256(key)}`             | `key`, `expiresAt` (ms), `expireAt` (Timestamp, TTL policy), `result` | `create()`; an expired one is replaced by `update()` with `lastUpdateTime` |
 * | `tokens/{linkId}-{phase}`               | `token`                                  | `set()`; taken by `delete()` with `lastUpdateTime` |
 * | `sealedKeys/{linkId}`                   | `sealed`                                 | `set()` (ciphertext only)               |
 * | `starts/{linkId}-{stage}-{attempt}`     | `key`, `createdAt`, `executionName?`     | `create()`; the id by `update()` (execution-starter.ts) |
 *
 * Every conditional write is one document's precondition (`create` = must not exist, `update` with
 * `lastUpdateTime` = unchanged since read), so a lost race is a ConflictError (links) or a retry
 * loop (claims, tokens), never a transaction. Expired claims count as absent on read: Firestore's TTL
 * deletes up to a day late (and the emulator never does).
 */
import { createHash, randomBytes } from 'node:crypto';
import { FieldPath, type Firestore, Timestamp } from '@google-cloud/firestore';
import type { Clock } from '#core/clock.ts';
import { ConflictError } from '#core/errors.ts';
import type { SealedKey } from '#core/events/catalog.ts';
import type { Stage } from '#core/ids.ts';
import type { LinkRecord, LinkState } from '#core/link/model.ts';
import type { AuditEntry, StageStore, StoredLink, WaitPhase } from '#core/link/ports.ts';

/** gRPC canonical codes the Firestore client reports as `err.code`. */
const ALREADY_EXISTS = 6;
const NOT_FOUND = 5;
const FAILED_PRECONDITION = 9;

const codeOf = (e: unknown): number | undefined => (e as { code?: unknown })?.code as number | undefined;

/** The collections, so that tests or a shared project can put them under other names. */
export interface FirestoreCollections {
  links: string;
  idempotency: string;
  tokens: string;
  sealedKeys: string;
  starts: string;
}

export const DEFAULT_COLLECTIONS: FirestoreCollections = {
  links: 'links',
  idempotency: 'idempotency',
  tokens: 'tokens',
  sealedKeys: 'sealedKeys',
  starts: 'starts',
};

/** The start-guard record of one `(linkId, stage, attempt)` (docs/architecture.md, "Execution names"). */
export interface StartRecord {
  key: string;
  createdAt: number;
  /** The Workflows execution's full name, once the starter that created it stored it. */
  executionName?: string;
}

/** What the execution starter needs from the store (kept beside `StageStore`, not in the core port). */
export interface StartRecords {
  /** Creates the record if absent: `created: false` returns the one that exists. */
  claimStart(
    linkId: string,
    stage: Stage,
    attempt: number,
  ): Promise<{ created: boolean; record: StartRecord }>;
  /** Stores the execution the record's starter created or adopted (first writer wins). */
  setStartExecution(
    linkId: string,
    stage: Stage,
    attempt: number,
    executionName: string,
  ): Promise<StartRecord>;
}

let auditSeq = 0;

/** Drops `undefined` (Firestore refuses it) and anything not plain JSON from what is written. */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export class FirestoreLinkStore implements StageStore, StartRecords {
  readonly #db: Firestore;
  readonly #clock: Clock;
  readonly #c: FirestoreCollections;

  constructor(db: Firestore, clock: Clock, collections: Partial<FirestoreCollections> = {}) {
    this.#db = db;
    this.#clock = clock;
    this.#c = { ...DEFAULT_COLLECTIONS, ...collections };
  }

  #link(linkId: string) {
    return this.#db.collection(this.#c.links).doc(linkId);
  }

  async get(linkId: string): Promise<StoredLink | undefined> {
    const snap = await this.#link(linkId).get();
    if (!snap.exists) return undefined;
    const d = snap.data() as { link: LinkRecord; version: number };
    return { link: d.link, version: d.version };
  }

  async create(link: LinkRecord): Promise<StoredLink> {
    try {
      await this.#link(link.id).create({ link: plain(link), version: 1, state: link.state });
    } catch (e) {
      if (codeOf(e) === ALREADY_EXISTS) throw new ConflictError(`link ${link.id} exists`);
      throw e;
    }
    return { link, version: 1 };
  }

  async update(link: LinkRecord, expectedVersion: number): Promise<StoredLink> {
    const ref = this.#link(link.id);
    const snap = await ref.get();
    if (!snap.exists || (snap.get('version') as number) !== expectedVersion || !snap.updateTime)
      throw new ConflictError(`link ${link.id} changed`);
    try {
      // `update` replaces each top-level field given; the precondition makes it the version we read.
      await ref.update(
        { link: plain(link), version: expectedVersion + 1, state: link.state },
        { lastUpdateTime: snap.updateTime },
      );
    } catch (e) {
      if (codeOf(e) === FAILED_PRECONDITION || codeOf(e) === NOT_FOUND)
        throw new ConflictError(`link ${link.id} changed`);
      throw e;
    }
    return { link, version: expectedVersion + 1 };
  }

  async list(query: {
    state?: LinkState;
    limit?: number;
    cursor?: string;
  }): Promise<{ items: LinkRecord[]; cursor?: string }> {
    const limit = query.limit ?? 50;
    // Ordered by document id (= link id); an equality filter plus __name__ needs no composite index.
    let q = this.#db.collection(this.#c.links).orderBy(FieldPath.documentId());
    if (query.state) q = q.where('state', '==', query.state);
    if (query.cursor) q = q.startAfter(query.cursor);
    const out = await q.limit(limit + 1).get();
    const items = out.docs.map((d) => d.get('link') as LinkRecord);
    if (items.length <= limit) return { items };
    const page = items.slice(0, limit);
    return { items: page, cursor: (page.at(-1) as LinkRecord).id };
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    // `<at>~<wall ms><n><random>`: ordered by `at`, then by the order of appends within one process.
    const audit = this.#link(entry.linkId).collection('audit');
    for (;;) {
      const tie = `${Date.now().toString(36).padStart(9, '0')}${(auditSeq++).toString(36).padStart(8, '0')}`;
      try {
        await audit
          .doc(`${entry.at}~${tie}${randomBytes(4).toString('hex')}`)
          .create({ entry: plain(entry) });
        return;
      } catch (e) {
        if (codeOf(e) !== ALREADY_EXISTS) throw e; // an id collision: pick another
      }
    }
  }

  async listAudit(linkId: string): Promise<AuditEntry[]> {
    const out = await this.#link(linkId).collection('audit').orderBy(FieldPath.documentId()).get();
    return out.docs.map((d) => d.get('entry') as AuditEntry);
  }

  #token(linkId: string, phase: WaitPhase) {
    return this.#db.collection(this.#c.tokens).doc(`${linkId}-${phase}`);
  }

  async putToken(linkId: string, phase: WaitPhase, token: string): Promise<void> {
    await this.#token(linkId, phase).set({ token });
  }

  async takeToken(linkId: string, phase: WaitPhase): Promise<string | undefined> {
    const ref = this.#token(linkId, phase);
    for (;;) {
      const snap = await ref.get();
      if (!snap.exists || !snap.updateTime) return undefined;
      try {
        // Only the reader whose delete matches the version it read gets the token.
        await ref.delete({ lastUpdateTime: snap.updateTime });
        return snap.get('token') as string;
      } catch (e) {
        // Taken by another reader (then the next read finds nothing) or replaced (take the new one).
        if (codeOf(e) !== FAILED_PRECONDITION && codeOf(e) !== NOT_FOUND) throw e;
      }
    }
  }

  async putSealedKey(linkId: string, sealed: SealedKey): Promise<void> {
    await this.#db
      .collection(this.#c.sealedKeys)
      .doc(linkId)
      .set({ sealed: plain(sealed) });
  }

  async getSealedKey(linkId: string): Promise<SealedKey | undefined> {
    const snap = await this.#db.collection(this.#c.sealedKeys).doc(linkId).get();
    return snap.exists ? (snap.get('sealed') as SealedKey) : undefined;
  }

  async claim(
    key: string,
    expiresAt: number,
    result: unknown,
  ): Promise<{ claimed: true } | { claimed: false; result: unknown }> {
    const ref = this.#claimRef(key);
    const doc = claimDoc(key, expiresAt, result);
    for (;;) {
      try {
        await ref.create(doc);
        return { claimed: true };
      } catch (e) {
        if (codeOf(e) !== ALREADY_EXISTS) throw e;
      }
      const snap = await ref.get();
      if (!snap.exists || !snap.updateTime) continue; // deleted (TTL) since: claim again
      if ((snap.get('expiresAt') as number) > this.#clock.now())
        return { claimed: false, result: snap.get('result') };
      try {
        // Expired: replace it, unless another claimer replaced it first.
        await ref.update(doc, { lastUpdateTime: snap.updateTime });
        return { claimed: true };
      } catch (e) {
        if (codeOf(e) !== FAILED_PRECONDITION && codeOf(e) !== NOT_FOUND) throw e;
      }
    }
  }

  async settle(key: string, expiresAt: number, result: unknown): Promise<void> {
    await this.#claimRef(key).set(claimDoc(key, expiresAt, result));
  }

  #claimRef(key: string) {
    // Keys hold principals (`arn:...:user/alice`), and a document id cannot hold `/`: hash them.
    return this.#db.collection(this.#c.idempotency).doc(createHash('sha256').update(key).digest('hex'));
  }

  // ---- start guard (execution-starter.ts) ---------------------------------------------------------

  #start(linkId: string, stage: Stage, attempt: number) {
    return this.#db.collection(this.#c.starts).doc(`${linkId}-${stage}-${attempt}`);
  }

  async claimStart(
    linkId: string,
    stage: Stage,
    attempt: number,
  ): Promise<{ created: boolean; record: StartRecord }> {
    const ref = this.#start(linkId, stage, attempt);
    const record: StartRecord = { key: ref.id, createdAt: this.#clock.now() };
    try {
      await ref.create(record);
      return { created: true, record };
    } catch (e) {
      if (codeOf(e) !== ALREADY_EXISTS) throw e;
    }
    const snap = await ref.get();
    return { created: false, record: snap.data() as StartRecord };
  }

  async setStartExecution(
    linkId: string,
    stage: Stage,
    attempt: number,
    executionName: string,
  ): Promise<StartRecord> {
    const ref = this.#start(linkId, stage, attempt);
    for (;;) {
      const snap = await ref.get();
      if (!snap.exists || !snap.updateTime) throw new ConflictError(`no start record ${ref.id}`);
      const current = snap.data() as StartRecord;
      if (current.executionName) return current; // another starter stored one first: it stands
      try {
        await ref.update({ executionName }, { lastUpdateTime: snap.updateTime });
        return { ...current, executionName };
      } catch (e) {
        if (codeOf(e) !== FAILED_PRECONDITION) throw e;
      }
    }
  }
}

function claimDoc(key: string, expiresAt: number, result: unknown) {
  return {
    key,
    expiresAt,
    // For a Firestore TTL policy on `expireAt`: deletes late, so reads still filter on `expiresAt`.
    expireAt: Timestamp.fromMillis(expiresAt),
    result: result === undefined ? null : plain(result),
  };
}
