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
  ResourceNotFoundException,
} from '#aws/interconnect-client.ts';
import { paginateListConnections } from '#aws/interconnect-waiters.ts';
import type { AwsConnectionState } from '#core/link/model.ts';
import type { InitiateHalfInput, AcceptHalfInput as OwnAcceptInput, OwnHalves } from '#core/link/ports.ts';
import type { ObservedHalf } from '#core/link/watch.ts';
import type { LinkRequest } from '#core/policy/request.ts';
import { withoutSecret } from '#core/redact.ts';
import type { InterconnectEnvironments } from './offerings.ts';
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
  /** The AWS region the connection is made in (the environment's). */
  region: string;
  bandwidth: string;
  environmentId: string;
  directConnectGateway: string;
  /** The partner's account the key is meant for (Google: the project). */
  remoteAccount: string;
  tags?: Record<string, string>;
}

export interface AcceptHalfInput {
  linkId: string;
  /** The AWS region the proposal is accepted in (the environment the key names is there). */
  region: string;
  activationKey: string;
  directConnectGateway: string;
  tags?: Record<string, string>;
}

export interface InterconnectHalvesOptions {
  /** The Interconnect client of an AWS region (its endpoint `interconnect.<region>.api.aws`). */
  clientFor: (region: string) => InterconnectClient;
  /** Every region a half may live in (the policy's AWS regions): reads and lists span them. */
  regions: readonly string[];
  /** Which environment serves a pair, discovered per region. */
  environments: InterconnectEnvironments;
  secrets: SecretStore;
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

/**
 * One account's halves in every region of the policy: a link's connection is made in its request's
 * AWS region; a connection id does not name its region, so reads, deletes and lists span the
 * regions, and a connection is gone only when every region says 404.
 */
export class InterconnectHalves implements OwnHalves {
  readonly #clientFor: (region: string) => InterconnectClient;
  readonly #regions: readonly string[];
  readonly #environments: InterconnectEnvironments;
  readonly #secrets: SecretStore;
  constructor(options: InterconnectHalvesOptions) {
    if (options.regions.length === 0) throw new RangeError('InterconnectHalves needs at least one region');
    this.#clientFor = options.clientFor;
    this.#regions = [...new Set(options.regions)];
    this.#environments = options.environments;
    this.#secrets = options.secrets;
  }

  /** Live capacity for the request stage: the pair's environment (discovered), read fresh. */
  async capacity(request: LinkRequest) {
    const region = request.aws.region;
    const { environmentId } = await this.#environments.find(region, request.gcp.region);
    const { environment } = await this.#clientFor(region).send(
      new GetEnvironmentCommand({ id: environmentId }),
    );
    return {
      environmentId,
      offering: `AWS environment ${environmentId} in ${region}`,
      state: environment.state,
      availableBandwidths: environment.bandwidths.available ?? [],
      supportedBandwidths: environment.bandwidths.supported ?? [],
    };
  }

  /** CreateConnection; the key goes to the secret store before anything else happens with the answer. */
  async createHalf(input: CreateHalfInput): Promise<{ half: HalfView; keyRef: string }> {
    const out = await this.#clientFor(input.region).send(
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

  /**
   * The steps' initiate: CreateConnection in the request's AWS region, on the environment found
   * there toward the request's Google region, for the request's Google project.
   */
  async initiate(input: InitiateHalfInput): Promise<{ half: HalfView; keyRef: string }> {
    const region = input.request.aws.region;
    const env = await this.#environments.find(region, input.request.gcp.region);
    return this.createHalf({
      linkId: input.linkId,
      region,
      bandwidth: input.request.bandwidth,
      environmentId: env.environmentId,
      directConnectGateway: input.request.aws.directConnectGateway,
      remoteAccount: input.request.gcp.project,
      tags: input.tags,
    });
  }

  /** The steps' accept: AcceptConnectionProposal in the request's AWS region, on its gateway. */
  accept(input: OwnAcceptInput): Promise<HalfView> {
    return this.acceptHalf({
      linkId: input.linkId,
      region: input.request.aws.region,
      activationKey: input.activationKey,
      directConnectGateway: input.request.aws.directConnectGateway,
      tags: input.tags,
    });
  }

  async acceptHalf(input: AcceptHalfInput): Promise<HalfView> {
    const out = await this.#clientFor(input.region)
      .send(
        new AcceptConnectionProposalCommand({
          attachPoint: { directConnectGateway: input.directConnectGateway } as AttachPoint,
          activationKey: input.activationKey,
          description: descriptionOf(input.linkId),
          tags: { ...input.tags, [LINK_TAG]: input.linkId },
          clientToken: `${input.linkId}-accept`,
        }),
      )
      // The provider may quote the key it refused: the error goes to logs and the run's history.
      .catch((e: unknown) => {
        throw withoutSecret(e, input.activationKey);
      });
    if (!out.connection) throw new Error('AcceptConnectionProposal returned no connection');
    return toHalfView(out.connection);
  }

  /** The connection and its region, or null when every region says it does not exist (404). */
  async #locate(connectionId: string): Promise<{ region: string; half: HalfView } | null> {
    for (const region of this.#regions) {
      try {
        const out = await this.#clientFor(region).send(
          new GetConnectionCommand({ identifier: connectionId }),
        );
        if (out.connection) return { region, half: toHalfView(out.connection) };
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return null;
  }

  /** The connection, or null when the provider says it does not exist in any region (404). */
  async getHalf(connectionId: string): Promise<HalfView | null> {
    return (await this.#locate(connectionId))?.half ?? null;
  }

  /** Every connection of this account in every region (paginated). */
  async listHalves(): Promise<HalfView[]> {
    return (await Promise.all(this.#regions.map((region) => this.#listIn(region)))).flat();
  }

  async #listIn(region: string): Promise<HalfView[]> {
    const all: HalfView[] = [];
    const client = this.#clientFor(region);
    for await (const page of paginateListConnections({ client, pageSize: 100 }, {})) {
      for (const c of page.connections ?? []) all.push(toHalfView(c));
    }
    return all;
  }

  /**
   * The live connections of one link, found by description (compensation after a lost answer, the
   * delete): in `region`, the request's AWS region where every create of the link goes, or in
   * every region when none is given.
   */
  async findHalves(linkId: string, region?: string): Promise<HalfView[]> {
    const halves = region ? await this.#listIn(region) : await this.listHalves();
    return halves.filter((h) => h.linkId === linkId && h.state !== 'deleted');
  }

  /**
   * DeleteConnection in the region that holds it (tried region by region: a 404 says "not here");
   * a connection gone everywhere counts as deleted. Returns the state after the call.
   */
  async deleteHalf(connectionId: string): Promise<AwsConnectionState | null> {
    for (const region of this.#regions) {
      try {
        const out = await this.#clientFor(region).send(
          new DeleteConnectionCommand({ identifier: connectionId, clientToken: `${connectionId}-delete` }),
        );
        return out.connection.state;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return null;
  }
}

/** A half as the watcher compares it. */
export function toObserved(h: HalfView): ObservedHalf {
  const o: ObservedHalf = { linkId: h.linkId, resourceId: h.connectionId, nativeState: h.state };
  if (h.sharedId) o.sharedId = h.sharedId;
  return o;
}
