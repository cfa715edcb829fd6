/**
 * The local AWS Interconnect's model: its error classes, the connection, environment, proposal
 * and idempotency shapes, the environments toward Google (one per region pair), the partner's side
 * of the world (environments, proposals), settings with their defaults, activation keys, and the
 * views the API returns. What the operations, the lifecycle and the admin actions all read.
 */

import { parseDuration } from '#core/clock.ts';
import { AWS_CONNECTION_STATES, type AwsConnectionState } from '#core/link/model.ts';
import { GOOGLE_PAIRS } from '#local/offerings.ts';
import { errorClass } from '../../errors.ts';
import type { RequestContext, World } from '../../service.ts';

// ---------- errors (model: name, HTTP status) ----------

export const AccessDenied = errorClass('AccessDeniedException', 403);
export const ClientError = errorClass('InterconnectClientException', 400);
export const ValidationError = errorClass('InterconnectValidationException', 400);
export const NotFound = errorClass('ResourceNotFoundException', 404);
export const QuotaExceeded = errorClass('ServiceQuotaExceededException', 402);

// ---------- shapes ----------

/** The connection states of the Interconnect API: the product reads the same list (functions/core). */
export type ConnectionState = AwsConnectionState;
export const CONNECTION_STATES: readonly ConnectionState[] = AWS_CONNECTION_STATES;

export type AttachPoint = { directConnectGateway: string } | { arn: string };
type Provider = { cloudServiceProvider: string } | { lastMileProvider: string };

export interface Connection {
  id: string;
  arn: string;
  description: string;
  bandwidth: string;
  attachPoint: AttachPoint;
  environmentId: string;
  provider: Provider;
  location: string;
  type: string;
  state: ConnectionState;
  sharedId: string;
  billingTier?: number;
  ownerAccount: string;
  activationKey: string;
  tags?: Record<string, string>;
}

export interface Record_ {
  connection: Connection;
  /** Who made the first move: AWS (CreateConnection) or the partner (a proposal accepted here). */
  origin: 'aws' | 'partner';
  /** The partner account the key is meant for (AWS first) or came from (partner first). */
  remoteAccount: string | undefined;
  createdAt: number;
  region: string;
  /** Bandwidth being applied by an update. */
  targetBandwidth?: string;
  deletedAt?: number;
}

export interface Environment {
  environmentId: string;
  provider: Provider;
  location: string;
  state: 'available' | 'limited' | 'unavailable';
  bandwidths: { available: string[]; supported: string[] };
  type: string;
  activationPageUrl: string;
  remoteIdentifierType: 'account' | 'email';
  /** Not in the wire shape: the AWS region the environment lands in, and its name in the open spec. */
  region: string;
  specName: string;
  specProvider: string;
}

interface IdempotencyEntry {
  operation: string;
  fingerprint: string;
  connectionId: string;
  /** The connection as the first call answered it: replayed if the connection has since been purged. */
  result: Connection;
  at: number;
}

export interface InterconnectState {
  connections: Map<string, Record_>;
  tokens: Map<string, IdempotencyEntry>;
}

/** A proposal the partner issued for an AWS account (partner-first flow). */
export interface Proposal {
  sharedId: string;
  activationKey: string;
  environmentId: string;
  bandwidth: string;
  destinationAccountId: string;
  remoteAccount: string | undefined;
  acceptedBy?: { accountId: string; region: string; connectionId: string };
}

export interface InterconnectSettings {
  delays: Partial<
    Record<'provisioning' | 'update' | 'deletion' | 'keyExpiry' | 'deletedRetention', string | number>
  >;
  /** Connections per account and region that are not deleted (ServiceQuotaExceededException beyond). */
  maxConnections: number;
}

const DEFAULT_DELAYS = {
  provisioning: '5m',
  update: '2m',
  deletion: '2m',
  keyExpiry: '7d',
  deletedRetention: '1d',
  idempotencyWindow: '8h',
} as const;

// ---------- environments: the AWS <-> Google region pairs (docs/reference/aws-interconnect.md section 2) ----------

const GCP_BANDWIDTHS = ['1Gbps', '2Gbps', '5Gbps', '10Gbps', '25Gbps', '50Gbps', '100Gbps'];

/** One environment toward Google in each pair's AWS region (local/offerings.ts), visible only there. */
function baseEnvironments(): Environment[] {
  const envs: Environment[] = GOOGLE_PAIRS.map(({ aws: region, gcp: gcpRegion, environmentId }) => ({
    environmentId,
    provider: { cloudServiceProvider: 'gcp' },
    location: gcpRegion,
    state: 'available',
    // (inferred) 100Gbps is supported but not yet orderable, so "supported, not available" exists.
    bandwidths: { available: GCP_BANDWIDTHS.slice(0, -1), supported: [...GCP_BANDWIDTHS] },
    type: 'Multicloud',
    activationPageUrl: `https://console.cloud.google.com/net-intelligence/transports?location=${gcpRegion}`,
    remoteIdentifierType: 'account',
    region,
    specName: `aws-${region}-gcp-${gcpRegion}`,
    specProvider: 'gcp',
  }));
  envs.push({
    environmentId: 'mce-aws-oci-iad',
    provider: { cloudServiceProvider: 'oci' },
    location: 'us-ashburn-1',
    state: 'available',
    bandwidths: { available: ['1Gbps', '10Gbps'], supported: ['1Gbps', '10Gbps'] },
    type: 'Multicloud',
    activationPageUrl: 'https://cloud.oracle.com/networking/multicloud?region=us-ashburn-1',
    remoteIdentifierType: 'account',
    region: 'us-east-1',
    specName: 'aws-us-east-1-oci-us-ashburn-1',
    specProvider: 'oci',
  });
  return envs;
}

