/**
 * This side's half of a link, as the workflows and the watcher see it: AWS Interconnect connections
 * reduced to what crosslink needs, **without the activation key**. The provider returns the key on
 * every read (`Connection.activationKey`); only `createHalf`, the one call that issues it, reads it,
 * stores it in the secret store at once and returns the secret's name instead.
 *
 * Every connection is tagged `crosslink:link-id` (plus the configured cost tags) and described by its
 * link id, and creation uses the link id as `clientToken`, so a retried create (after a lost answer)
 * returns the same connection, and compensation can find a connection whose creation answer was lost.
 */
import {
  AcceptConnectionProposalCommand,
  type AttachPoint,
  type Connection,
  type ConnectionSummary,
  CreateConnectionCommand,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GetEnvironmentCommand,
  type InterconnectClient,
  paginateListConnections,
  ResourceNotFoundException,
} from '#aws/interconnect-client.ts';
import type { AwsConnectionState } from '#core/link/model.ts';
import type { InitiateHalfInput, AcceptHalfInput as OwnAcceptInput, OwnHalves } from '#core/link/ports.ts';
import type { ObservedHalf } from '#core/link/watcher.ts';
import type { RegionPair } from '#core/policy/policy.ts';
import type { SecretStore } from './secret-store.ts';

/** A connection as crosslink passes it around: never the activation key. */
export interface HalfView {
  connectionId: string;
  arn: string;
  state: AwsConnectionState;
  sharedId?: string;
  environmentId: string;
  bandwidth: string;
  /** The link id from the description, when the connection is crosslink's. */
  linkId?: string;
}

export interface CreateHalfInput {
  linkId: string;
  bandwidth: string;
  environmentId: string;
  directConnectGateway: string;
  /** The partner's account the key is meant for (Google: the project). */
  remoteAccount: string;
  tags?: Record<string, string>;
}

export interface AcceptHalfInput {
  linkId: string;
  activationKey: string;
  directConnectGateway: string;
  tags?: Record<string, string>;
}

const LINK_TAG = 'crosslink:link-id';
const LINK_ID_IN_DESCRIPTION = /^crosslink (lk-[0-9a-z]{26})$/;

export function descriptionOf(linkId: string): string {
  return `crosslink ${linkId}`;
}

/** Drops the activation key (and anything else not listed) from a provider answer. */
export function toHalfView(c: Connection | ConnectionSummary): HalfView {
  const view: HalfView = {
    connectionId: c.id,
    arn: c.arn,
    state: c.state,
    environmentId: c.environmentId,
    bandwidth: c.bandwidth,
  };
  if (c.sharedId) view.sharedId = c.sharedId;
  const m = LINK_ID_IN_DESCRIPTION.exec(c.description ?? '');
  if (m) view.linkId = m[1];
  return view;
}

const isNotFound = (e: unknown) =>
  e instanceof ResourceNotFoundException || (e as Error)?.name === 'ResourceNotFoundException';

export class InterconnectHalves implements OwnHalves {
  readonly #client: InterconnectClient;
  readonly #secrets: SecretStore;
  constructor(client: InterconnectClient, secrets: SecretStore) {
    this.#client = client;
    this.#secrets = secrets;
  }

  /** Live capacity for the request stage: environment state and orderable bandwidths. */
  async capacity(pairOrEnvironment: RegionPair | string) {
    const environmentId =
      typeof pairOrEnvironment === 'string' ? pairOrEnvironment : pairOrEnvironment.environmentId;
    const { environment } = await this.#client.send(new GetEnvironmentCommand({ id: environmentId }));
    return {
      environmentId,
      state: environment.state,
      availableBandwidths: environment.bandwidths.available ?? [],
      supportedBandwidths: environment.bandwidths.supported ?? [],
    };
  }

  /** CreateConnection; the key goes to the secret store before anything else happens with the answer. */
  async createHalf(input: CreateHalfInput): Promise<{ half: HalfView; keyRef: string }> {
    const out = await this.#client.send(
      new CreateConnectionCommand({
        bandwidth: input.bandwidth,
        attachPoint: { directConnectGateway: input.directConnectGateway } as AttachPoint,
        environmentId: input.environmentId,
        description: descriptionOf(input.linkId),
        remoteAccount: { identifier: input.remoteAccount },
        tags: { ...input.tags, [LINK_TAG]: input.linkId },
        clientToken: `${input.linkId}-create`,
      }),
    );
    const c = out.connection;
    if (!c) throw new Error('CreateConnection returned no connection');
    const keyRef = await this.#secrets.putActivationKey(input.linkId, c.activationKey);
    return { half: toHalfView(c), keyRef };
  }

  /** The steps' initiate: CreateConnection toward the request's Google project. */
  initiate(input: InitiateHalfInput): Promise<{ half: HalfView; keyRef: string }> {
    return this.createHalf({
      linkId: input.linkId,
      bandwidth: input.request.bandwidth,
      environmentId: input.environmentId,
      directConnectGateway: input.request.aws.directConnectGateway,
      remoteAccount: input.request.gcp.project,
      tags: input.tags,
    });
  }

  /** The steps' accept: AcceptConnectionProposal on the request's gateway. */
  accept(input: OwnAcceptInput): Promise<HalfView> {
    return this.acceptHalf({
      linkId: input.linkId,
      activationKey: input.activationKey,
      directConnectGateway: input.request.aws.directConnectGateway,
      tags: input.tags,
    });
  }

  async acceptHalf(input: AcceptHalfInput): Promise<HalfView> {
    const out = await this.#client.send(
      new AcceptConnectionProposalCommand({
        attachPoint: { directConnectGateway: input.directConnectGateway } as AttachPoint,
        activationKey: input.activationKey,
        description: descriptionOf(input.linkId),
        tags: { ...input.tags, [LINK_TAG]: input.linkId },
        clientToken: `${input.linkId}-accept`,
      }),
    );
    if (!out.connection) throw new Error('AcceptConnectionProposal returned no connection');
    return toHalfView(out.connection);
  }

  /** The connection, or null when the provider says it does not exist (404). */
  async getHalf(connectionId: string): Promise<HalfView | null> {
    try {
      const out = await this.#client.send(new GetConnectionCommand({ identifier: connectionId }));
      return out.connection ? toHalfView(out.connection) : null;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  /** Every connection of this account and region (paginated). */
  async listHalves(): Promise<HalfView[]> {
    const all: HalfView[] = [];
    for await (const page of paginateListConnections({ client: this.#client, pageSize: 100 }, {})) {
      for (const c of page.connections ?? []) all.push(toHalfView(c));
    }
    return all;
  }

  /** The live connections of one link, found by description (for compensation after a lost answer). */
  async findHalves(linkId: string): Promise<HalfView[]> {
    return (await this.listHalves()).filter((h) => h.linkId === linkId && h.state !== 'deleted');
  }

  /** DeleteConnection; a connection already gone counts as deleted. Returns the state after the call. */
  async deleteHalf(connectionId: string): Promise<AwsConnectionState | null> {
    try {
      const out = await this.#client.send(
        new DeleteConnectionCommand({ identifier: connectionId, clientToken: `${connectionId}-delete` }),
      );
      return out.connection.state;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }
}

/** A half as the watcher compares it. */
export function toObserved(h: HalfView): ObservedHalf {
  const o: ObservedHalf = { linkId: h.linkId, resourceId: h.connectionId, nativeState: h.state };
  if (h.sharedId) o.sharedId = h.sharedId;
  return o;
}
