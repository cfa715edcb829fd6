/**
 * The world between the clouds: it joins the AWS Interconnect simulator (local/aws/services/
 * interconnect.ts) and the Google TransportManager simulator (local/gcp/services/
 * networkconnectivity.ts) into links, as the two providers do between themselves (the open
 * Connection Coordinator spec, docs/reference/aws-interconnect.md section 1):
 *
 * - Activation keys are the spec's base64 JSON `{version, destinationEnvironmentUri,
 *   sharedConnectionUuid, connectionSizeMbps, destinationAccountId}`. A key is redeemable only into
 *   its destination account / project, its environment (region pair) and its bandwidth.
 * - AWS first: CreateConnection issues the key (`requested`); Google CreateTransport with
 *   `providedActivationKey` redeems it here (the AWS half goes `pending`, then `available`).
 *   Google first: CreateTransport {bandwidth, remoteAccountId} asks here for a key for that AWS
 *   account; AcceptConnectionProposal on AWS accepts it.
 * - A link is up when both halves hold the same shared UUID and each provider's delays have run:
 *   AWS `available` and Google `ACTIVE` (the transport waits for the AWS half).
 * - Deleting (or disabling, `adminEnabled: false`) the Google half takes the AWS half `down`
 *   (`failed` if it was still `pending`, inferred); deleting the AWS half takes the transport out of
 *   ACTIVE (to PENDING_CONFIG, inferred). Neither ever deletes the other.
 * - Faults (`POST /_crosslink/world/<action>`): `link-down` / `link-up`, `flap` (down / up every
 *   `period` until `flap-stop`), `bgp-down` / `bgp-up` / `bgp-flap` (some or all of the link's
 *   `BGP_SESSIONS_PER_LINK` BGP sessions down while the connection stays up: Direct Connect's
 *   `DescribeVirtualInterfaces` shows them; with every session down the link carries no routes), `region-outage` `{cloud, region}` (either cloud:
 *   the region joins local/world/region-outages.ts, which ARC endpoints, Route 53 checkers and the
 *   world's endpoints read; a Google region is also `unreachable` in TransportManager lists and 503
 *   there; the Interconnect environments of the region's pairs become `unavailable`), `expire-key`.
 * - Routes: the allowed prefixes of the Direct Connect gateway an AWS connection attaches to become
 *   routes in the transport's VPC network, and a transport's `advertisedRoutes` become routes on the
 *   AWS side, while the link is up and enabled: `routesToGcp()` / `routesToAws()` (documented in
 *   docs/local-cloud-gcp.md for the effective-routes code).
 */
import { parseDuration } from '#core/clock.ts';
import { fromMbps } from '#core/policy/bandwidth.ts';
import type { AwsEdge } from './aws/edge.ts';
import { decodeActivationKey } from './aws/services/interconnect/model.ts';
import type { Timer } from './clock.ts';
import type { GcpEdge } from './gcp/edge.ts';
import {
  KeyRefusal,
  type LocalHalf,
  REMOTE_PROVIDER,
  type RemoteHalfState,
  type RemoteProvider,
} from './gcp/remote.ts';
import { transportsOf } from './gcp/services/networkconnectivity/reconcile.ts';
import { AWS_CREDENTIALS } from './gcp/services/sts.ts';
import { GOOGLE_PAIRS } from './offerings.ts';
import { type BgpSession, setBgpSessionSource } from './world/bgp-sessions.ts';
import { serviceWorldOf } from './world/protected-service.ts';
import { regionOutagesOf } from './world/region-outages.ts';
import { checkRegion, cloudOf } from './world/regions.ts';
import { serviceAdmin } from './world/service-admin.ts';

/** What the world reads of an AWS connection (the Interconnect simulator's record, structurally). */
interface AwsConnectionView {
  connection: {
    id: string;
    arn: string;
    state: RemoteHalfState;
    sharedId: string;
    bandwidth: string;
    environmentId: string;
    ownerAccount: string;
    attachPoint: { directConnectGateway?: string; arn?: string };
  };
}

type DownReason = 'gcp-absent' | 'gcp-disabled' | 'fault' | 'flap';

interface Link {
  sharedId: string;
  gcp: LocalHalf | undefined;
  /** The Google half was seen once: its disappearance is a deletion. */
  gcpSeen: boolean;
  down: Set<DownReason>;
  flap: Timer | undefined;
  /** BGP sessions (1-based) a fault holds down while the connection itself stays up. */
  bgpDown: Set<number>;
  /** Sessions taken down and up in turn (`bgp-flap`), and the timer doing it. */
  bgpFlap: { sessions: number; timer: Timer } | undefined;
}

