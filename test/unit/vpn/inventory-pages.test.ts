/**
 * The VPN inventory in pages (functions/core/vpn/inventory-pages.ts): an export too large for one
 * event split under the byte budget, every page an export itself, the pages merged back equal to
 * the export, and the coordinator's checks of what it received: missing pages, duplicates and
 * reordering harmless, pages of another run or report refused naming them; and a coordinator's own
 * inventory, read as its newest report.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors.ts';
import { importAwsExport } from '#core/vpn/import-aws.ts';
import {
  assembleReport,
  INVENTORY_PAGE_BYTES,
  InventoryItemTooLargeError,
  type InventoryPage,
  inventoryPages,
  mergeExports,
  pageExport,
  readOwnInventory,
  readPeerInventory,
} from '#core/vpn/inventory-pages.ts';

/** An EC2 export of `n` VPN connections on one Transit Gateway, each with two tunnels. */
function awsExport(n: number) {
  const hex = (i: number) => i.toString(16).padStart(17, '0');
  return {
    VpnConnections: Array.from({ length: n }, (_, i) => ({
      VpnConnectionId: `vpn-${hex(i)}`,
      State: 'available',
      CustomerGatewayId: `cgw-${hex(i)}`,
      TransitGatewayId: 'tgw-0123456789abcdef0',
      Options: { StaticRoutesOnly: false },
      VgwTelemetry: [0, 1].map((t) => ({
        OutsideIpAddress: `203.0.${Math.floor(i / 120)}.${(i % 120) * 2 + t}`,
        Status: 'UP',
        AcceptedRouteCount: 3,
      })),
      Tags: [{ Key: 'Name', Value: `estate-vpn-${i}` }],
    })),
    CustomerGateways: Array.from({ length: n }, (_, i) => ({
      CustomerGatewayId: `cgw-${hex(i)}`,
      IpAddress: `198.51.${Math.floor(i / 250)}.${i % 250}`,
      State: 'available',
    })),
    TransitGatewayAttachments: [],
    TransitGatewayRouteTables: Array.from({ length: 40 }, (_, i) => ({
      TransitGatewayRouteTableId: `tgw-rtb-${i}`,
      TransitGatewayId: 'tgw-0123456789abcdef0',
    })),
    TransitGatewayRoutes: Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [
        `tgw-rtb-${i}`,
        { Routes: [{ DestinationCidrBlock: `10.${i}.0.0/16` }] },
      ]),
    ),
  };
}

const REPORT = {
  runId: 'vpn-prod-2026-06-01T02:00:00Z',
  side: 'gcp' as const,
  reportedAt: '2026-06-01T02:00:05.000Z',
};

describe('pageExport', () => {
  it('splits an export under the budget, each page an export with every key, and merges back to it', () => {
    const exp = awsExport(1500);
    expect(Buffer.byteLength(JSON.stringify(exp))).toBeGreaterThan(3 * INVENTORY_PAGE_BYTES);
    const pages = pageExport(exp);
    expect(pages.length).toBeGreaterThanOrEqual(4);
    for (const p of pages) {
      expect(Buffer.byteLength(JSON.stringify(p))).toBeLessThanOrEqual(INVENTORY_PAGE_BYTES);
      expect(Object.keys(p).sort()).toEqual(Object.keys(exp).sort());
    }
    expect(mergeExports(pages)).toEqual(exp);
    // The planner's import reads the merge as it reads the export.
    expect(importAwsExport(mergeExports(pages)).vpnConnections).toHaveLength(1500);
  });

  it('keeps a small export in one page, and scalars on the first page only', () => {
    expect(pageExport({ a: [1, 2], m: { x: 1 }, version: 3 })).toEqual([
      { a: [1, 2], m: { x: 1 }, version: 3 },
    ]);
    const pages = pageExport({ version: 3, a: ['x'.repeat(60), 'y'.repeat(60)] }, 100);
    expect(pages).toEqual([{ version: 3, a: ['x'.repeat(60)] }, { a: ['y'.repeat(60)] }]);
    expect(mergeExports(pages)).toEqual({ version: 3, a: ['x'.repeat(60), 'y'.repeat(60)] });
  });

  it('refuses an item that no page can hold, naming it', () => {
    expect(() => pageExport({ routerStatus: { big: 'z'.repeat(500) } }, 200)).toThrow(
      InventoryItemTooLargeError,
    );
    expect(() => pageExport({ routerStatus: { big: 'z'.repeat(500) } }, 200)).toThrow(
      /routerStatus\.big is 5\d\d bytes/,
    );
  });
});

