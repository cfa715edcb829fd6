/**
 * AWS Interconnect (multicloud), AWS JSON 1.0, `X-Amz-Target: Interconnect.<Op>`, API 2022-07-26,
 * following the service model (aws-sdk-js-v3 codegen/sdk-codegen/aws-models/interconnect.json):
 * every operation, its input constraints, shapes, id formats, errors and states.
 *
 * Life of a connection, all on the virtual clock (delays configurable through settings
 * `interconnect.delays`, defaults below):
 * - AWS first: CreateConnection -> `requested` (with an activation key for the partner). When the
 *   partner redeems the key (admin `redeem-key`, or the Google edge) -> `pending`, then
 *   `available` after `provisioning`. A key never redeemed within `keyExpiry` -> `failed`.
 * - Partner first: the partner issues a key (admin `issue-key`); AcceptConnectionProposal ->
 *   `pending`, then `available` after `provisioning`.
 * - UpdateConnection: a new description applies at once; a new bandwidth -> `updating`, then
 *   `available` with it after `update`.
 * - DeleteConnection -> `deleting`, then `deleted` after `deletion`; a deleted connection stays
 *   readable for `deletedRetention`, then GetConnection says ResourceNotFoundException.
 * - The partner can take an available link `down` and back `available` (admin `set-link`), or fail
 *   a pending one (admin `fail`).
 * A `stuck` fault holds a connection in its state: its timers re-arm instead of moving it.
 *
 * Choices where the model is silent are marked (inferred) and kept configurable.
 */
import { parseDuration } from '#core/clock.ts';
import { canonicalHash } from '#core/policy/policy.ts';
import type { Timer } from '#local/clock.ts';
import { GOOGLE_PAIRS } from '#local/offerings.ts';
import { addDxGateway, dxGateways } from '../common/dx-gateways.ts';
import { errorClass } from '../errors.ts';
import { defineService, type RequestContext, type World } from '../service.ts';
import { type Spec, validationMessage, violations } from '../validate.ts';

// ---------- errors (model: name, HTTP status) ----------

const AccessDenied = errorClass('AccessDeniedException', 403);
const ClientError = errorClass('InterconnectClientException', 400);
const ValidationError = errorClass('InterconnectValidationException', 400);
const NotFound = errorClass('ResourceNotFoundException', 404);
const QuotaExceeded = errorClass('ServiceQuotaExceededException', 402);

// ---------- shapes ----------

export type ConnectionState =
  | 'requested'
  | 'pending'
  | 'available'
  | 'down'
  | 'deleting'
  | 'deleted'
  | 'failed'
  | 'updating';

export const CONNECTION_STATES: readonly ConnectionState[] = [
  'available',
  'requested',
  'pending',
  'down',
  'deleting',
  'deleted',
  'failed',
  'updating',
];

type AttachPoint = { directConnectGateway: string } | { arn: string };
type Provider = { cloudServiceProvider: string } | { lastMileProvider: string };

