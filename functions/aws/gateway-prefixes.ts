/**
 * The Direct Connect gateway's associations (their allowed prefixes) for the verify stage, and the
 * one write crosslink may make to them when configured to (`CROSSLINK_MANAGE_ALLOWED_PREFIXES`):
 * adding prefixes. It never removes one: other connections on the gateway may depend on it.
 */
import {
  DescribeDirectConnectGatewayAssociationsCommand,
  type DirectConnectClient,
  UpdateDirectConnectGatewayAssociationCommand,
} from '@aws-sdk/client-direct-connect';
import type { AssociationPrefixes } from '#core/link/prefixes.ts';

/**
 * Where the link's gateway is reached: `accountId` the account it lives in (the request's), for a
 * router across accounts; `region` the link's AWS region, whose Direct Connect endpoint is called.
 */
export interface GatewayPlace {
  accountId?: string;
  region?: string;
}

export interface GatewayPrefixes {
  associations(directConnectGatewayId: string, where?: GatewayPlace): Promise<AssociationPrefixes[]>;
  add(associationId: string, prefixes: string[], where?: GatewayPlace): Promise<void>;
}

/** The Direct Connect API of one account, called in the link's region (`defaultRegion` without one). */
export class DirectConnectGatewayPrefixes implements GatewayPrefixes {
  readonly #clientFor: (region: string) => DirectConnectClient;
  readonly #defaultRegion: string;
  constructor(clientFor: (region: string) => DirectConnectClient, defaultRegion: string) {
    this.#clientFor = clientFor;
    this.#defaultRegion = defaultRegion;
  }

  async associations(
    directConnectGatewayId: string,
    where: GatewayPlace = {},
  ): Promise<AssociationPrefixes[]> {
    const dx = this.#clientFor(where.region ?? this.#defaultRegion);
    const out: AssociationPrefixes[] = [];
    let nextToken: string | undefined;
    do {
      const page = await dx.send(
        new DescribeDirectConnectGatewayAssociationsCommand({ directConnectGatewayId, nextToken }),
      );
      nextToken = page.nextToken;
      for (const a of page.directConnectGatewayAssociations ?? []) {
        out.push({
          associationId: a.associationId ?? '',
          state: a.associationState ?? 'unknown',
          allowedPrefixes: (a.allowedPrefixesToDirectConnectGateway ?? []).flatMap((p) =>
            p.cidr ? [p.cidr] : [],
          ),
        });
      }
    } while (nextToken);
    return out;
  }

  async add(associationId: string, prefixes: string[], where: GatewayPlace = {}): Promise<void> {
    await this.#clientFor(where.region ?? this.#defaultRegion).send(
      new UpdateDirectConnectGatewayAssociationCommand({
        associationId,
        addAllowedPrefixesToDirectConnectGateway: prefixes.map((cidr) => ({ cidr })),
      }),
    );
  }
}