describe('assembleReport', () => {
  const pages = inventoryPages(REPORT, awsExport(900));

  it('says which pages are missing until all are in, then gives the export', () => {
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(assembleReport(REPORT.runId, 'gcp', [])).toEqual({
      complete: false,
      side: 'gcp',
      missing: [],
      pages: undefined,
    });
    const partial = assembleReport(REPORT.runId, 'gcp', [
      pages[0] as InventoryPage,
      pages[2] as InventoryPage,
    ]);
    expect(partial).toMatchObject({ complete: false, pages: pages.length });
    expect(partial.complete === false && partial.missing).toEqual(
      Array.from({ length: pages.length }, (_, i) => i + 1).filter((n) => n !== 1 && n !== 3),
    );
    const done = assembleReport(REPORT.runId, 'gcp', pages);
    expect(done).toMatchObject({
      complete: true,
      side: 'gcp',
      pages: pages.length,
      reportedAt: REPORT.reportedAt,
    });
    expect(done.complete && done.export).toEqual(awsExport(900));
  });

  it('takes duplicates and any order', () => {
    const shuffled = [...pages].reverse();
    const done = assembleReport(REPORT.runId, 'gcp', [
      ...shuffled,
      pages[1] as InventoryPage,
      pages[0] as InventoryPage,
    ]);
    expect(done.complete && done.export).toEqual(awsExport(900));
  });

  it('refuses pages of another run, another side, another report or changed content, naming each', () => {
    const other = { ...(pages[1] as InventoryPage), runId: 'vpn-prod-2026-05-31T02:00:00Z' };
    const wrongSide = { ...(pages[1] as InventoryPage), side: 'aws' as const };
    const otherReport = { ...(pages[2] as InventoryPage), pages: pages.length + 1 };
    const changed = { ...(pages[0] as InventoryPage), export: { VpnConnections: [] } };
    const attempt = (extra: InventoryPage) => () => assembleReport(REPORT.runId, 'gcp', [...pages, extra]);
    expect(attempt(other)).toThrow(ValidationError);
    expect(attempt(other)).toThrow(/page 2: belongs to run vpn-prod-2026-05-31T02:00:00Z/);
    expect(attempt(wrongSide)).toThrow(/page 2: reports aws, not gcp/);
    expect(attempt(otherReport)).toThrow(/page 3: is of another report/);
    expect(attempt(changed)).toThrow(/page 1: came twice with different content/);
    expect(attempt({ ...(pages[0] as InventoryPage), page: pages.length + 1 })).toThrow(
      /is not a page of 1\.\./,
    );
  });

  it('reads through the store port', async () => {
    const held: InventoryPage[] = [];
    const store = {
      put: async (p: InventoryPage) => void held.push(p),
      pages: async (runId: string, side: string) => held.filter((p) => p.runId === runId && p.side === side),
    };
    for (const p of pages.slice(1)) await store.put(p);
    expect(await readPeerInventory(store, REPORT.runId, 'gcp')).toMatchObject({
      complete: false,
      missing: [1],
    });
    await store.put(pages[0] as InventoryPage);
    expect(await readPeerInventory(store, REPORT.runId, 'gcp')).toMatchObject({ complete: true });
  });
});

describe('readOwnInventory', () => {
  const held: InventoryPage[] = [];
  const store = {
    put: async (p: InventoryPage) => void held.push(p),
    pages: async (runId: string, side: string) => held.filter((p) => p.runId === runId && p.side === side),
  };
  const own = { ...REPORT, side: 'aws' as const };

  it('reads the newest report whole: what an earlier attempt left beyond its pages is not read', async () => {
    // Arrange: a first attempt in many small pages, then a retry of fewer, larger pages over the same numbers.
    const first = inventoryPages(own, awsExport(300), 8 * 1024);
    const retry = inventoryPages({ ...own, reportedAt: '2026-06-01T02:00:09.000Z' }, awsExport(301));
    expect(first.length).toBeGreaterThan(retry.length);
    for (const p of first) await store.put(p);
    for (const p of retry) held.splice(p.page - 1, 1, p);
    // Act
    const read = await readOwnInventory(store, own.runId, 'aws');
    // Assess: the peer's reader refuses the mix; the own reader takes the newest report.
    await expect(readPeerInventory(store, own.runId, 'aws')).rejects.toThrow(/is of another report/);
    expect(read).toMatchObject({ complete: true, reportedAt: '2026-06-01T02:00:09.000Z' });
    expect(read.complete && read.export).toEqual(awsExport(301));
  });

  it('says which pages of the newest report are missing, and none before any page', async () => {
    // Arrange
    const pages = inventoryPages({ ...own, runId: 'vpn-prod-20260602T020000Z' }, awsExport(300), 8 * 1024);
    for (const p of pages.slice(0, 2)) await store.put(p);
    // Act / Assess
    expect(await readOwnInventory(store, 'vpn-prod-20260602T020000Z', 'aws')).toMatchObject({
      complete: false,
      missing: Array.from({ length: pages.length - 2 }, (_, i) => i + 3),
    });
    expect(await readOwnInventory(store, 'vpn-prod-20260603T020000Z', 'aws')).toEqual({
      complete: false,
      side: 'aws',
      missing: [],
      pages: undefined,
    });
  });

  it('still refuses a page of another run the store hands back, naming it', async () => {
    // Arrange: a store that mixes runs up.
    const page = inventoryPages(own, awsExport(2))[0] as InventoryPage;
    const mixed = {
      put: async () => {},
      pages: async () => [page, { ...page, runId: 'vpn-prod-20260604T020000Z' }],
    };
    // Act / Assess
    await expect(readOwnInventory(mixed, own.runId, 'aws')).rejects.toThrow(
      /page 1: belongs to run vpn-prod-20260604T020000Z/,
    );
  });
});