/**
 * BGP sessions per link: the providers run one per channel of the connection; the local world gives
 * every link two (a redundant pair), so one down is DEGRADED and both down is DOWN (docs/link-health.md).
 */
export const BGP_SESSIONS_PER_LINK = 2;

/** A route the other side learns over a link. */
export interface LearnedRoute {
  /** The prefix (canonical CIDR). */
  prefix: string;
  sharedId: string;
  /** Google side: the transport and the VPC network it is attached to. */
  transport: string;
  network: string;
  /** AWS side: the connection, its account and Direct Connect gateway. */
  connectionId: string;
  accountId: string;
  directConnectGatewayId: string | undefined;
}

export interface WorldOptions {
  aws: AwsEdge;
  gcp: GcpEdge;
}

class WorldError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class World implements RemoteProvider {
  readonly #aws: AwsEdge;
  readonly #gcp: GcpEdge;
  #links = new Map<string, Link>();
  /** Allowed prefixes per `<account>/<gateway id>` (until a Direct Connect module owns them). */
  #allowedPrefixes = new Map<string, string[]>();
  /** Told whenever a fault or a half's state may change what a link carries. */
  #carriedListeners = new Set<() => void>();

  constructor(options: WorldOptions) {
    this.#aws = options.aws;
    this.#gcp = options.gcp;
    this.#gcp.world.extensions.set(REMOTE_PROVIDER, this);
    this.#gcp.world.extensions.set('world', this);
    // Google STS verifies AWS subject tokens with the AWS edge's keys (local and temporary).
    this.#gcp.world.extensions.set(AWS_CREDENTIALS, this.#aws.world.credentials);
    setBgpSessionSource(this.#aws.world.clock, this);
    // The protected service's world (local/world/service-admin.ts) shares the admin routes.
    Object.assign(
      this.admin,
      serviceAdmin({
        clock: this.#gcp.world.clock,
        linkCarries: (sharedId) =>
          this.#links.has(sharedId.toUpperCase()) ? this.#carries(sharedId.toUpperCase()) : undefined,
      }),
    );
  }

  /**
   * The link's BGP sessions: up while the link is up and no fault holds the session down. Undefined
   * for a shared id the world does not know.
   */
  bgpSessions(sharedId: string): BgpSession[] | undefined {
    const link = this.#links.get(sharedId.toUpperCase());
    if (!link) return undefined;
    const up = this.isUp(link.sharedId);
    return Array.from({ length: BGP_SESSIONS_PER_LINK }, (_, i) => ({
      index: i + 1,
      up: up && !link.bgpDown.has(i + 1),
    }));
  }

  /** Calls `listener` after a link's down reasons or BGP sessions change; returns an unsubscribe. */
  onCarriedChange(listener: () => void): () => void {
    this.#carriedListeners.add(listener);
    return () => this.#carriedListeners.delete(listener);
  }

  #carriedChanged(): void {
    for (const l of this.#carriedListeners) l();
  }

  /** Up, and at least one BGP session up: the link carries routes. */
  #carries(sharedId: string): boolean {
    return this.bgpSessions(sharedId)?.some((s) => s.up) ?? this.isUp(sharedId);
  }

  // ---------- RemoteProvider (the Google simulator's view of AWS) ----------

  keySite(key: string): { awsRegion: string; gcpLocation: string } | undefined {
    const uri = decodeActivationKey(key)?.destinationEnvironmentUri ?? '';
    const m = /\/environments\/aws-([a-z]{2}(?:-[a-z]+)+-\d)-gcp-([a-z]+-[a-z]+\d+)$/.exec(uri);
    return m ? { awsRegion: m[1] as string, gcpLocation: m[2] as string } : undefined;
  }

