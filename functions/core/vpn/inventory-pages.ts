/**
 * The VPN inventory a cloud reports to the run's coordinator, in pages (docs/vpn-runs.md, "The
 * inventory exchange"). An export is what the planner imports (import-aws.ts, import-gcp.ts): an
 * object whose top-level members are arrays (`VpnConnections`, `vpnTunnels`, ...) or maps
 * (`TransitGatewayRoutes`, `routerStatus`). `pageExport` splits it so that each page's JSON stays
 * within a byte budget (every array sliced, every map split by key, members in a fixed order);
 * `assembleReport` checks the pages a coordinator received and merges them back.
 *
 * The pages of one report share `runId`, `side`, `pages` and `reportedAt`. Received pages may come
 * twice (at-least-once buses, the relay) or out of order: a page identical to one held is a
 * duplicate and harmless; a page of another run, or one that disagrees with the report's other
 * pages, is refused naming why.
 */
import type { Cloud } from '../envelope.ts';
import { ValidationError } from '../errors.ts';

/**
 * The most bytes of one page's `export` JSON. An EventBridge entry takes 256 KB and the relay's
 * SQS message 256 KiB (docs/relay.md, "Size limits"); the CloudEvent around the export adds under
 * 2 KB, so 128 KiB leaves half of every limit free.
 */
export const INVENTORY_PAGE_BYTES = 128 * 1024;

/** The most pages of one report (the events' schema allows 10,000). */
export const MAX_INVENTORY_PAGES = 10_000;

export type InventoryExport = Record<string, unknown>;

/** One page as the events carry it (VpnInventoryReported's data). */
export interface InventoryPage {
  runId: string;
  side: Cloud;
  page: number;
  pages: number;
  reportedAt: string;
  export: InventoryExport;
}

const size = (v: unknown) => Buffer.byteLength(JSON.stringify(v));

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** An export item too large for any page. */
export class InventoryItemTooLargeError extends Error {
  constructor(path: string, bytes: number, budget: number) {
    super(`${path} is ${bytes} bytes as JSON: more than one inventory page holds (${budget})`);
    this.name = 'InventoryItemTooLargeError';
  }
}

/**
 * Splits an export into page exports, each within `budget` bytes of JSON. Every page has every
 * top-level key (an empty array or map where this page holds none of it), so a page alone still
 * reads as an export; merging them in order (`mergeExports`) gives the export back. Members other
 * than arrays and maps go on the first page.
 */
export function pageExport(exp: InventoryExport, budget = INVENTORY_PAGE_BYTES): InventoryExport[] {
  const keys = Object.keys(exp);
  const empty = (): InventoryExport =>
    Object.fromEntries(keys.map((k) => [k, Array.isArray(exp[k]) ? [] : isMap(exp[k]) ? {} : exp[k]]));
  const pages: InventoryExport[] = [];
  let current = empty();
  let used = size(current);
  const base = used;
  const fits = (extra: number) => used + extra <= budget;
  const next = () => {
    pages.push(current);
    current = empty();
    // Scalars ride on the first page only.
    for (const k of keys) if (!Array.isArray(exp[k]) && !isMap(exp[k])) delete current[k];
    used = size(current);
  };
  for (const k of keys) {
    const v = exp[k];
    if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) {
        // An item costs its JSON and a comma.
        const cost = size(item) + 1;
        if (base + cost > budget) throw new InventoryItemTooLargeError(`${k}[${i}]`, cost - 1, budget);
        if (!fits(cost)) next();
        (current[k] as unknown[]).push(item);
        used += cost;
      }
    } else if (isMap(v)) {
      for (const [key, item] of Object.entries(v)) {
        const cost = size(key) + 1 + size(item) + 1;
        if (base + cost > budget) throw new InventoryItemTooLargeError(`${k}.${key}`, cost - 2, budget);
        if (!fits(cost)) next();
        (current[k] as Record<string, unknown>)[key] = item;
        used += cost;
      }
    }
  }
  pages.push(current);
  if (pages.length > MAX_INVENTORY_PAGES)
    throw new Error(`the inventory needs ${pages.length} pages: more than ${MAX_INVENTORY_PAGES}`);
  return pages;
}

/** The pages of one report, as the reporting side sends them. */
export function inventoryPages(
  report: { runId: string; side: Cloud; reportedAt: string },
  exp: InventoryExport,
  budget = INVENTORY_PAGE_BYTES,
): InventoryPage[] {
  const parts = pageExport(exp, budget);
  return parts.map((part, i) => ({ ...report, page: i + 1, pages: parts.length, export: part }));
}