// ---------- the world outside one account: environments and partner proposals ----------

interface Partner {
  environments: Map<string, Environment>;
  proposals: Map<string, Proposal>;
}

const partners = new WeakMap<World, Partner>();

export function partnerOf(world: World): Partner {
  let p = partners.get(world);
  if (!p) {
    p = { environments: new Map(baseEnvironments().map((e) => [e.environmentId, e])), proposals: new Map() };
    partners.set(world, p);
  }
  return p;
}

// ---------- helpers ----------

export function settingsOf(world: World): {
  delays: Record<keyof typeof DEFAULT_DELAYS, number>;
  maxConnections: number;
} {
  const s = world.settings<InterconnectSettings>('interconnect');
  const delays = {} as Record<keyof typeof DEFAULT_DELAYS, number>;
  for (const [k, v] of Object.entries(DEFAULT_DELAYS) as [keyof typeof DEFAULT_DELAYS, string][]) {
    const given = (s.delays as Record<string, string | number> | undefined)?.[k];
    delays[k] = typeof given === 'number' ? given : parseDuration(given ?? v);
  }
  return { delays, maxConnections: s.maxConnections ?? 10 };
}

export function bandwidthMbps(bandwidth: string): number {
  const m = /^(\d+)([MG])bps$/.exec(bandwidth);
  if (!m) throw new RangeError(`not a bandwidth: ${bandwidth}`);
  return Number(m[1]) * (m[2] === 'G' ? 1000 : 1);
}

export function bandwidthOf(mbps: number): string {
  return mbps % 1000 === 0 ? `${mbps / 1000}Gbps` : `${mbps}Mbps`;
}

/** (inferred) One billing tier per bandwidth step. */
export function billingTier(bandwidth: string): number {
  const mbps = bandwidthMbps(bandwidth);
  const steps = [1000, 2000, 5000, 10000, 25000, 50000, 100000];
  const i = steps.findIndex((s) => mbps <= s);
  return i < 0 ? 8 : i + 1;
}

export interface ActivationKey {
  version: number;
  destinationEnvironmentUri: string;
  sharedConnectionUuid: string;
  connectionSizeMbps: number;
  destinationAccountId: string;
}

export function encodeActivationKey(key: ActivationKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64');
}

/** Decodes a key; undefined when it is not the spec's base64 JSON with every field. */
export function decodeActivationKey(text: string): ActivationKey | undefined {
  try {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
    const k = JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as Partial<ActivationKey>;
    if (
      typeof k.version !== 'number' ||
      typeof k.destinationEnvironmentUri !== 'string' ||
      typeof k.sharedConnectionUuid !== 'string' ||
      typeof k.connectionSizeMbps !== 'number' ||
      typeof k.destinationAccountId !== 'string'
    ) {
      return undefined;
    }
    return k as ActivationKey;
  } catch {
    return undefined;
  }
}

export const envUri = (provider: string, specName: string) =>
  `providers/${provider}/environments/${specName}`;

export function summary(c: Connection) {
  const {
    id,
    arn,
    description,
    bandwidth,
    attachPoint,
    environmentId,
    provider,
    location,
    type,
    state,
    sharedId,
  } = c;
  return {
    id,
    arn,
    description,
    bandwidth,
    attachPoint,
    environmentId,
    provider,
    location,
    type,
    state,
    sharedId,
    billingTier: c.billingTier,
  };
}

export function view(r: Record_): Connection {
  const c = r.connection;
  return { ...c, tags: c.tags && Object.keys(c.tags).length > 0 ? { ...c.tags } : undefined };
}
export type Ctx = RequestContext<InterconnectState>;
/** Parsed JSON input; `validate` checks it against the model before any field is used. */
// biome-ignore lint/suspicious/noExplicitAny: input is checked by validate() against the model's constraints.
export type In = Record<string, any>;
export function envView(e: Environment) {
  return {
    environmentId: e.environmentId,
    provider: { ...e.provider },
    location: e.location,
    state: e.state,
    bandwidths: { available: [...e.bandwidths.available], supported: [...e.bandwidths.supported] },
    type: e.type,
    activationPageUrl: e.activationPageUrl,
    remoteIdentifierType: e.remoteIdentifierType,
  };
}