  redeemKey(
    key: string,
    into: { project: string; location: string; awsRegion: string; bandwidthMbps?: number },
  ): { sharedId: string; bandwidthMbps: number } {
    const decoded = decodeActivationKey(key);
    if (!decoded) throw new KeyRefusal('malformed', 'the key is not a valid activation key');
    if (decoded.version !== 1)
      throw new KeyRefusal('malformed', `key version ${decoded.version} is not supported`);
    if (decoded.destinationAccountId !== into.project) {
      throw new KeyRefusal(
        'wrong-account',
        `the key is for ${decoded.destinationAccountId}, not project ${into.project}`,
      );
    }
    const env = `aws-${into.awsRegion}-gcp-${into.location}`;
    if (!decoded.destinationEnvironmentUri.endsWith(`/environments/${env}`)) {
      throw new KeyRefusal(
        'wrong-environment',
        `the key is for environment ${decoded.destinationEnvironmentUri}, not ${env}`,
      );
    }
    if (into.bandwidthMbps !== undefined && into.bandwidthMbps !== decoded.connectionSizeMbps) {
      throw new KeyRefusal(
        'wrong-bandwidth',
        `the key is for ${fromMbps(decoded.connectionSizeMbps).gcp}, not ${fromMbps(into.bandwidthMbps).gcp}`,
      );
    }
    try {
      this.#awsAdmin('redeem-key', {
        activationKey: key,
        remoteAccountId: into.project,
        bandwidth: fromMbps(decoded.connectionSizeMbps).aws,
      });
    } catch (e) {
      const code = (e as { code?: string }).code;
      const message = (e as Error).message;
      if (code === 'NotFound') throw new KeyRefusal('unknown', message);
      if (code === 'WrongAccount') throw new KeyRefusal('wrong-account', message);
      if (code === 'WrongBandwidth') throw new KeyRefusal('wrong-bandwidth', message);
      if (code === 'InvalidKey') throw new KeyRefusal('unknown', message);
      if (code === 'Conflict') throw new KeyRefusal('not-redeemable', message);
      throw e;
    }
    this.#link(decoded.sharedConnectionUuid);
    return {
      sharedId: decoded.sharedConnectionUuid.toUpperCase(),
      bandwidthMbps: decoded.connectionSizeMbps,
    };
  }

  issueKey(request: {
    project: string;
    location: string;
    awsRegion: string;
    bandwidthMbps: number;
    remoteAccountId: string;
  }): { activationKey: string; sharedId: string } {
    const out = this.#awsAdmin('issue-key', {
      region: request.awsRegion,
      bandwidth: fromMbps(request.bandwidthMbps).aws,
      destinationAccountId: request.remoteAccountId,
      remoteAccountId: request.project,
    }) as { activationKey: string; sharedId: string };
    this.#link(out.sharedId);
    return { activationKey: out.activationKey, sharedId: out.sharedId.toUpperCase() };
  }

  withdrawKey(sharedId: string): void {
    try {
      this.#awsAdmin('withdraw-proposal', { sharedId });
    } catch {
      // Already accepted or gone: nothing to withdraw.
    }
  }

  remoteState(sharedId: string): RemoteHalfState | undefined {
    return this.#awsHalf(sharedId)?.connection.state;
  }

  syncLocalHalves(halves: readonly LocalHalf[]): void {
    const bySharedId = new Map(halves.map((h) => [h.sharedId.toUpperCase(), h]));
    for (const h of halves) this.#link(h.sharedId);
    for (const link of this.#links.values()) {
      const half = bySharedId.get(link.sharedId);
      link.gcp = half;
      if (half?.presence === 'present') link.gcpSeen = true;
      const absent = link.gcpSeen && (half === undefined || half.presence === 'absent');
      this.#reason(link, 'gcp-absent', absent);
      this.#reason(link, 'gcp-disabled', half?.presence === 'present' && !half.adminEnabled);
    }
  }

  // ---------- faults ----------

  /** Admin actions (`POST /_crosslink/world/<action>`). */
  readonly admin: Record<string, (body: Record<string, unknown>) => unknown> = {
    'link-down': (b) => {
      const link = this.#requireLink(b.sharedId);
      this.#reason(link, 'fault', true);
      return this.describe(link.sharedId);
    },
    'link-up': (b) => {
      const link = this.#requireLink(b.sharedId);
      this.#reason(link, 'fault', false);
      return this.describe(link.sharedId);
    },
    flap: (b) => {
      const link = this.#requireLink(b.sharedId);
      const period = typeof b.period === 'number' ? b.period : parseDuration(String(b.period ?? '30s'));
      if (!(period > 0)) throw new WorldError(400, 'BadRequest', 'period must be a positive duration');
      link.flap?.cancel();
      const toggle = () => {
        this.#reason(link, 'flap', !link.down.has('flap'));
        link.flap = this.#gcp.world.clock.after(period, toggle);
      };
      link.flap = this.#gcp.world.clock.after(period, toggle);
      this.#reason(link, 'flap', true);
      return { ...this.describe(link.sharedId), period };
    },
    'flap-stop': (b) => {
      const link = this.#requireLink(b.sharedId);
      link.flap?.cancel();
      link.flap = undefined;
      this.#reason(link, 'flap', false);
      return this.describe(link.sharedId);
    },
    'bgp-down': (b) => {
      const link = this.#requireLink(b.sharedId);
      const n = this.#sessionCount(b.sessions);
      for (let i = 1; i <= n; i++) link.bgpDown.add(i);
      this.#carriedChanged();
      return this.describe(link.sharedId);
    },
    'bgp-up': (b) => {
      const link = this.#requireLink(b.sharedId);
      link.bgpFlap?.timer.cancel();
      link.bgpFlap = undefined;
      link.bgpDown.clear();
      this.#carriedChanged();
      return this.describe(link.sharedId);
    },
    'bgp-flap': (b) => {
      const link = this.#requireLink(b.sharedId);
      const n = this.#sessionCount(b.sessions);
      const period = typeof b.period === 'number' ? b.period : parseDuration(String(b.period ?? '30s'));
      if (!(period > 0)) throw new WorldError(400, 'BadRequest', 'period must be a positive duration');
      link.bgpFlap?.timer.cancel();
      const toggle = () => {
        const down = link.bgpDown.has(1);
        for (let i = 1; i <= n; i++) {
          if (down) link.bgpDown.delete(i);
          else link.bgpDown.add(i);
        }
        link.bgpFlap = { sessions: n, timer: this.#gcp.world.clock.after(period, toggle) };
        this.#carriedChanged();
      };
      toggle();
      return { ...this.describe(link.sharedId), period };
    },
    'region-outage': (b) => {
      // `{cloud, region}` (`{gcpRegion}` is the older form of a Google one): what runs in the region
      // fails (local/world/region-outages.ts: the protected service's side there and health checks
      // of it, ARC's cluster endpoint there, Route 53 checkers there). On Google the
      // TransportManager also shows the region unreachable. The Interconnect environments of the
      // region's pairs are unavailable while either region of the pair is out.
      const on = b.on !== false;
      const cloud = b.gcpRegion !== undefined && b.cloud === undefined ? 'gcp' : cloudOf(b.cloud);
      const field = b.gcpRegion !== undefined && b.cloud === undefined ? 'gcpRegion' : 'region';
      const region = checkRegion(cloud, b[field], field);
      const outages = regionOutagesOf(this.#gcp.world.clock);
      serviceWorldOf(this.#gcp.world.clock).syncAll();
      outages.set(cloud, region, on);
      if (cloud === 'gcp') this.#gcpAdmin('region-outage', { location: region, on });
      const pairs = GOOGLE_PAIRS.filter((p) => (cloud === 'aws' ? p.aws : p.gcp) === region);
      for (const p of pairs) {
        const out = outages.isOut('aws', p.aws) || outages.isOut('gcp', p.gcp);
        this.#awsAdmin('set-environment', {
          environmentId: p.environmentId,
          state: out ? 'unavailable' : 'available',
        });
      }
      const environmentIds = pairs.map((p) => p.environmentId);
      return cloud === 'gcp'
        ? { cloud, region, gcpRegion: region, environmentId: environmentIds[0], on, outages: outages.list() }
        : { cloud, region, environmentIds, on, outages: outages.list() };
    },
    'expire-key': (b) => {
      // An AWS-issued key is known to the world before anyone redeems it: look on both sides.
      const sharedId = String(b.sharedId ?? '').toUpperCase();
      const aws = this.#awsHalf(sharedId);
      if (aws?.connection.state === 'requested') {
        // As when the key's validity runs out on AWS: the never-redeemed connection fails.
        this.#awsAdmin('fail', { identifier: aws.connection.id });
        return { sharedId, expired: 'aws' };
      }
      const t = transportsOf(this.#gcp.world).find(
        (x) => x.sharedId === sharedId && x.state === 'PENDING_KEY',
      );
      if (t) {
        this.#gcpAdmin('expire-key', { name: t.name });
        return { sharedId, expired: 'gcp' };
      }
      throw new WorldError(409, 'Conflict', `no key with shared id ${sharedId} is waiting to be redeemed`);
    },
    'set-allowed-prefixes': (b) => {
      const accountId = String(b.accountId ?? '');
      const gateway = String(b.directConnectGatewayId ?? '').toUpperCase();
      if (!/^\d{12}$/.test(accountId) || !gateway) {
        throw new WorldError(400, 'BadRequest', 'accountId and directConnectGatewayId are required');
      }
      const prefixes = Array.isArray(b.prefixes) ? b.prefixes.map(String) : [];
      this.#allowedPrefixes.set(`${accountId}/${gateway}`, prefixes);
      return { accountId, directConnectGatewayId: gateway, prefixes };
    },
    links: () => ({ links: [...this.#links.keys()].map((id) => this.describe(id)) }),
  };

  /** Both halves of a link as the providers see them. */
  describe(sharedId: string) {
    const link = this.#links.get(sharedId.toUpperCase());
    const aws = this.#awsHalf(sharedId);
    const gcp = transportsOf(this.#gcp.world).find((t) => t.sharedId === sharedId.toUpperCase());
    return {
      sharedId: sharedId.toUpperCase(),
      aws: aws
        ? {
            connectionId: aws.connection.id,
            accountId: aws.connection.ownerAccount,
            state: aws.connection.state,
          }
        : null,
      gcp: gcp ? { name: gcp.name, state: gcp.state, adminEnabled: gcp.adminEnabled === true } : null,
      up: this.isUp(sharedId),
      downReasons: [...(link?.down ?? [])],
      bgpSessions: this.bgpSessions(sharedId) ?? [],
      bgpFlapping: link?.bgpFlap !== undefined,
    };
  }

  /** True when both halves are up: AWS `available` (or `updating`) and the transport ACTIVE and enabled. */
  isUp(sharedId: string): boolean {
    const aws = this.#awsHalf(sharedId);
    const gcp = transportsOf(this.#gcp.world).find((t) => t.sharedId === sharedId.toUpperCase());
    return (
      (aws?.connection.state === 'available' || aws?.connection.state === 'updating') &&
      gcp?.state === 'ACTIVE' &&
      gcp.adminEnabled === true
    );
  }

  // ---------- route exchange ----------

  /**
   * Routes the Google side learns over up links: the allowed prefixes of the AWS connection's
   * Direct Connect gateway, in the transport's VPC network (peering routes). Filter by project /
   * network when given.
   */
  routesToGcp(filter: { project?: string; network?: string } = {}): LearnedRoute[] {
    const out: LearnedRoute[] = [];
    for (const t of transportsOf(this.#gcp.world)) {
      if (!t.sharedId || !this.#carries(t.sharedId)) continue;
      if (filter.project && t.project !== filter.project) continue;
      if (filter.network && !sameNetwork(t.network, filter.network)) continue;
      const aws = this.#awsHalf(t.sharedId);
      if (!aws) continue;
      const gateway = aws.connection.attachPoint.directConnectGateway?.toUpperCase();
      const prefixes = gateway
        ? (this.#allowedPrefixes.get(`${aws.connection.ownerAccount}/${gateway}`) ?? [])
        : [];
      for (const prefix of prefixes) {
        out.push({
          prefix,
          sharedId: t.sharedId,
          transport: t.name,
          network: t.network,
          connectionId: aws.connection.id,
          accountId: aws.connection.ownerAccount,
          directConnectGatewayId: gateway,
        });
      }
    }
    return out;
  }

  /** Routes the AWS side learns over up links: each transport's `advertisedRoutes`, per account / gateway. */
  routesToAws(filter: { accountId?: string; directConnectGatewayId?: string } = {}): LearnedRoute[] {
    const out: LearnedRoute[] = [];
    for (const t of transportsOf(this.#gcp.world)) {
      if (!t.sharedId || !this.#carries(t.sharedId)) continue;
      const aws = this.#awsHalf(t.sharedId);
      if (!aws) continue;
      const gateway = aws.connection.attachPoint.directConnectGateway?.toUpperCase();
      if (filter.accountId && aws.connection.ownerAccount !== filter.accountId) continue;
      if (filter.directConnectGatewayId && gateway !== filter.directConnectGatewayId.toUpperCase()) continue;
      for (const prefix of t.advertisedRoutes ?? []) {
        out.push({
          prefix,
          sharedId: t.sharedId,
          transport: t.name,
          network: t.network,
          connectionId: aws.connection.id,
          accountId: aws.connection.ownerAccount,
          directConnectGatewayId: gateway,
        });
      }
    }
    return out;
  }

  /** Sets a gateway's allowed prefixes (in-process form of the admin action). */
  setAllowedPrefixes(accountId: string, directConnectGatewayId: string, prefixes: string[]): void {
    this.admin['set-allowed-prefixes']?.({ accountId, directConnectGatewayId, prefixes });
  }

  stop(): void {
    for (const link of this.#links.values()) {
      link.flap?.cancel();
      link.bgpFlap?.timer.cancel();
    }
  }

  // ---------- internals ----------

  #link(sharedId: string): Link {
    const id = sharedId.toUpperCase();
    let link = this.#links.get(id);
    if (!link) {
      link = {
        sharedId: id,
        gcp: undefined,
        gcpSeen: false,
        down: new Set(),
        flap: undefined,
        bgpDown: new Set(),
        bgpFlap: undefined,
      };
      this.#links.set(id, link);
    }
    return link;
  }

  /** `sessions`: a count from 1 to the sessions a link has, or `all` (default 1). */
  #sessionCount(v: unknown): number {
    if (v === undefined) return 1;
    if (v === 'all') return BGP_SESSIONS_PER_LINK;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isInteger(n) || n < 1 || n > BGP_SESSIONS_PER_LINK)
      throw new WorldError(
        400,
        'BadRequest',
        `sessions must be 1 to ${BGP_SESSIONS_PER_LINK} or all (a link has ${BGP_SESSIONS_PER_LINK} BGP sessions), got ${JSON.stringify(v)}`,
      );
    return n;
  }

  #requireLink(sharedId: unknown): Link {
    const link = typeof sharedId === 'string' ? this.#links.get(sharedId.toUpperCase()) : undefined;
    if (!link) throw new WorldError(404, 'NotFound', `no link with shared id ${String(sharedId)}`);
    return link;
  }

  /** Adds or clears a reason for the AWS half to be down, and moves it accordingly. */
  #reason(link: Link, reason: DownReason, on: boolean): void {
    const had = link.down.size > 0;
    const changed = on !== link.down.has(reason);
    if (on) link.down.add(reason);
    else link.down.delete(reason);
    this.#followReasons(link, had);
    if (changed) this.#carriedChanged();
  }

  /** The AWS half follows the link's down reasons. */
  #followReasons(link: Link, had: boolean): void {
    const aws = this.#awsHalf(link.sharedId);
    if (!aws) return;
    const c = aws.connection;
    if (link.down.size > 0) {
      if (c.state === 'available' || c.state === 'updating')
        this.#awsAdmin('set-link', { identifier: c.id, up: false });
      else if (c.state === 'pending' && link.down.has('gcp-absent'))
        this.#awsAdmin('fail', { identifier: c.id });
    } else if (had && c.state === 'down') {
      this.#awsAdmin('set-link', { identifier: c.id, up: true });
    }
    // The Google half follows on its next reconcile tick (ACTIVE <-> PENDING_CONFIG).
  }

  #awsHalf(sharedId: string): AwsConnectionView | undefined {
    const id = sharedId.toUpperCase();
    const w = this.#aws.world;
    for (const scope of w.scopes('interconnect')) {
      const st = w.stateOf<{ connections: Map<string, AwsConnectionView> }>(
        'interconnect',
        scope.accountId,
        scope.region,
      );
      for (const r of st.connections.values()) if (r.connection.sharedId.toUpperCase() === id) return r;
    }
    return undefined;
  }

  #awsAdmin(action: string, body: Record<string, unknown>): unknown {
    const fn = this.#aws.services.get('interconnect')?.admin?.[action];
    if (!fn) throw new Error(`the Interconnect simulator has no admin action ${action}`);
    return fn(body, this.#aws.world);
  }

  #gcpAdmin(action: string, body: Record<string, unknown>): unknown {
    const fn = this.#gcp.services.get('networkconnectivity')?.admin?.[action];
    if (!fn) throw new Error(`the TransportManager simulator has no admin action ${action}`);
    return fn(body, this.#gcp.world);
  }
}

function sameNetwork(a: string, b: string): boolean {
  const tail = (s: string) => s.replace(/^.*?(projects\/[^/]+\/global\/networks\/[^/]+)$/, '$1');
  return tail(a) === tail(b);
}