/** Merges page exports in order: arrays concatenated, maps joined, other members from the first. */
export function mergeExports(parts: readonly InventoryExport[]): InventoryExport {
  const out: InventoryExport = {};
  for (const part of parts) {
    for (const [k, v] of Object.entries(part)) {
      if (Array.isArray(v)) out[k] = [...((out[k] as unknown[] | undefined) ?? []), ...v];
      else if (isMap(v)) out[k] = { ...((out[k] as Record<string, unknown> | undefined) ?? {}), ...v };
      else if (!(k in out)) out[k] = v;
    }
  }
  return out;
}

export type PeerInventory =
  | { complete: false; side: Cloud; missing: number[]; pages: number | undefined }
  | { complete: true; side: Cloud; reportedAt: string; pages: number; export: InventoryExport };

/**
 * What the coordinator holds of `side`'s report for `runId`: the missing page numbers (all of them
 * unknown while no page came: `pages` undefined), or the merged export once 1..pages are in.
 * Duplicates are dropped; a page of another run or side, or one that disagrees with the others
 * (its page count, its report time, or different content under the same number), is a
 * ValidationError naming it.
 */
export function assembleReport(
  runId: string,
  side: Cloud,
  received: readonly InventoryPage[],
): PeerInventory {
  const issues: { path: string; reason: string }[] = [];
  const byNumber = new Map<number, InventoryPage>();
  let first: InventoryPage | undefined;
  for (const p of received) {
    const at = `page ${p.page}`;
    if (p.runId !== runId) {
      issues.push({ path: at, reason: `belongs to run ${p.runId}, not ${runId}` });
      continue;
    }
    if (p.side !== side) {
      issues.push({ path: at, reason: `reports ${p.side}, not ${side}` });
      continue;
    }
    if (!Number.isInteger(p.page) || !Number.isInteger(p.pages) || p.page < 1 || p.page > p.pages) {
      issues.push({ path: at, reason: `is not a page of 1..${p.pages}` });
      continue;
    }
    first ??= p;
    if (p.pages !== first.pages || p.reportedAt !== first.reportedAt) {
      issues.push({
        path: at,
        reason: `is of another report (${p.pages} pages at ${p.reportedAt}; page ${first.page} says ${first.pages} at ${first.reportedAt})`,
      });
      continue;
    }
    const held = byNumber.get(p.page);
    if (held && JSON.stringify(held.export) !== JSON.stringify(p.export)) {
      issues.push({ path: at, reason: 'came twice with different content' });
      continue;
    }
    byNumber.set(p.page, p);
  }
  if (issues.length > 0) throw new ValidationError(issues, `the ${side} inventory of ${runId}`);
  if (!first) return { complete: false, side, missing: [], pages: undefined };
  const missing: number[] = [];
  for (let n = 1; n <= first.pages; n++) if (!byNumber.has(n)) missing.push(n);
  if (missing.length > 0) return { complete: false, side, missing, pages: first.pages };
  const ordered = [...byNumber.values()].sort((a, b) => a.page - b.page).map((p) => p.export);
  return {
    complete: true,
    side,
    reportedAt: first.reportedAt,
    pages: first.pages,
    export: mergeExports(ordered),
  };
}

/**
 * Where the coordinator keeps the pages it received (DynamoDB on AWS, Firestore on Google), by
 * run, side and page number: putting a page twice keeps one.
 */
export interface InventoryPageStore {
  put(page: InventoryPage): Promise<void>;
  /** Every page held for the run and side, in any order. */
  pages(runId: string, side: Cloud): Promise<InventoryPage[]>;
}

/**
 * A coordinator's own inventory for a run, as its inventory task stored it
 * (inventory-exchange.ts `storeOwnInventory`): the newest report. A retried task stores a whole new
 * report over the same page numbers, so pages an earlier attempt wrote beyond the new count stay
 * behind, older, and are not read; the newest report is still checked whole (a missing page, or a
 * page of another run or side, is reported as for the peer).
 */
export async function readOwnInventory(
  store: InventoryPageStore,
  runId: string,
  side: Cloud,
): Promise<PeerInventory> {
  const held = await store.pages(runId, side);
  const mine = (p: InventoryPage) => p.runId === runId && p.side === side;
  let newest: string | undefined;
  for (const p of held)
    if (mine(p) && (newest === undefined || Date.parse(p.reportedAt) > Date.parse(newest)))
      newest = p.reportedAt;
  return assembleReport(
    runId,
    side,
    held.filter((p) => !mine(p) || p.reportedAt === newest),
  );
}

/** The port the run reads the peer's inventory through. */
export async function readPeerInventory(
  store: InventoryPageStore,
  runId: string,
  side: Cloud,
): Promise<PeerInventory> {
  return assembleReport(runId, side, await store.pages(runId, side));
}
