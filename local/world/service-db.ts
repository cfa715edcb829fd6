/**
 * The protected service's replicated database (an Aurora writer on one cloud, an AlloyDB replica on
 * the other, in the example plan): one node per side, each holding its own copy of the write log.
 *
 * - Writes go to a writer; a write is an instant on the virtual clock (the log holds their times).
 * - Replication copies the writer's log to the replica in order, each write `applyDelayMs` after it
 *   was made, only while the path is up: both regions up, the link carrying replication up (when
 *   the service names one), and no `replication stall` fault. While the path is down nothing is
 *   copied; when it comes back, everything due is copied at once (the replica catches up).
 * - Lag is the time from the newest write the replica holds to the newest its writer has (0 when
 *   it has them all): the window a promotion would lose, which the plan's RPO bounds.
 * - Promotion makes a replica a writer. The writes its old writer had that it had not applied are
 *   lost: each promotion records how many and the window they span (the RPO met). Promotion does
 *   not fence the old writer: whoever promotes must fence it first (`fence`) and later demote it
 *   (`demote`, which re-seeds it from the new writer and discards its unreplicated writes, counting
 *   them).
 * - A fence revokes writes to one side's node: in real life the application's database credentials
 *   (or IAM database authentication) revoked, a global control plane, so it works while that side's
 *   region is out. A fenced node refuses writes (`fenced`) and does not count as writable. Promoting
 *   a side, or demoting it (re-seeding it), lifts its fence.
 * - Two unfenced writers that could both take writes (both in a region that is up) are a split
 *   brain: the database records each episode, with when it began and ended, and never hides one.
 *
 * The path's state is read at each call (`sync`): every write, read and fault change syncs first,
 * so replication stops at the first call that sees the path down. Callers that change the path
 * (faults, outages) call `sync` before they change it.
 */
import type { CloudName } from './regions.ts';

export type DbRole = 'writer' | 'replica';

interface DbNode {
  side: CloudName;
  role: DbRole;
  /** The writes this node holds, oldest first. */
  log: Write[];
  /** Writes to this node are revoked (`fence`). */
  fenced: boolean;
}

/** One write: its id (unique in the database) and when it was made (virtual ms). */
interface Write {
  id: number;
  at: number;
}

export interface Promotion {
  at: number;
  side: CloudName;
  /** Writes the old writer had that the promoted node never applied. */
  lostWrites: number;
  /** Virtual ms from the newest write the promoted node held to the newest write lost (0: none lost). */
  lossWindowMs: number;
  /** The replica's lag at promotion. */
  lagMs: number;
}

export interface SplitBrain {
  since: number;
  until?: number;
}

export interface DatabaseOptions {
  writer: CloudName;
  applyDelayMs: number;
  now: () => number;
  /** Whether a side's region is up (its node can take reads and writes). */
  regionUp: (side: CloudName) => boolean;
  /** Whether the replication path between the sides is up (link, stall fault). */
  pathUp: () => boolean;
}

export class ReplicatedDatabase {
  readonly #nodes: Record<CloudName, DbNode>;
  readonly #opts: DatabaseOptions;
  readonly promotions: Promotion[] = [];
  readonly splitBrains: SplitBrain[] = [];
  #discarded = 0;
  #seq = 0;

  constructor(opts: DatabaseOptions) {
    this.#opts = opts;
    const node = (side: CloudName): DbNode => ({
      side,
      role: side === opts.writer ? 'writer' : 'replica',
      log: [],
      fenced: false,
    });
    this.#nodes = { aws: node('aws'), gcp: node('gcp') };
  }

