/**
 * The VPN inventory exchange between the clouds (docs/vpn-runs.md, "The inventory exchange"), the
 * same on both: the run's coordinator puts `VpnInventoryRequested {runId, side}`; the other side
 * reads its own VPNs, tunnels, gateways and routers (its export, `readExport`) and puts one
 * `VpnInventoryReported` per page (inventory-pages.ts), one event per put so no request nears a
 * bus's size limit; the coordinator stores each page it receives by run, side and page number, and
 * the run reads the whole report with `readPeerInventory`. A repeated request reports again, and a
 * repeated page is stored once: both are harmless.
 */
import type { Clock } from '../clock.ts';
import { buildEvent, type Cloud, type CloudEvent, type Origin, parseEventType } from '../envelope.ts';
import { ValidationError } from '../errors.ts';
import * as checks from '../events/checks.ts';
import { checkEventData } from '../events/schemas.ts';
import type { EventSink } from '../link/ports.ts';
import {
  INVENTORY_PAGE_BYTES,
  type InventoryExport,
  type InventoryPageStore,
  inventoryPages,
} from './inventory-pages.ts';
import { scheduledAtOf } from './run.ts';

export interface InventoryExchangeDeps {
  /** This side: it answers requests for its inventory and stores the other side's reports. */
  origin: Origin;
  clock: Clock;
  /** This side's export, in the form the planner imports (import-aws.ts / import-gcp.ts). */
  readExport(): Promise<InventoryExport>;
  /** This side's bus or topic: the pages go there (the relay carries them to the coordinator). */
  sink: EventSink;
  /** Where the coordinator keeps the pages it received. */
  pages: InventoryPageStore;
  /** The byte budget of one page (default INVENTORY_PAGE_BYTES). */
  pageBytes?: number;
}

export type InventoryExchangeResult =
  | { action: 'reported'; runId: string; pages: number }
  | { action: 'stored'; runId: string; side: Cloud; page: number; pages: number }
  | { action: 'ignored'; reason: string };

/** What a coordinator's run asks of its own side's inventory function: store this side's inventory. */
export interface OwnInventoryRequest {
  step: 'own-inventory';
  runId: string;
}

/**
 * A run's own side, read for the coordinator's plan as the peer's is: this side's export, paged
 * as a report to the peer would be, each page stored under the run and this side (the plan reads
 * both sides' pages from the store: the run's state passes only their count). Storing again (a
 * retried task) writes a newer report, which is the one read (`readOwnInventory`).
 */
export async function storeOwnInventory(
  deps: Pick<InventoryExchangeDeps, 'origin' | 'clock' | 'readExport' | 'pages' | 'pageBytes'>,
  input: unknown,
): Promise<{ action: 'stored-own'; runId: string; side: Cloud; pages: number }> {
  const o = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  const issues: { path: string; reason: string }[] = [];
  if (o.step !== 'own-inventory') issues.push({ path: 'step', reason: 'must be own-inventory' });
  if (typeof o.runId !== 'string' || scheduledAtOf(o.runId) === undefined)
    issues.push({ path: 'runId', reason: 'must be a VPN run id (vpn-<installation>-<yyyymmdd>T<hhmmss>Z)' });
  if (issues.length) throw new ValidationError(issues, 'own inventory request');
  const runId = o.runId as string;
  const side = deps.origin.cloud;
  const pages = inventoryPages(
    { runId, side, reportedAt: new Date(deps.clock.now()).toISOString() },
    await deps.readExport(),
    deps.pageBytes ?? INVENTORY_PAGE_BYTES,
  );
  for (const page of pages) await deps.pages.put(page);
  return { action: 'stored-own', runId, side, pages: pages.length };
}

/** Whether an event is one of the exchange's (what the responders' triggers pass on). */
export function isInventoryEvent(event: { type?: unknown }): boolean {
  const name = typeof event.type === 'string' ? parseEventType(event.type)?.name : undefined;
  return name === 'VpnInventoryRequested' || name === 'VpnInventoryReported';
}

/**
 * Handles one event of the exchange on this side: a request for this side's inventory from the
 * other side is answered with its pages; a page of the other side's report is stored. Anything
 * else (this side's own events coming back, a request for another side) is ignored, with why.
 */
export async function handleInventoryEvent(
  deps: InventoryExchangeDeps,
  event: CloudEvent,
): Promise<InventoryExchangeResult> {
  const side = deps.origin.cloud;
  const name = parseEventType(event.type)?.name;
  if (event.crosslinkorigin === side)
    return { action: 'ignored', reason: `${name ?? event.type} came from this side (${side})` };
  if (name === 'VpnInventoryRequested') {
    const data = checkEventData(checks.VpnInventoryRequested, event.data);
    if (data.side !== side)
      return { action: 'ignored', reason: `the request is for ${data.side}'s inventory` };
    const pages = inventoryPages(
      { runId: data.runId, side, reportedAt: new Date(deps.clock.now()).toISOString() },
      await deps.readExport(),
      deps.pageBytes ?? INVENTORY_PAGE_BYTES,
    );
    for (const page of pages) {
      const reported = buildEvent({
        name: 'VpnInventoryReported',
        origin: deps.origin,
        subject: data.runId,
        data: checkEventData(checks.VpnInventoryReported, page),
        clock: deps.clock,
        ...(event.traceparent ? { traceparent: event.traceparent } : {}),
      });
      await deps.sink.put([reported]);
    }
    return { action: 'reported', runId: data.runId, pages: pages.length };
  }
  if (name === 'VpnInventoryReported') {
    const data = checkEventData(checks.VpnInventoryReported, event.data);
    if (data.side === side) return { action: 'ignored', reason: `the report is this side's own (${side})` };
    await deps.pages.put(data);
    return { action: 'stored', runId: data.runId, side: data.side, page: data.page, pages: data.pages };
  }
  return { action: 'ignored', reason: `${name ?? event.type} is not an inventory event` };
}
