/** An in-memory LinkStore with the same conditional-write semantics the DynamoDB and Firestore stores have. */
import type { Clock } from '#core/clock.ts';
import type { CloudEvent } from '#core/envelope.ts';
import { ConflictError } from '#core/errors.ts';
import type { LinkRecord } from '#core/link/model.ts';
import type { AuditEntry, EventSink, LinkStore, StoredLink } from '#core/link/ports.ts';

export class MemoryLinkStore implements LinkStore {
  readonly links = new Map<string, StoredLink>();
  readonly audit: AuditEntry[] = [];
  readonly claims = new Map<string, { expiresAt: number; result: unknown }>();
  readonly #clock: Clock;
  constructor(clock: Clock) {
    this.#clock = clock;
  }
  async get(id: string) {
    const s = this.links.get(id);
    return s ? structuredClone(s) : undefined;
  }
  async create(link: LinkRecord) {
    if (this.links.has(link.id)) throw new ConflictError(`link ${link.id} exists`);
    const s = { link: structuredClone(link), version: 1 };
    this.links.set(link.id, s);
    return structuredClone(s);
  }
  async update(link: LinkRecord, expectedVersion: number) {
    const cur = this.links.get(link.id);
    if (!cur || cur.version !== expectedVersion) throw new ConflictError(`link ${link.id} changed`);
    const s = { link: structuredClone(link), version: expectedVersion + 1 };
    this.links.set(link.id, s);
    return structuredClone(s);
  }
  async list(query: { state?: string; limit?: number; cursor?: string }) {
    const all = [...this.links.values()]
      .map((s) => s.link)
      .filter((l) => !query.state || l.state === query.state)
      .sort((a, b) => a.id.localeCompare(b.id));
    const start = query.cursor ? all.findIndex((l) => l.id > (query.cursor as string)) : 0;
    const items = start < 0 ? [] : all.slice(start, start + (query.limit ?? 50));
    const last = items.at(-1);
    return last && start + items.length < all.length ? { items, cursor: last.id } : { items };
  }
  async appendAudit(entry: AuditEntry) {
    this.audit.push(structuredClone(entry));
  }
  async listAudit(linkId: string) {
    return this.audit.filter((a) => a.linkId === linkId);
  }
  async claim(key: string, expiresAt: number, result: unknown) {
    const cur = this.claims.get(key);
    if (cur && cur.expiresAt > this.#clock.now()) return { claimed: false as const, result: cur.result };
    this.claims.set(key, { expiresAt, result });
    return { claimed: true as const };
  }
  async settle(key: string, expiresAt: number, result: unknown) {
    this.claims.set(key, { expiresAt, result });
  }
}

export class MemoryEventSink implements EventSink {
  readonly events: CloudEvent[] = [];
  async put(events: CloudEvent[]) {
    this.events.push(...events);
  }
  names(): string[] {
    return this.events.map((e) => e.type.replace(/^crosslink\.|\.v\d+$/g, ''));
  }
}
