/**
 * This side's half of a link on Google: a TransportManager transport, as the steps see it
 * (`OwnHalves`), **without the activation key**. The transport id is the link id, every transport is
 * labelled `crosslink-link-id` (plus the cost labels), and every mutation carries a `requestId`
 * derived from (link id, operation, attempt): a step retried after a lost answer, a 500 or a crash
 * sends the same request again, which TransportManager answers with the first request's operation
 * instead of acting twice.
 *
 * Keys: `initiate` (Google first) is the one call that sees `generatedActivationKey`; it goes to the
 * secret store before anything else happens with the answer and only the secret's name is
 * returned. `accept` passes the peer's unsealed key as `providedActivationKey`; the key is removed
 * from any error it causes. Everything returned is stripped by the client.
 *
 * The transport goes in the link's Google region (its `gcp.region`), toward the remote profile
 * discovered there for the link's AWS region, named by its resource name. With a key, the key
 * decides the profile and the bandwidth: the create sends neither (nor `remoteAccountId`), as
 * `gcloud network-connectivity transports create` makes `--activation-key` exclusive with
 * `--bandwidth`, `--remote-account-id` and `--remote-profile` (docs/reference/transport-manager.md).
 */

import { createHash } from 'node:crypto';
import type {
  AcceptHalfInput,
  InitiateHalfInput,
  OwnHalfView,
  OwnHalves,
  SecretStore,
} from '#core/link/ports.ts';
import { HalfFailedError } from '#core/link/stage.ts';
import { parseBandwidth } from '#core/policy/bandwidth.ts';
import type { LinkRequest } from '#core/policy/request.ts';
import { withoutSecret } from '#core/redact.ts';
import { AlreadyExists, NotFound, Unavailable } from './google-errors.ts';
import { LINK_LABEL, toLabels } from './labels.ts';
import { RemoteProfiles } from './offerings.ts';
import type { NewTransport, Transport, TransportClient } from './transport-client.ts';

/** A fixed namespace for crosslink's request ids. */
const NAMESPACE = Buffer.from('6f1d7c1e5b2a4e0c9a3d2f4b8c6e1a57', 'hex');

/**
 * The `requestId` of one mutation: derived from `<linkId>/<operation>/<attempt>` (SHA-1 under a
 * fixed namespace, as a name-based UUID is), so a retry of the same call and attempt sends the same
 * id and TransportManager answers it with the first call's operation. Laid out as a UUID version 4
 * with the RFC 4122 variant, because transport_manager.proto declares `request_id` with
 * `field_info.format = UUID4`; the hash bits are never all zero, so it is never the zero UUID the
 * API refuses.
 */
