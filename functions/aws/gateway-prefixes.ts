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

export interface GatewayPrefixes {
  /** `accountId`: the account the gateway lives in (the request's), for a router across accounts. */
  associations(directConnectGatewayId: string, accountId?: string): Promise<AssociationPrefixes[]>;
  add(associationId: string, prefixes: string[], accountId?: string): Promise<void>;
}

export class DirectConnectGatewayPrefixes implements GatewayPrefixes {
  readonly #dx: DirectConnectClient;
  constructor(dx: DirectConnectClient) {
    this.#dx = dx;
  }

  async associations(directConnectGatewayId: string): Promise<AssociationPrefixes[]> {
    const out: AssociationPrefixes[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.#dx.send(
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

  async add(associationId: string, prefixes: string[]): Promise<void> {
    await this.#dx.send(
      new UpdateDirectConnectGatewayAssociationCommand({
        associationId,
        addAllowedPrefixesToDirectConnectGateway: prefixes.map((cidr) => ({ cidr })),
      }),
    );
  }
}
