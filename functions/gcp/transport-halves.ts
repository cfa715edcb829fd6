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
 */
import { createHash } from 'node:crypto';
import type {
  AcceptHalfInput,
  InitiateHalfInput,
  OwnHalfView,
  OwnHalves,
  SecretStore,
} from '#core/link/ports.ts';
import { HalfFailedError } from '#core/link/steps.ts';
import { parseBandwidth } from '#core/policy/bandwidth.ts';
import type { RegionPair } from '#core/policy/policy.ts';
import type { LinkRequest } from '#core/policy/request.ts';
import { AlreadyExists, NotFound, Unavailable } from './google-errors.ts';
import { LINK_LABEL, toLabels } from './labels.ts';
import type { NewTransport, Transport, TransportClient } from './transport-client.ts';

/** A fixed namespace for crosslink's request ids (UUID v5, RFC 9562 section 5.5). */
const NAMESPACE = Buffer.from('6f1d7c1e5b2a4e0c9a3d2f4b8c6e1a57', 'hex');

/**
 * The `requestId` of one mutation: a UUID v5 of `<linkId>/<operation>/<attempt>`, so the same
 * logical request always carries the same id (and never the zero UUID TransportManager refuses).
 */
export function requestIdFor(linkId: string, operation: string, attempt = 1): string {
  const h = createHash('sha1').update(NAMESPACE).update(`${linkId}/${operation}/${attempt}`).digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x50;
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

/** The error without the key anywhere in its message (the provider may quote what it refused). */
function redacted(e: unknown, key: string): unknown {
  if (e instanceof Error && key && e.message.includes(key)) e.message = e.message.split(key).join('[key]');
  return e;
}

export interface TransportHalvesOptions {
  /** The client of a location (one per region; the project is the client's). */
  clientFor: (location: string) => TransportClient;
  /** Where lists and bare ids go (the hub's region). */
  defaultLocation: string;
  secrets: SecretStore;
}

export class TransportHalves implements OwnHalves {
  readonly #clientFor: (location: string) => TransportClient;
  readonly #default: string;
  readonly #secrets: SecretStore;
  constructor(options: TransportHalvesOptions) {
    this.#clientFor = options.clientFor;
    this.#default = options.defaultLocation;
    this.#secrets = options.secrets;
  }

  /** The pair's remote profile: `CLOSED` is unavailable; its supported bandwidths are the orderable ones. */
  async capacity(pair: RegionPair) {
    const profile = await this.#clientFor(pair.gcp).getRemoteTransportProfile(pair.remoteProfile);
    return {
      state: profile.orderState === 'CLOSED' ? 'unavailable' : 'available',
      availableBandwidths: profile.supportedBandwidths ?? [],
    };
  }

  #newTransport(linkId: string, request: LinkRequest, remoteProfile: string, tags: Record<string, string>) {
    const bandwidth = parseBandwidth(request.bandwidth)?.gcp;
    const t: NewTransport = {
      network: networkOf(request),
      remoteProfile,
      description: `crosslink ${linkId}`,
      labels: toLabels(tags, linkId),
      advertisedRoutes: request.gcp.routes,
    };
    if (bandwidth) t.bandwidth = bandwidth;
    return t;
  }

  /**
   * Google first: CreateTransport without a key, for the request's AWS account; the generated key
   * goes to the secret store at once. A transport that already exists (a create answered long ago,
   * beyond the request-id window) is adopted and its key re-read.
   */
  async initiate(input: InitiateHalfInput): Promise<{ half: OwnHalfView; keyRef: string }> {
    const client = this.#clientFor(input.request.gcp.region);
    const body = {
      ...this.#newTransport(input.linkId, input.request, input.remoteProfile, input.tags),
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
        `transport ${transport.name} has no generated activation key (profile ${input.remoteProfile} does not issue keys?)`,
      );
    const keyRef = await this.#secrets.putActivationKey(input.linkId, key);
    return { half: toHalfView(transport), keyRef };
  }

  /** Google second: CreateTransport with the peer's key (redeemed with AWS by Google at once). */
  async accept(input: AcceptHalfInput): Promise<OwnHalfView> {
    const client = this.#clientFor(input.request.gcp.region);
    const body = {
      ...this.#newTransport(input.linkId, input.request, input.remoteProfile, input.tags),
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
      throw redacted(e, input.activationKey);
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
   * The transports labelled with the link, in every location. A location the list could not reach
   * may hold one: that is unknown, not absent, so it fails (retryably) rather than answer "none".
   */
  async findHalves(linkId: string): Promise<OwnHalfView[]> {
    const { items, unreachable } = await this.#clientFor(this.#default).listAllTransports({ location: '-' });
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
