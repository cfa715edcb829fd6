/**
 * The BGP sessions of a link's AWS half, for the watcher's health judgement (docs/link-health.md):
 * Direct Connect `DescribeVirtualInterfaces` for the Interconnect connection, every BGP peer of its
 * virtual interfaces, `bgpStatus` `up` counted up (`down` and `unknown` not).
 */
import { DescribeVirtualInterfacesCommand, type DirectConnectClient } from '@aws-sdk/client-direct-connect';
import type { BgpSessionView } from '#core/link/health.ts';
import type { GatewayPlace } from './gateway-prefixes.ts';

export interface BgpSessionReader {
  sessions(connectionId: string, where?: GatewayPlace): Promise<BgpSessionView[]>;
}

/** One account's Direct Connect API, called in the connection's region (`defaultRegion` without one). */
export class DirectConnectBgpSessions implements BgpSessionReader {
  readonly #clientFor: (region: string) => DirectConnectClient;
  readonly #defaultRegion: string;
  constructor(clientFor: (region: string) => DirectConnectClient, defaultRegion: string) {
    this.#clientFor = clientFor;
    this.#defaultRegion = defaultRegion;
  }

  async sessions(connectionId: string, where: GatewayPlace = {}): Promise<BgpSessionView[]> {
    const dx = this.#clientFor(where.region ?? this.#defaultRegion);
    const out: BgpSessionView[] = [];
    let nextToken: string | undefined;
    do {
      const page = await dx.send(new DescribeVirtualInterfacesCommand({ connectionId, nextToken }));
      nextToken = page.nextToken;
      for (const vif of page.virtualInterfaces ?? [])
        for (const peer of vif.bgpPeers ?? [])
          out.push({
            id: peer.bgpPeerId ?? `${vif.virtualInterfaceId}/${peer.amazonAddress}`,
            up: peer.bgpStatus === 'up',
          });
    } while (nextToken);
    return out;
  }
}

/** Each network account's reader for its own connections, the hub's for the rest. */
export class AccountRoutedBgpSessions implements BgpSessionReader {
  readonly #hub: BgpSessionReader;
  readonly #accounts: Map<string, BgpSessionReader>;
  constructor(hub: BgpSessionReader, accounts: Map<string, BgpSessionReader>) {
    this.#hub = hub;
    this.#accounts = accounts;
  }

  sessions(connectionId: string, where: GatewayPlace = {}): Promise<BgpSessionView[]> {
    const reader =
      (where.accountId !== undefined ? this.#accounts.get(where.accountId) : undefined) ?? this.#hub;
    return reader.sessions(connectionId, where);
  }
}
