/**
 * Halves in several accounts: crosslink runs in a hub account and a link's AWS half (its connection
 * and the Direct Connect gateway it attaches to) may live in a network account, the request's
 * `aws.accountId`, reached through the role config maps that account to (`CROSSLINK_ACCOUNT_ROLES`,
 * assumed with STS). Creating, accepting and the gateway's prefixes go to the request's account;
 * reads, deletes and lists span the hub and every configured account, because a connection id does
 * not name its account: a half is gone only when every account says 404, and an account that
 * cannot answer makes the answer unknown (its error propagates), never "gone".
 */

import type { AwsConnectionState } from '#core/link/model.ts';
import type { AcceptHalfInput, InitiateHalfInput, OwnHalves } from '#core/link/ports.ts';
import type { AssociationPrefixes } from '#core/link/prefixes.ts';
import type { LinkRequest } from '#core/policy/request.ts';
import type { GatewayPlace, GatewayPrefixes } from './gateway-prefixes.ts';
import type { HalfView, InterconnectHalves } from './halves.ts';

/**
 * Where this side may place a half: the hub account or one `CROSSLINK_ACCOUNT_ROLES` maps to a
 * role. The intake refuses any other `aws.accountId` before recording the request, and the
 * acceptor's request step refuses a peer's request naming one; without this check the halves below
 * would create the connection in the hub account instead of the one the request names.
 */
export function accountPlacement(hub: string, roles: Readonly<Record<string, string>>) {
  return (request: LinkRequest): { path: string; reason: string }[] => {
    const a = request.aws.accountId;
    if (a === hub || Object.hasOwn(roles, a)) return [];
    const known = [hub, ...Object.keys(roles)].join(', ');
    return [
      {
        path: 'aws.accountId',
        reason: `${a} is neither the hub account nor a network account with a role in CROSSLINK_ACCOUNT_ROLES (${known})`,
      },
    ];
  };
}

export class AccountRoutedHalves implements OwnHalves {
  readonly #hub: InterconnectHalves;
  readonly #accounts: Map<string, InterconnectHalves>;

  /** `hub`: the hub account's halves; `accounts`: each configured network account's, by id. */
  constructor(hub: InterconnectHalves, accounts: Map<string, InterconnectHalves>) {
    this.#hub = hub;
    this.#accounts = accounts;
  }

  #for(accountId: string): InterconnectHalves {
    return this.#accounts.get(accountId) ?? this.#hub;
  }

  #all(): InterconnectHalves[] {
    return [this.#hub, ...this.#accounts.values()];
  }

  /** Environments are the region's offering, the same from any account: the hub answers. */
  capacity(request: LinkRequest) {
    return this.#hub.capacity(request);
  }

  initiate(input: InitiateHalfInput): Promise<{ half: HalfView; keyRef: string }> {
    return this.#for(input.request.aws.accountId).initiate(input);
  }

  accept(input: AcceptHalfInput): Promise<HalfView> {
    return this.#for(input.request.aws.accountId).accept(input);
  }

  /** The connection from whichever account holds it; null only when every account says 404. */
  async getHalf(connectionId: string): Promise<HalfView | null> {
    for (const halves of this.#all()) {
      const h = await halves.getHalf(connectionId);
      if (h) return h;
    }
    return null;
  }

  async listHalves(): Promise<HalfView[]> {
    return (await Promise.all(this.#all().map((h) => h.listHalves()))).flat();
  }

  async findHalves(linkId: string, region?: string): Promise<HalfView[]> {
    return (await Promise.all(this.#all().map((h) => h.findHalves(linkId, region)))).flat();
  }

  /** Deletes it in the account that holds it; gone everywhere counts as deleted. */
  async deleteHalf(connectionId: string): Promise<AwsConnectionState | null> {
    for (const halves of this.#all()) {
      if (await halves.getHalf(connectionId)) return halves.deleteHalf(connectionId);
    }
    return null;
  }
}

/** The gateway's prefixes, read and extended in the account the request names. */
export class AccountRoutedPrefixes implements GatewayPrefixes {
  readonly #hub: GatewayPrefixes;
  readonly #accounts: Map<string, GatewayPrefixes>;

  constructor(hub: GatewayPrefixes, accounts: Map<string, GatewayPrefixes>) {
    this.#hub = hub;
    this.#accounts = accounts;
  }

  #for(accountId: string | undefined): GatewayPrefixes {
    return (accountId !== undefined ? this.#accounts.get(accountId) : undefined) ?? this.#hub;
  }

  associations(directConnectGatewayId: string, where: GatewayPlace = {}): Promise<AssociationPrefixes[]> {
    return this.#for(where.accountId).associations(directConnectGatewayId, where);
  }

  add(associationId: string, prefixes: string[], where: GatewayPlace = {}): Promise<void> {
    return this.#for(where.accountId).add(associationId, prefixes, where);
  }
}