  /** Copies what is due to each replica whose path is up, and records split brains. */
  sync(): void {
    const now = this.#opts.now();
    const writers = this.#writers();
    if (writers.length === 1 && this.#opts.pathUp() && this.#bothUp()) {
      const w = this.#nodes[writers[0] as CloudName];
      for (const n of Object.values(this.#nodes)) {
        if (n.role !== 'replica') continue;
        while (n.log.length < w.log.length && w.log[n.log.length]!.at + this.#opts.applyDelayMs <= now)
          n.log.push(w.log[n.log.length]!);
      }
    }
    const writable = writers.filter((s) => this.#opts.regionUp(s) && !this.#nodes[s].fenced);
    const open = this.splitBrains[this.splitBrains.length - 1];
    if (writable.length > 1 && (!open || open.until !== undefined)) this.splitBrains.push({ since: now });
    if (writable.length <= 1 && open && open.until === undefined) open.until = now;
  }

  /**
   * A write on `side`: refused (with the reason) unless that side is an unfenced writer in a region
   * that is up.
   */
  write(side: CloudName): { ok: true } | { ok: false; reason: 'region-down' | 'read-only' | 'fenced' } {
    this.sync();
    if (!this.#opts.regionUp(side)) return { ok: false, reason: 'region-down' };
    const n = this.#nodes[side];
    if (n.role !== 'writer') return { ok: false, reason: 'read-only' };
    if (n.fenced) return { ok: false, reason: 'fenced' };
    n.log.push({ id: ++this.#seq, at: this.#opts.now() });
    return { ok: true };
  }

  /**
   * The replica's lag on `side` (0 for a writer): from the newest write it holds to the newest its
   * writer has, the window of writes a promotion now would lose. It grows while the writer takes
   * writes the replica does not get, and stays put while the writer takes none (its region out).
   */
  lagMs(side: CloudName): number {
    this.sync();
    const n = this.#nodes[side];
    if (n.role === 'writer') return 0;
    const w = this.#writers().map((s) => this.#nodes[s])[0];
    if (!w || n.log.length >= w.log.length) return 0;
    const held = n.log[n.log.length - 1]?.at ?? w.log[n.log.length]!.at;
    return w.log[w.log.length - 1]!.at - held;
  }

  /** Promotes `side` to writer; throws when it already is one. */
  promote(side: CloudName): Promotion {
    this.sync();
    const n = this.#nodes[side];
    if (n.role === 'writer') throw new RangeError(`side: the ${side} database is already a writer`);
    const old = this.#nodes[side === 'aws' ? 'gcp' : 'aws'];
    const held = commonPrefix(n.log, old.log);
    const lost = old.role === 'writer' ? old.log.slice(held) : [];
    const lagMs = this.lagMs(side);
    const newestHeld = n.log[n.log.length - 1]?.at;
    const promotion: Promotion = {
      at: this.#opts.now(),
      side,
      lostWrites: lost.length,
      lossWindowMs: lost.length > 0 ? lost[lost.length - 1]!.at - (newestHeld ?? lost[0]!.at) : 0,
      lagMs,
    };
    n.role = 'writer';
    n.fenced = false;
    this.promotions.push(promotion);
    this.sync();
    return promotion;
  }

  /**
   * Demotes `side` to a replica of the other writer, re-seeded from it: the writes it alone held
   * are discarded (counted). Throws when the other side is not a writer (there would be none).
   */
  demote(side: CloudName): { discardedWrites: number } {
    this.sync();
    const n = this.#nodes[side];
    const other = this.#nodes[side === 'aws' ? 'gcp' : 'aws'];
    if (n.role !== 'writer') throw new RangeError(`side: the ${side} database is not a writer`);
    if (other.role !== 'writer') {
      throw new RangeError(`side: the ${other.side} database is not a writer; demoting ${side} leaves none`);
    }
    const shared = commonPrefix(n.log, other.log);
    const discardedWrites = n.log.length - shared;
    this.#discarded += discardedWrites;
    n.role = 'replica';
    n.fenced = false;
    n.log = other.log.slice();
    this.sync();
    return { discardedWrites };
  }

  /**
   * Revokes writes to `side`'s node, whatever its role and whether its region is up (the control is
   * global). Idempotent: fencing a fenced node changes nothing. Returns the node's role and fence.
   */
  fence(side: CloudName): { side: CloudName; role: DbRole; fenced: true } {
    this.sync();
    this.#nodes[side].fenced = true;
    this.sync();
    return { side, role: this.#nodes[side].role, fenced: true };
  }

  fenced(side: CloudName): boolean {
    return this.#nodes[side].fenced;
  }

  describe() {
    this.sync();
    const view = (s: CloudName) => ({
      role: this.#nodes[s].role,
      writes: this.#nodes[s].log.length,
      lagMs: this.lagMs(s),
      available: this.#opts.regionUp(s),
      fenced: this.#nodes[s].fenced,
    });
    return {
      aws: view('aws'),
      gcp: view('gcp'),
      replicationPathUp: this.#opts.pathUp() && this.#bothUp(),
      promotions: this.promotions.map((p) => ({ ...p, at: new Date(p.at).toISOString() })),
      splitBrains: this.splitBrains.map((b) => ({
        since: new Date(b.since).toISOString(),
        ...(b.until !== undefined ? { until: new Date(b.until).toISOString() } : {}),
      })),
      discardedWrites: this.#discarded,
    };
  }

  role(side: CloudName): DbRole {
    return this.#nodes[side].role;
  }

  #writers(): CloudName[] {
    return (Object.keys(this.#nodes) as CloudName[]).filter((s) => this.#nodes[s].role === 'writer');
  }

  #bothUp(): boolean {
    return this.#opts.regionUp('aws') && this.#opts.regionUp('gcp');
  }
}

function commonPrefix(a: Write[], b: Write[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i]!.id === b[i]!.id) i++;
  return i;
}