interface Connection {
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

interface Record_ {
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

interface Environment {
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

interface InterconnectState {
  connections: Map<string, Record_>;
  tokens: Map<string, IdempotencyEntry>;
}

/** A proposal the partner issued for an AWS account (partner-first flow). */
interface Proposal {
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

function partnerOf(world: World): Partner {
  let p = partners.get(world);
  if (!p) {
    p = { environments: new Map(baseEnvironments().map((e) => [e.environmentId, e])), proposals: new Map() };
    partners.set(world, p);
  }
  return p;
}

// ---------- helpers ----------

function settingsOf(world: World): {
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

function bandwidthOf(mbps: number): string {
  return mbps % 1000 === 0 ? `${mbps / 1000}Gbps` : `${mbps}Mbps`;
}

/** (inferred) One billing tier per bandwidth step. */
function billingTier(bandwidth: string): number {
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

const envUri = (provider: string, specName: string) => `providers/${provider}/environments/${specName}`;

function summary(c: Connection) {
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

function view(r: Record_): Connection {
  const c = r.connection;
  return { ...c, tags: c.tags && Object.keys(c.tags).length > 0 ? { ...c.tags } : undefined };
}

// ---------- input constraints (model) ----------

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const ARN = /^arn:aws[a-z-]*:interconnect:[^:]+:[0-9]{12}:connection\/(mcc|lmcc)-[a-z0-9]{8}$/;
const S = {
  bandwidth: { type: 'string', min: 1, max: 8, pattern: /^\d+[MG]bps$/ },
  description: { type: 'string', min: 1, max: 255, pattern: /^[-a-zA-Z0-9_ ]+$/ },
  connectionId: { type: 'string', min: 1, max: 32, pattern: /^(mcc|lmcc)-[a-z0-9]{8}$/ },
  environmentId: { type: 'string', min: 1, max: 64 },
  activationKey: { type: 'string', min: 1, max: 2048, sensitive: true }, // model: @sensitive
  arn: { type: 'string', min: 59, max: 150, pattern: ARN },
  attachPoint: {
    type: 'union',
    members: {
      directConnectGateway: { type: 'string', min: 36, max: 36, pattern: UUID },
      arn: { type: 'string', min: 59, max: 150, pattern: ARN },
    },
  },
  provider: {
    type: 'union',
    members: {
      cloudServiceProvider: { type: 'string', max: 32 },
      lastMileProvider: { type: 'string', max: 32 },
    },
  },
  tags: {
    type: 'map',
    key: { type: 'string', min: 1, max: 128 },
    value: { type: 'string', min: 0, max: 256 },
  },
  remoteAccount: {
    type: 'union',
    members: { identifier: { type: 'string', min: 1, max: 255, pattern: /^[-a-zA-Z0-9_@.]+$/ } },
  },
  maxResults: { type: 'integer', min: 1, max: 100 },
  nextToken: { type: 'string', min: 1, max: 1024 },
  clientToken: { type: 'string' },
  location: { type: 'string', max: 255 },
} satisfies Record<string, Spec>;

const req = <T extends Spec>(s: T): T => ({ ...s, required: true });

function validate(input: unknown, members: Record<string, Spec>): void {
  const problems = violations(input, members);
  if (problems.length > 0) throw ValidationError(validationMessage(problems));
}

// ---------- state transitions on the virtual clock ----------

const timers = new WeakMap<Record_, Timer>();

function schedule(world: World, r: Record_, delay: number, from: ConnectionState, to: () => void): void {
  timers.get(r)?.cancel();
  const t = world.clock.after(delay, () => {
    timers.delete(r);
    if (r.connection.state !== from) return;
    if (world.faults.isStuck('interconnect', r.connection.id, from)) {
      // Held by a fault: look again after the same delay, so removing the fault lets it move on.
      schedule(world, r, delay, from, to);
      return;
    }
    to();
  });
  timers.set(r, t);
}

function startProvisioning(world: World, r: Record_): void {
  r.connection.state = 'pending';
  schedule(world, r, settingsOf(world).delays.provisioning, 'pending', () => {
    r.connection.state = 'available';
  });
}

function startDeletion(world: World, r: Record_, scope: InterconnectState): void {
  const { delays } = settingsOf(world);
  r.connection.state = 'deleting';
  schedule(world, r, delays.deletion, 'deleting', () => {
    r.connection.state = 'deleted';
    r.deletedAt = world.clock.now();
    timers.set(
      r,
      world.clock.after(delays.deletedRetention, () => {
        scope.connections.delete(r.connection.id);
      }),
    );
  });
}

// ---------- lookups ----------

function findConnection(ctx: RequestContext<InterconnectState>, identifier: string): Record_ {
  const r = ctx.state.connections.get(identifier);
  if (!r) throw NotFound(`Connection ${identifier} not found`);
  return r;
}

function findByArn(ctx: RequestContext<InterconnectState>, arn: string): Record_ {
  const [, , , region, account, resource] = arn.split(':');
  if (account !== ctx.accountId) {
    throw AccessDenied(`User: ${ctx.principal.arn} is not authorized to access resource ${arn}`);
  }
  const id = (resource ?? '').split('/')[1] ?? '';
  const r = region === ctx.region ? ctx.state.connections.get(id) : undefined;
  if (!r) throw NotFound(`Resource ${arn} not found`);
  return r;
}

function environmentFor(ctx: RequestContext<InterconnectState>, environmentId: string): Environment {
  const env = partnerOf(ctx.world).environments.get(environmentId);
  if (!env || env.region !== ctx.region) {
    throw NotFound(`Environment ${environmentId} not found in ${ctx.region}`);
  }
  return env;
}

function checkAttachPoint(ctx: RequestContext<InterconnectState>, attachPoint: AttachPoint): AttachPoint {
  if ('arn' in attachPoint) {
    throw ClientError(
      `Attach point ${attachPoint.arn} is not supported: use a directConnectGateway attach point`,
    );
  }
  const id = attachPoint.directConnectGateway.toUpperCase();
  if (!dxGateways(ctx.world, ctx.accountId).has(id)) {
    throw NotFound(`Direct Connect gateway ${attachPoint.directConnectGateway} not found`);
  }
  return { directConnectGateway: attachPoint.directConnectGateway };
}

function checkBandwidth(env: Environment, bandwidth: string): void {
  if (!env.bandwidths.supported.includes(bandwidth)) {
    throw ClientError(
      `Bandwidth ${bandwidth} is not supported by environment ${env.environmentId} (supported: ${env.bandwidths.supported.join(', ')})`,
    );
  }
  if (!env.bandwidths.available.includes(bandwidth)) {
    throw ClientError(
      `Bandwidth ${bandwidth} is not currently available on environment ${env.environmentId}`,
    );
  }
}

function checkQuota(ctx: RequestContext<InterconnectState>): void {
  const { maxConnections } = settingsOf(ctx.world);
  const live = [...ctx.state.connections.values()].filter((r) => r.connection.state !== 'deleted').length;
  if (live >= maxConnections) {
    throw QuotaExceeded(
      `Account ${ctx.accountId} already has ${live} connections in ${ctx.region} (quota ${maxConnections})`,
    );
  }
}

/**
 * clientToken idempotency: the same token with the same parameters returns the same connection
 * (in its current state, or as first answered if it has since been purged); with other parameters
 * it is refused. The model declares no dedicated error for a reused token, so the refusal is its
 * generic InterconnectClientException ("incorrect client supplied parameters").
 */
function replay(
  ctx: RequestContext<InterconnectState>,
  input: Record<string, unknown>,
): Connection | undefined {
  const token = input.clientToken;
  if (typeof token !== 'string' || token.length === 0) return undefined;
  const entry = ctx.state.tokens.get(token);
  if (!entry) return undefined;
  if (ctx.clock.now() - entry.at > settingsOf(ctx.world).delays.idempotencyWindow) {
    ctx.state.tokens.delete(token);
    return undefined;
  }
  if (entry.operation !== ctx.operation || entry.fingerprint !== fingerprint(input)) {
    throw ClientError(`clientToken ${token} was already used with different parameters`);
  }
  // Inside the window a token never acts twice: a connection purged since (deleted, then past
  // `deletedRetention`) answers with the recorded result instead of creating a new connection.
  const r = ctx.state.connections.get(entry.connectionId);
  return r ? view(r) : structuredClone(entry.result);
}

function remember(ctx: RequestContext<InterconnectState>, input: Record<string, unknown>, r: Record_): void {
  const token = input.clientToken;
  if (typeof token !== 'string' || token.length === 0) return;
  ctx.state.tokens.set(token, {
    operation: ctx.operation,
    fingerprint: fingerprint(input),
    connectionId: r.connection.id,
    result: structuredClone(view(r)),
    at: ctx.clock.now(),
  });
}

/**
 * The request without its token, as RFC 8785 canonical JSON (hashed): key order does not matter,
 * nested members (attachPoint, remoteAccount, tags) do.
 */
function fingerprint(input: Record<string, unknown>): string {
  const { clientToken: _, ...rest } = input;
  return canonicalHash(rest);
}

function newConnectionId(ctx: RequestContext<InterconnectState>): string {
  for (;;) {
    const id = `mcc-${ctx.world.random.chars(8)}`;
    if (!ctx.state.connections.has(id)) return id;
  }
}

// ---------- pagination ----------

function page<T>(items: T[], input: { maxResults?: number; nextToken?: string }, salt: string) {
  let offset = 0;
  if (input.nextToken !== undefined) {
    const m = /^([0-9]+)\.([a-z0-9]+)$/.exec(Buffer.from(input.nextToken, 'base64url').toString('utf8'));
    if (!m || m[2] !== salt) throw ValidationError(`Invalid nextToken: ${input.nextToken}`);
    offset = Number(m[1]);
  }
  const size = input.maxResults ?? 100;
  const slice = items.slice(offset, offset + size);
  const next =
    offset + size < items.length ? Buffer.from(`${offset + size}.${salt}`).toString('base64url') : undefined;
  return { slice, nextToken: next };
}

/** Ties a token to the filters it was issued for, so a token is not reused with other filters. */
function saltOf(parts: unknown): string {
  let h = 0;
  for (const ch of JSON.stringify(parts)) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  return h.toString(36);
}

const sameUnion = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  Object.entries(b).every(([k, v]) =>
    typeof v === 'string' ? String(a[k]).toUpperCase() === v.toUpperCase() : true,
  ) && Object.keys(b).length > 0;

// ---------- the module ----------

type Ctx = RequestContext<InterconnectState>;
/** Parsed JSON input; `validate` checks it against the model before any field is used. */
// biome-ignore lint/suspicious/noExplicitAny: input is checked by validate() against the model's constraints.
type In = Record<string, any>;

export default defineService<InterconnectState>({
  name: 'interconnect',
  signingName: 'interconnect',
  sensitiveMembers: ['activationKey'],
  // Management write events (CloudTrail); reads are not sent to EventBridge.
  cloudTrailEvents: [
    'CreateConnection',
    'AcceptConnectionProposal',
    'UpdateConnection',
    'DeleteConnection',
    'TagResource',
    'UntagResource',
  ],
  protocol: 'json1.0',
  targetPrefix: 'Interconnect',
  // The model also declares rpcv2Cbor; the official JS client speaks JSON 1.0, others may not.
  cborServiceName: 'Interconnect',
  errorNamespace: 'com.amazonaws.interconnect',
  errors: {
    throttling: { code: 'ThrottlingException', status: 429 },
    server: { code: 'InterconnectServerException', status: 500 },
  },
  createState: () => ({ connections: new Map(), tokens: new Map() }),

  operations: {
    CreateConnection(input: In, ctx: Ctx) {
      validate(input, {
        description: S.description,
        bandwidth: req(S.bandwidth),
        attachPoint: req(S.attachPoint),
        environmentId: req(S.environmentId),
        remoteAccount: S.remoteAccount,
        tags: S.tags,
        clientToken: S.clientToken,
      });
      const again = replay(ctx, input);
      if (again) return { connection: again };
      const env = environmentFor(ctx, input.environmentId);
      if (env.state === 'unavailable') throw ClientError(`Environment ${env.environmentId} is unavailable`);
      checkBandwidth(env, input.bandwidth);
      const attachPoint = checkAttachPoint(ctx, input.attachPoint);
      const remote: string | undefined = input.remoteAccount?.identifier;
      if (!remote) {
        // (inferred) the key names its destination account, so the partner's account is needed.
        throw ClientError(
          `remoteAccount is required on environment ${env.environmentId} (remoteIdentifierType ${env.remoteIdentifierType})`,
        );
      }
      checkQuota(ctx);
      const id = newConnectionId(ctx);
      const sharedId = ctx.world.random.uuid(true);
      const activationKey = encodeActivationKey({
        version: 1,
        destinationEnvironmentUri: envUri(env.specProvider, env.specName),
        sharedConnectionUuid: sharedId,
        connectionSizeMbps: bandwidthMbps(input.bandwidth),
        destinationAccountId: remote,
      });
      const r: Record_ = {
        origin: 'aws',
        remoteAccount: remote,
        createdAt: ctx.clock.now(),
        region: ctx.region,
        connection: {
          id,
          arn: `arn:aws:interconnect:${ctx.region}:${ctx.accountId}:connection/${id}`,
          description: input.description ?? id,
          bandwidth: input.bandwidth,
          attachPoint,
          environmentId: env.environmentId,
          provider: { ...env.provider },
          location: env.location,
          type: env.type,
          state: 'requested',
          sharedId,
          billingTier: billingTier(input.bandwidth),
          ownerAccount: ctx.accountId,
          activationKey,
          tags: { ...(input.tags ?? {}) },
        },
      };
      ctx.state.connections.set(id, r);
      remember(ctx, input, r);
      schedule(ctx.world, r, settingsOf(ctx.world).delays.keyExpiry, 'requested', () => {
        r.connection.state = 'failed';
      });
      return { connection: view(r) };
    },

    AcceptConnectionProposal(input: In, ctx: Ctx) {
      validate(input, {
        attachPoint: req(S.attachPoint),
        activationKey: req(S.activationKey),
        description: S.description,
        tags: S.tags,
        clientToken: S.clientToken,
      });
      const again = replay(ctx, input);
      if (again) return { connection: again };
      const proposal = proposalFor(ctx, input.activationKey);
      if (proposal.acceptedBy) {
        throw ClientError(`The connection proposal ${proposal.sharedId} has already been accepted`);
      }
      const env = environmentFor(ctx, proposal.environmentId);
      const attachPoint = checkAttachPoint(ctx, input.attachPoint);
      checkQuota(ctx);
      const id = newConnectionId(ctx);
      const r: Record_ = {
        origin: 'partner',
        remoteAccount: proposal.remoteAccount,
        createdAt: ctx.clock.now(),
        region: ctx.region,
        connection: {
          id,
          arn: `arn:aws:interconnect:${ctx.region}:${ctx.accountId}:connection/${id}`,
          description: input.description ?? id,
          bandwidth: proposal.bandwidth,
          attachPoint,
          environmentId: env.environmentId,
          provider: { ...env.provider },
          location: env.location,
          type: env.type,
          state: 'pending',
          sharedId: proposal.sharedId,
          billingTier: billingTier(proposal.bandwidth),
          ownerAccount: ctx.accountId,
          activationKey: proposal.activationKey,
          tags: { ...(input.tags ?? {}) },
        },
      };
      ctx.state.connections.set(id, r);
      proposal.acceptedBy = { accountId: ctx.accountId, region: ctx.region, connectionId: id };
      remember(ctx, input, r);
      startProvisioning(ctx.world, r);
      return { connection: view(r) };
    },

    DescribeConnectionProposal(input: In, ctx: Ctx) {
      validate(input, { activationKey: req(S.activationKey) });
      const proposal = proposalFor(ctx, input.activationKey);
      const env = environmentFor(ctx, proposal.environmentId);
      return {
        bandwidth: proposal.bandwidth,
        environmentId: env.environmentId,
        provider: { ...env.provider },
        location: env.location,
      };
    },

    GetConnection(input: In, ctx: Ctx) {
      validate(input, { identifier: req(S.connectionId) });
      return { connection: view(findConnection(ctx, input.identifier)) };
    },

    ListConnections(input: In, ctx: Ctx) {
      validate(input, {
        maxResults: S.maxResults,
        nextToken: S.nextToken,
        state: { type: 'string', enum: CONNECTION_STATES },
        environmentId: S.environmentId,
        provider: S.provider,
        attachPoint: S.attachPoint,
      });
      const all = [...ctx.state.connections.values()]
        .filter((r) => input.state === undefined || r.connection.state === input.state)
        .filter(
          (r) => input.environmentId === undefined || r.connection.environmentId === input.environmentId,
        )
        .filter((r) => input.provider === undefined || sameUnion(r.connection.provider, input.provider))
        .filter(
          (r) => input.attachPoint === undefined || sameUnion(r.connection.attachPoint, input.attachPoint),
        );
      const { slice, nextToken } = page(
        all,
        input,
        saltOf([input.state, input.environmentId, input.provider, input.attachPoint]),
      );
      return { connections: slice.map((r) => summary(r.connection)), nextToken };
    },

    UpdateConnection(input: In, ctx: Ctx) {
      validate(input, {
        identifier: req(S.connectionId),
        description: S.description,
        bandwidth: S.bandwidth,
        clientToken: S.clientToken,
      });
      const again = replay(ctx, input);
      if (again) return { connection: again };
      const r = findConnection(ctx, input.identifier);
      const c = r.connection;
      if (input.bandwidth !== undefined && input.bandwidth !== c.bandwidth) {
        if (c.state !== 'available') {
          throw ClientError(
            `Connection ${c.id} is ${c.state}: its bandwidth can only change while available`,
          );
        }
        const env = partnerOf(ctx.world).environments.get(c.environmentId);
        if (env) checkBandwidth(env, input.bandwidth);
      } else if (c.state === 'deleting' || c.state === 'deleted') {
        throw ClientError(`Connection ${c.id} is ${c.state} and cannot be updated`);
      }
      if (input.description !== undefined) c.description = input.description;
      if (input.bandwidth !== undefined && input.bandwidth !== c.bandwidth) {
        const target: string = input.bandwidth;
        r.targetBandwidth = target;
        c.state = 'updating';
        schedule(ctx.world, r, settingsOf(ctx.world).delays.update, 'updating', () => {
          c.bandwidth = target;
          c.billingTier = billingTier(target);
          r.targetBandwidth = undefined;
          c.state = 'available';
        });
      }
      remember(ctx, input, r);
      return { connection: view(r) };
    },

    DeleteConnection(input: In, ctx: Ctx) {
      validate(input, { identifier: req(S.connectionId), clientToken: S.clientToken });
      const again = replay(ctx, input);
      if (again) return { connection: again };
      const r = findConnection(ctx, input.identifier);
      // Idempotent (model): deleting what is already going away changes nothing.
      if (r.connection.state !== 'deleting' && r.connection.state !== 'deleted') {
        startDeletion(ctx.world, r, ctx.state);
      }
      remember(ctx, input, r);
      return { connection: view(r) };
    },

    GetEnvironment(input: In, ctx: Ctx) {
      validate(input, { id: req(S.environmentId) });
      return { environment: envView(environmentFor(ctx, input.id)) };
    },

    ListEnvironments(input: In, ctx: Ctx) {
      validate(input, {
        maxResults: S.maxResults,
        nextToken: S.nextToken,
        provider: S.provider,
        location: S.location,
      });
      const envs = [...partnerOf(ctx.world).environments.values()]
        .filter((e) => e.region === ctx.region)
        .filter((e) => input.provider === undefined || sameUnion(e.provider, input.provider))
        .filter((e) => input.location === undefined || e.location === input.location)
        .sort((a, b) => a.environmentId.localeCompare(b.environmentId));
      const { slice, nextToken } = page(envs, input, saltOf([ctx.region, input.provider, input.location]));
      return { environments: slice.map(envView), nextToken };
    },

    ListAttachPoints(input: In, ctx: Ctx) {
      validate(input, {
        environmentId: req(S.environmentId),
        maxResults: S.maxResults,
        nextToken: S.nextToken,
      });
      environmentFor(ctx, input.environmentId);
      const gws = [...dxGateways(ctx.world, ctx.accountId).values()]
        .filter((g) => g.directConnectGatewayState === 'available')
        .sort((a, b) => a.directConnectGatewayId.localeCompare(b.directConnectGatewayId));
      const { slice, nextToken } = page(gws, input, saltOf([input.environmentId]));
      return {
        attachPoints: slice.map((g) => ({
          type: 'DirectConnectGateway',
          identifier: g.directConnectGatewayId,
          name: g.directConnectGatewayName,
        })),
        nextToken,
      };
    },

    TagResource(input: In, ctx: Ctx) {
      validate(input, { arn: req(S.arn), tags: req(S.tags) });
      const r = findByArn(ctx, input.arn);
      r.connection.tags = { ...(r.connection.tags ?? {}), ...input.tags };
      return {};
    },

    UntagResource(input: In, ctx: Ctx) {
      validate(input, {
        arn: req(S.arn),
        tagKeys: req({ type: 'list', member: { type: 'string', min: 1, max: 128 } }),
      });
      const r = findByArn(ctx, input.arn);
      const tags = { ...(r.connection.tags ?? {}) };
      for (const k of input.tagKeys as string[]) delete tags[k];
      r.connection.tags = tags;
      return {};
    },

    ListTagsForResource(input: In, ctx: Ctx) {
      validate(input, { arn: req(S.arn) });
      return { tags: { ...(findByArn(ctx, input.arn).connection.tags ?? {}) } };
    },
  },

  status(state) {
    const connections = [...state.connections.values()].map((r) => ({
      id: r.connection.id,
      state: r.connection.state,
      bandwidth: r.connection.bandwidth,
      environmentId: r.connection.environmentId,
      sharedId: r.connection.sharedId,
      description: r.connection.description,
      origin: r.origin,
      remoteAccount: r.remoteAccount,
    }));
    return connections.length > 0 ? { connections } : undefined;
  },

  admin: {
    /** The partner redeems an AWS-issued key: `requested` -> `pending` -> `available`. */
    'redeem-key'(
      body: { activationKey?: string; remoteAccountId?: string; bandwidth?: string },
      world: World,
    ) {
      const key = body.activationKey ? decodeActivationKey(body.activationKey) : undefined;
      if (!key) throw adminError(400, 'InvalidKey', 'activationKey is not a valid activation key');
      const found = findShared(world, key.sharedConnectionUuid);
      if (found?.record.origin !== 'aws') {
        throw adminError(404, 'NotFound', `no AWS connection has shared id ${key.sharedConnectionUuid}`);
      }
      const { record } = found;
      if (body.remoteAccountId !== undefined && body.remoteAccountId !== key.destinationAccountId) {
        throw adminError(
          403,
          'WrongAccount',
          `the key is for account ${key.destinationAccountId}, not ${body.remoteAccountId}`,
        );
      }
      if (body.bandwidth !== undefined && bandwidthMbps(body.bandwidth) !== key.connectionSizeMbps) {
        throw adminError(
          400,
          'WrongBandwidth',
          `the key is for ${bandwidthOf(key.connectionSizeMbps)}, not ${body.bandwidth}`,
        );
      }
      if (record.connection.activationKey !== body.activationKey) {
        throw adminError(400, 'InvalidKey', 'the key does not match the connection it names');
      }
      if (record.connection.state !== 'requested') {
        throw adminError(409, 'Conflict', `connection ${record.connection.id} is ${record.connection.state}`);
      }
      startProvisioning(world, record);
      return { connection: view(record), accountId: found.accountId, region: found.region };
    },

    /** The partner proposes a connection to an AWS account (partner-first flow); returns the key. */
    'issue-key'(
      body: {
        environmentId?: string;
        region?: string;
        bandwidth?: string;
        destinationAccountId?: string;
        remoteAccountId?: string;
      },
      world: World,
    ) {
      const partner = partnerOf(world);
      const env = body.environmentId
        ? partner.environments.get(body.environmentId)
        : [...partner.environments.values()].find(
            (e) => e.region === (body.region ?? world.defaultRegion) && e.specProvider === 'gcp',
          );
      if (!env) throw adminError(404, 'NotFound', `no environment ${body.environmentId ?? body.region}`);
      const bandwidth = body.bandwidth ?? '1Gbps';
      if (!/^\d+[MG]bps$/.test(bandwidth))
        throw adminError(400, 'BadRequest', `bandwidth ${bandwidth} is not like 1Gbps`);
      const destinationAccountId = body.destinationAccountId ?? '';
      if (!/^\d{12}$/.test(destinationAccountId)) {
        throw adminError(400, 'BadRequest', 'destinationAccountId must be a 12-digit AWS account id');
      }
      const sharedId = world.random.uuid(true);
      const activationKey = encodeActivationKey({
        version: 1,
        destinationEnvironmentUri: envUri('aws', env.specName),
        sharedConnectionUuid: sharedId,
        connectionSizeMbps: bandwidthMbps(bandwidth),
        destinationAccountId,
      });
      partner.proposals.set(sharedId, {
        sharedId,
        activationKey,
        environmentId: env.environmentId,
        bandwidth,
        destinationAccountId,
        remoteAccount: body.remoteAccountId,
      });
      return { activationKey, sharedId, environmentId: env.environmentId, region: env.region };
    },

    /** The partner withdraws a key it issued and nobody accepted (it expired): accepting it fails. */
    'withdraw-proposal'(body: { sharedId?: string }, world: World) {
      const proposals = partnerOf(world).proposals;
      const key = [...proposals.keys()].find((k) => k.toUpperCase() === (body.sharedId ?? '').toUpperCase());
      const proposal = key === undefined ? undefined : proposals.get(key);
      if (!proposal || proposal.acceptedBy) {
        throw adminError(404, 'NotFound', `no unaccepted proposal with shared id ${body.sharedId}`);
      }
      proposals.delete(proposal.sharedId);
      return { withdrawn: proposal.sharedId };
    },

    /** The partner side of a link goes down or comes back: `available` <-> `down`. */
    'set-link'(body: { identifier?: string; up?: boolean }, world: World) {
      const found = body.identifier ? findAny(world, body.identifier) : undefined;
      if (!found) throw adminError(404, 'NotFound', `no connection ${body.identifier}`);
      const c = found.record.connection;
      const wanted = body.up ? 'available' : 'down';
      const from = body.up ? 'down' : 'available';
      if (c.state !== from && c.state !== wanted) {
        throw adminError(
          409,
          'Conflict',
          `connection ${c.id} is ${c.state}, cannot go ${body.up ? 'up' : 'down'}`,
        );
      }
      c.state = wanted;
      return { connection: view(found.record) };
    },

    /** Provisioning fails on the partner side: `pending` -> `failed`. */
    fail(body: { identifier?: string }, world: World) {
      const found = body.identifier ? findAny(world, body.identifier) : undefined;
      if (!found) throw adminError(404, 'NotFound', `no connection ${body.identifier}`);
      const c = found.record.connection;
      if (c.state !== 'pending' && c.state !== 'requested') {
        throw adminError(
          409,
          'Conflict',
          `connection ${c.id} is ${c.state}, only pending or requested can fail`,
        );
      }
      timers.get(found.record)?.cancel();
      c.state = 'failed';
      return { connection: view(found.record) };
    },

    /** Capacity of an environment: its state and orderable bandwidths. */
    'set-environment'(
      body: { environmentId?: string; state?: Environment['state']; available?: string[] },
      world,
    ) {
      const env = body.environmentId ? partnerOf(world).environments.get(body.environmentId) : undefined;
      if (!env) throw adminError(404, 'NotFound', `no environment ${body.environmentId}`);
      if (body.state) env.state = body.state;
      if (body.available)
        env.bandwidths.available = body.available.filter((b) => env.bandwidths.supported.includes(b));
      return { environment: envView(env) };
    },

    /** A Direct Connect gateway in an account (an attach point). */
    'add-gateway'(body: { accountId?: string; name?: string; id?: string }, world: World) {
      if (!body.accountId || !/^\d{12}$/.test(body.accountId)) {
        throw adminError(400, 'BadRequest', 'accountId must be a 12-digit account id');
      }
      return {
        gateway: addDxGateway(world, body.accountId, {
          name: body.name ?? 'dxgw',
          ...(body.id ? { id: body.id } : {}),
        }),
      };
    },

    /** The Direct Connect gateways of an account (what ListAttachPoints shows). */
    gateways(body: { accountId?: string }, world: World) {
      return { gateways: [...dxGateways(world, body.accountId ?? '000000000000').values()] };
    },
  },
});

function envView(e: Environment) {
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

/** Resolves a partner-issued key for the calling account, or throws the service's error. */
function proposalFor(ctx: Ctx, activationKey: string): Proposal {
  const key = decodeActivationKey(activationKey);
  if (!key) throw ClientError('The activationKey is not a valid activation key');
  const proposal = partnerOf(ctx.world).proposals.get(key.sharedConnectionUuid);
  if (!proposal || proposal.activationKey !== activationKey) {
    throw NotFound(`No connection proposal matches the activationKey (sharedId ${key.sharedConnectionUuid})`);
  }
  if (key.destinationAccountId !== ctx.accountId) {
    throw ClientError(
      `The activationKey was issued for account ${key.destinationAccountId}, not ${ctx.accountId}`,
    );
  }
  return proposal;
}

function findShared(world: World, sharedId: string) {
  for (const scope of world.scopes('interconnect')) {
    const st = world.stateOf<InterconnectState>('interconnect', scope.accountId, scope.region);
    for (const record of st.connections.values()) {
      if (record.connection.sharedId.toUpperCase() === sharedId.toUpperCase()) return { ...scope, record };
    }
  }
  return undefined;
}

/** A connection anywhere by id, ARN or shared id. */
function findAny(world: World, identifier: string) {
  const id = identifier.startsWith('arn:') ? (identifier.split('/')[1] ?? '') : identifier;
  for (const scope of world.scopes('interconnect')) {
    const st = world.stateOf<InterconnectState>('interconnect', scope.accountId, scope.region);
    const record = st.connections.get(id);
    if (record) return { ...scope, record };
  }
  return UUID.test(identifier) ? findShared(world, identifier) : undefined;
}

function adminError(status: number, code: string, message: string): Error {
  return Object.assign(new Error(message), { status, code });
}