export function requestIdFor(linkId: string, operation: string, attempt = 1): string {
  const h = createHash('sha1').update(NAMESPACE).update(`${linkId}/${operation}/${attempt}`).digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x40;
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** A transport as crosslink passes it around. proto3 JSON omits `false`: no `adminEnabled` = disabled. */
export function toHalfView(t: Transport): OwnHalfView {
  if (!t.state) throw new HalfFailedError(`transport ${t.name} has no state`);
  const view: OwnHalfView = { connectionId: t.name, state: t.state, adminEnabled: t.adminEnabled === true };
  const linkId = t.labels?.[LINK_LABEL];
  if (linkId) view.linkId = linkId;
  return view;
}

/** `projects/p/locations/l/transports/id` -> {location, id}; a bare id is in `fallback`. */
function parseName(name: string, fallback: string): { location: string; id: string } {
  const m = /^projects\/[^/]+\/locations\/([^/]+)\/transports\/([^/]+)$/.exec(name);
  return m ? { location: m[1] as string, id: m[2] as string } : { location: fallback, id: name };
}

/** The request's VPC network as TransportManager takes it (`projects/*\/global/networks/*`). */
function networkOf(request: LinkRequest): string {
  const n = request.gcp.network;
  return n.startsWith('projects/') ? n : `projects/${request.gcp.project}/global/networks/${n}`;
}

export interface TransportHalvesOptions {
  /** The client of a location (one per region; the project is the client's). */
  clientFor: (location: string) => TransportClient;
  /** Where lists and bare ids go (the hub's region). */
  defaultLocation: string;
  secrets: SecretStore;
  /** Which profile serves a pair, discovered per location (default: through `clientFor`). */
  profiles?: RemoteProfiles;
}

export class TransportHalves implements OwnHalves {
  readonly #clientFor: (location: string) => TransportClient;
  readonly #default: string;
  readonly #secrets: SecretStore;
  readonly #profiles: RemoteProfiles;
  constructor(options: TransportHalvesOptions) {
    this.#clientFor = options.clientFor;
    this.#default = options.defaultLocation;
    this.#secrets = options.secrets;
    this.#profiles = options.profiles ?? new RemoteProfiles({ clientFor: options.clientFor });
  }

  /**
   * The pair's remote profile (discovered in the request's Google region, read fresh): `CLOSED` is
   * unavailable; its supported bandwidths are the orderable ones; its flow says who may issue the key.
   */
  async capacity(request: LinkRequest) {
    const found = await this.#profiles.find(request.gcp.region, request.aws.region);
    const profile = await this.#clientFor(request.gcp.region).getRemoteTransportProfile(found.name);
    return {
      state: profile.orderState === 'CLOSED' ? 'unavailable' : 'available',
      availableBandwidths: profile.supportedBandwidths ?? [],
      offering: `Google profile ${profile.name}`,
      ...(profile.flow ? { flow: profile.flow } : {}),
    };
  }

  /** What every create sends: the network, the description, the labels, the routes. */
  #common(linkId: string, request: LinkRequest, tags: Record<string, string>) {
    return {
      network: networkOf(request),
      description: `crosslink ${linkId}`,
      labels: toLabels(tags, linkId),
      advertisedRoutes: request.gcp.routes,
    };
  }

  /**
   * Google first: CreateTransport without a key, for the request's AWS account; the generated key
   * goes to the secret store at once. A transport that already exists (a create answered long ago,
   * beyond the request-id window) is adopted and its key re-read.
   */
  async initiate(input: InitiateHalfInput): Promise<{ half: OwnHalfView; keyRef: string }> {
    const client = this.#clientFor(input.request.gcp.region);
    const profile = await this.#profiles.find(input.request.gcp.region, input.request.aws.region);
    const bandwidth = parseBandwidth(input.request.bandwidth)?.gcp;
    if (!bandwidth) throw new HalfFailedError(`bandwidth ${input.request.bandwidth} has no Google spelling`);
    const body: NewTransport = {
      ...this.#common(input.linkId, input.request, input.tags),
      remoteProfile: profile.name,
      bandwidth,
      remoteAccountId: input.request.aws.accountId,
    };
    let transport: Transport | undefined;
    let key: string | undefined;
    try {
      const out = await client.createTransport(input.linkId, body, {
        requestId: requestIdFor(input.linkId, 'create'),
      });
      transport = out.transport;
      key = out.activationKey;
    } catch (e) {
      if (!(e instanceof AlreadyExists)) throw e;
      transport = await client.getTransport(input.linkId);
      key = await client.fetchGeneratedActivationKey(input.linkId);
    }
    if (!transport) throw new HalfFailedError(`CreateTransport ${input.linkId} returned no transport`);
    if (!key)
      throw new HalfFailedError(
        `transport ${transport.name} has no generated activation key (profile ${profile.name} does not issue keys?)`,
      );
    const keyRef = await this.#secrets.putActivationKey(input.linkId, key);
    return { half: toHalfView(transport), keyRef };
  }

  /** Google second: CreateTransport with the peer's key (redeemed with AWS by Google at once). */
  async accept(input: AcceptHalfInput): Promise<OwnHalfView> {
    const client = this.#clientFor(input.request.gcp.region);
    const body: NewTransport = {
      ...this.#common(input.linkId, input.request, input.tags),
      providedActivationKey: input.activationKey,
    };
    try {
      const out = await client.createTransport(input.linkId, body, {
        requestId: requestIdFor(input.linkId, 'accept'),
      });
      if (!out.transport) throw new HalfFailedError(`CreateTransport ${input.linkId} returned no transport`);
      return toHalfView(out.transport);
    } catch (e) {
      if (e instanceof AlreadyExists) return toHalfView(await client.getTransport(input.linkId));
      throw withoutSecret(e, input.activationKey);
    }
  }

  async getHalf(connectionId: string): Promise<OwnHalfView | null> {
    const { location, id } = parseName(connectionId, this.#default);
    try {
      return toHalfView(await this.#clientFor(location).getTransport(id));
    } catch (e) {
      if (e instanceof NotFound) return null;
      throw e;
    }
  }

  /**
   * The transports labelled with the link in `location`, the request's Google region (every create
   * of the link goes there), or in every location (`-`) when none is given. A location the list
   * could not reach may hold one: that is unknown, not absent, so it fails (retryably) rather than
   * answer "none".
   */
  async findHalves(linkId: string, location?: string): Promise<OwnHalfView[]> {
    const { items, unreachable } = await this.#clientFor(location ?? this.#default).listAllTransports({
      location: location ?? '-',
    });
    if (unreachable.length)
      throw new Unavailable(
        'UNAVAILABLE',
        `cannot tell which transports link ${linkId} has: ${unreachable.join(', ')} unreachable`,
        503,
      );
    return items.filter((t) => t.labels?.[LINK_LABEL] === linkId && t.state).map(toHalfView);
  }

  /** DeleteTransport and wait until it is gone; one already gone counts as deleted. */
  async deleteHalf(connectionId: string, attempt = 1): Promise<{ alreadyGone: boolean }> {
    const { location, id } = parseName(connectionId, this.#default);
    return this.#clientFor(location).deleteTransport(id, { requestId: requestIdFor(id, 'delete', attempt) });
  }

  /** The drain: `adminEnabled: false` withdraws the link's routes both ways. Null when it is gone. */
  async disableHalf(connectionId: string, attempt = 1): Promise<OwnHalfView | null> {
    const { location, id } = parseName(connectionId, this.#default);
    try {
      const t = await this.#clientFor(location).updateTransport(
        id,
        { adminEnabled: false },
        { requestId: requestIdFor(id, 'disable', attempt) },
      );
      // The operation's response is the transport after the change.
      return toHalfView({ ...t, name: t.name || `projects/-/locations/${location}/transports/${id}` });
    } catch (e) {
      if (e instanceof NotFound) return null;
      throw e;
    }
  }
}
