/**
 * The Google side of the VPN inventory exchange (functions/core/vpn/inventory-exchange.ts,
 * docs/vpn-runs.md "The inventory exchange"): the `vpn-inventory` function, pushed every event of
 * crosslink-peer-events. It answers AWS's `VpnInventoryRequested` with this side's export (gcloud's
 * lists and router status, as `crosslink vpn plan --gcp` takes them) of the hub and each network
 * project, published in pages on crosslink-events, which the relay carries to AWS; it stores AWS's
 * `VpnInventoryReported` pages in Firestore (`vpnRuns/<runId>/inventoryPages/<side>-<page>`),
 * where the run reads them with `readPeerInventory`.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { Clock } from '#core/clock.ts';
import type { Cloud } from '#core/envelope.ts';
import type { EventSink } from '#core/link/ports.ts';
import type { InventoryExchangeDeps } from '#core/vpn/inventory-exchange.ts';
import type { InventoryExport, InventoryPage, InventoryPageStore } from '#core/vpn/inventory-pages.ts';
import type { ComputeRest } from './vpn-half.ts';

/** What the export reads of Compute Engine (ComputeRest's reads). */
export type ComputeReads = Pick<ComputeRest, 'get' | 'list'>;

const last = (ref: string) => ref.slice(ref.lastIndexOf('/') + 1);

/** Every VPN tunnel of a project, all regions (`aggregated/vpnTunnels`, paged). */
async function tunnelsOf(compute: ComputeReads, project: string): Promise<{ region?: string }[]> {
  const out: { region?: string }[] = [];
  let token = '';
  do {
    const page = await compute.get<{
      items?: Record<string, { vpnTunnels?: { region?: string }[] }>;
      nextPageToken?: string;
    }>(project, `aggregated/vpnTunnels${token ? `?pageToken=${encodeURIComponent(token)}` : ''}`);
    for (const scope of Object.values(page?.items ?? {})) out.push(...(scope.vpnTunnels ?? []));
    token = page?.nextPageToken ?? '';
  } while (token);
  return out;
}

/**
 * The export of `projects`: `{vpnTunnels, routers, routerStatus, externalVpnGateways}` as gcloud
 * lists them (importGcpExport's input): every tunnel, the routers of the regions holding tunnels
 * with each router's `getRouterStatus`, and the external VPN gateways. `routerStatus` is keyed by
 * router name, as the importer reads it.
 */
export async function readGcpExport(
  compute: ComputeReads,
  projects: readonly string[],
  /** Regions whose routers are read even without a tunnel there. */
  alsoRegions: readonly string[] = [],
): Promise<InventoryExport> {
  const vpnTunnels: unknown[] = [];
  const routers: unknown[] = [];
  const routerStatus: Record<string, unknown> = {};
  const externalVpnGateways: unknown[] = [];
  for (const project of projects) {
    const tunnels = await tunnelsOf(compute, project);
    vpnTunnels.push(...tunnels);
    const regions = [
      ...new Set([...alsoRegions, ...tunnels.flatMap((t) => (t.region ? [last(t.region)] : []))]),
    ].sort();
    for (const region of regions) {
      for (const r of await compute.list<{ name: string }>(project, `regions/${region}/routers`)) {
        routers.push(r);
        routerStatus[r.name] = await compute.get(
          project,
          `regions/${region}/routers/${r.name}/getRouterStatus`,
        );
      }
    }
    externalVpnGateways.push(...(await compute.list(project, 'global/externalVpnGateways')));
  }
  return { vpnTunnels, routers, routerStatus, externalVpnGateways };
}

/**
 * The pages the coordinator received: one document each, `vpnRuns/<runId>/inventoryPages/<side>-<page>`,
 * the page as JSON text (an export's nested arrays are not Firestore values).
 */
export class FirestoreInventoryPages implements InventoryPageStore {
  readonly #db: Firestore;
  constructor(db: Firestore) {
    this.#db = db;
  }

  #pages(runId: string) {
    return this.#db.collection('vpnRuns').doc(runId).collection('inventoryPages');
  }

  async put(page: InventoryPage): Promise<void> {
    // The same page again overwrites itself: a duplicate leaves one document.
    await this.#pages(page.runId)
      .doc(`${page.side}-${String(page.page).padStart(5, '0')}`)
      .set({ side: page.side, page: page.page, json: JSON.stringify(page) });
  }

  async pages(runId: string, side: Cloud): Promise<InventoryPage[]> {
    const snap = await this.#pages(runId).where('side', '==', side).get();
    return snap.docs.map((d) => JSON.parse(String(d.get('json'))) as InventoryPage);
  }
}

/** The `vpnInventory` function's dependencies in `project` / `region`. */
export function buildVpnInventoryDeps(
  placement: { project: string; region: string },
  clients: {
    compute: ComputeReads;
    /** The hub and the network projects whose VPNs this side reports. */
    projects: readonly string[];
    firestore: Firestore;
    bus: EventSink;
    clock: Clock;
  },
): InventoryExchangeDeps {
  return {
    origin: { cloud: 'gcp', project: placement.project, region: placement.region },
    clock: clients.clock,
    readExport: () => readGcpExport(clients.compute, clients.projects),
    sink: clients.bus,
    pages: new FirestoreInventoryPages(clients.firestore),
  };
}
