/**
 * Network Connectivity TransportManager v1beta (networkconnectivity.googleapis.com), per
 * googleapis transport_manager.proto and the gcloud reference (docs/reference/transport-manager.md):
 * remote transport profiles (one per region pair the providers offer, local/offerings.ts: profile
 * `aws-<aws region>` in the pair's Google region), transports with long-running operations,
 * `transportId`, `requestId` idempotency, the four updatable fields, pagination and `unreachable`.
 *
 * CreateTransport field rules: `remoteProfile` is the profile's resource name
 * (`projects/{project}/locations/{location}/remoteTransportProfiles/{id}`; a bare id is
 * INVALID_ARGUMENT), of the transport's own project and location. With `providedActivationKey` the
 * key names the profile, the bandwidth and the account: `remoteProfile`, `bandwidth` and
 * `remoteAccountId` beside it are INVALID_ARGUMENT (gcloud makes `--activation-key` exclusive with
 * them), and the key's environment must be one a profile of this location serves.
 *
 * Life of a transport on the virtual clock (settings `networkconnectivity.delays`, defaults below):
 * - key provided (AWS first): the key is checked and redeemed with the partner at once (a bad key
 *   is refused and nothing is created); CREATING, then PENDING_CONFIG after `creating`; ACTIVE once
 *   the partner's half is `available` and `configuring` has passed.
 * - no key (Google first, an OUTPUT flow): the partner is asked for a key for `remoteAccountId`;
 *   CREATING, then PENDING_KEY with `generatedActivationKey` after `creating`; PENDING_CONFIG when
 *   the partner accepts it; then ACTIVE as above. An unaccepted key expires after `keyExpiry`.
 * - INPUT_ONLY profile without a key: PENDING_KEY until a PATCH supplies `providedActivationKey`.
 * - ACTIVE -> PENDING_CONFIG when the partner's half leaves `available` (down, deleted) (inferred:
 *   the enum has no DOWN); back to ACTIVE when it returns. Deleting a transport never deletes the
 *   partner's half. Create / update / delete finish their operations after their delays.
 * The partner is reached through the RemoteProvider port (local/gcp/remote.ts), which the world
 * between the clouds implements. A `stuck` fault (`{edge: 'gcp', service: 'networkconnectivity',
 * resource: <transportId>, state}`) holds a transport in its state. Admin: `region-outage`,
 * `set-profile`, `expire-key`.
 * Per-project IAM: settings `members` (`{<project>: [emails]}`) is a project's TransportManager
 * policy; a listed project answers only those callers (403 `IAM_PERMISSION_DENIED` naming the
 * permission, e.g. `networkconnectivity.transports.create`), an unlisted one any authenticated caller.
 */
import { parseDuration } from '#core/clock.ts';
import { parseCidr } from '#core/net/cidr.ts';
import { parseBandwidth } from '#core/policy/bandwidth.ts';
import type { Timer } from '#local/clock.ts';
import { GOOGLE_BANDWIDTHS, GOOGLE_PAIRS } from '#local/offerings.ts';
import { alreadyExists, failedPrecondition, GcpError, invalidArgument, notFound } from '../errors.ts';
import { permissionDenied } from '../iam/policy.ts';
import { KeyRefusal, type LocalHalf, remoteProvider } from '../remote.ts';
import { defineGcpService, type GcpRequestContext, type GcpRoute, type GcpWorld } from '../service.ts';

const TYPE_PREFIX = 'type.googleapis.com/google.cloud.networkconnectivity.v1beta';
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
/** transport_manager.proto: `request_id` has `field_info.format = UUID4` (version 4, RFC 4122 variant). */
const UUID4_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/;
const ID_RE = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const AWS_ACCOUNT_RE = /^\d{12}$/;

export type TransportState = 'CREATING' | 'PENDING_CONFIG' | 'PENDING_KEY' | 'ACTIVE';
export type KeyFlow = 'INPUT_ONLY' | 'OUTPUT_ONLY' | 'INPUT_OR_OUTPUT';

const DEFAULT_DELAYS = {
  creating: '1m',
  configuring: '3m',
  update: '30s',
  deletion: '1m',
  keyExpiry: '7d',
  requestIdWindow: '60m',
  tick: '15s',
} as const;

export interface TransportSettings {
  delays: Partial<Record<keyof typeof DEFAULT_DELAYS, string | number>>;
  /** (inferred) MTU of a transport. */
  mtuLimit: number;
  /**
   * Per-project IAM of TransportManager: project id -> the emails granted a networkconnectivity
   * role there. A project listed here answers only those callers (anyone else gets the API's 403);
   * a project not listed keeps the local default: any authenticated caller.
   */
  members: Record<string, string[]>;
}

/** The wire shape (proto3 JSON: empty and false fields omitted). */
export interface Transport {
  name: string;
  createTime: string;
  updateTime: string;
  labels?: Record<string, string>;
  description?: string;
  remoteProfile: string;
  providedActivationKey?: string;
  generatedActivationKey?: string;
  bandwidth: string;
  stackType: string;
  state: TransportState;
  mtuLimit: number;
  adminEnabled?: boolean;
  network: string;
  advertisedRoutes?: string[];
  remoteAccountId?: string;
  peeringNetwork: string;
}

interface TransportRecord {
  t: Transport;
  project: string;
  location: string;
  id: string;
  awsRegion: string;
  flow: KeyFlow;
  sharedId: string | undefined;
  createdAt: number;
  pendingConfigSince: number | undefined;
  keyIssuedAt: number | undefined;
  keyExpired: boolean;
  deleting: boolean;
  /** The create or update operation in progress, and the timer that ends it. */
  busy: { timer: Timer; op: OperationRecord } | undefined;
}

interface OperationRecord {
  name: string;
  verb: 'create' | 'update' | 'delete';
  target: string;
  createTime: number;
  endTime: number | undefined;
  done: boolean;
  response: unknown;
  error: { code: number; message: string; details: unknown[] } | undefined;
}

interface ProjectState {
  transports: Map<string, TransportRecord>;
  operations: Map<string, OperationRecord>;
  requestIds: Map<string, { operation: string; at: number }>;
}

interface Global {
  outages: Set<string>;
  profiles: Map<string, { flow?: KeyFlow; orderState?: 'OPEN' | 'CLOSED' }>;
  ticker: Timer | undefined;
}

const globals = new WeakMap<GcpWorld, Global>();
function globalOf(world: GcpWorld): Global {
  let g = globals.get(world);
  if (!g) {
    g = { outages: new Set(), profiles: new Map(), ticker: undefined };
    globals.set(world, g);
  }
  return g;
}

function settingsOf(world: GcpWorld) {
  const s = world.settings<TransportSettings>('networkconnectivity');
  const delays = {} as Record<keyof typeof DEFAULT_DELAYS, number>;
  for (const [k, v] of Object.entries(DEFAULT_DELAYS) as [keyof typeof DEFAULT_DELAYS, string][]) {
    const given = s.delays?.[k];
    delays[k] = typeof given === 'number' ? given : parseDuration(given ?? v);
  }
  return { delays, mtuLimit: s.mtuLimit ?? 1500 };
}

const iso = (ms: number) => new Date(ms).toISOString();

// ---------- remote transport profiles ----------

interface Profile {
  name: string;
  description: string;
  provider: string;
  providerSite: string;
  supportedBandwidths: string[];
  sla: 'HIGH' | 'MAXIMUM';
  flow: KeyFlow;
  orderState: 'OPEN' | 'CLOSED';
  displayName: string;
}

function profilesIn(world: GcpWorld, project: string, location: string): (Profile & { awsRegion: string })[] {
  const g = globalOf(world);
  return GOOGLE_PAIRS.filter((p) => location === '-' || p.gcp === location).map((p) => {
    const o = g.profiles.get(`${p.gcp}/${p.profileId}`) ?? {};
    return {
      name: `projects/${project}/locations/${p.gcp}/remoteTransportProfiles/${p.profileId}`,
      description: `Partner Cross-Cloud Interconnect to Amazon Web Services ${p.aws}`,
      provider: 'Amazon Web Services',
      providerSite: p.aws,
      supportedBandwidths: [...GOOGLE_BANDWIDTHS],
      // (inferred) the AWS Interconnect multicloud SLA is the maximum class.
      sla: 'MAXIMUM' as const,
      // (inferred) both flows, as AWS Interconnect offers both; admin `set-profile` narrows one.
      flow: o.flow ?? 'INPUT_OR_OUTPUT',
      orderState: o.orderState ?? 'OPEN',
      displayName: `AWS ${p.aws}`,
      awsRegion: p.aws,
    };
  });
}

function profileView(p: Profile & { awsRegion?: string }): Profile {
  const { awsRegion: _ignored, ...rest } = p;
  return rest;
}

// ---------- helpers ----------

function checkReachable(ctx: GcpRequestContext, location: string): void {
  if (globalOf(ctx.world).outages.has(location)) {
    throw new GcpError('UNAVAILABLE', `The service is currently unavailable in location ${location}.`);
  }
}

function checkRequestId(requestId: string | null): string | undefined {
  if (requestId === null || requestId === '') return undefined;
  if (!UUID4_RE.test(requestId) || requestId === ZERO_UUID) {
    throw invalidArgument(
      `Invalid value for field 'requestId': '${requestId}'. Must be a non-zero UUID (version 4).`,
      'request_id',
    );
  }
  return requestId.toLowerCase();
}

function replay(
  ctx: GcpRequestContext<ProjectState>,
  requestId: string | undefined,
): OperationRecord | undefined {
  if (!requestId) return undefined;
  const seen = ctx.state.requestIds.get(requestId);
  if (!seen) return undefined;
  if (ctx.clock.now() - seen.at > settingsOf(ctx.world).delays.requestIdWindow) {
    ctx.state.requestIds.delete(requestId);
    return undefined;
  }
  return ctx.state.operations.get(seen.operation);
}

function operationView(op: OperationRecord) {
  return {
    name: op.name,
    metadata: {
      '@type': `${TYPE_PREFIX}.OperationMetadata`,
      createTime: iso(op.createTime),
      ...(op.endTime !== undefined ? { endTime: iso(op.endTime) } : {}),
      target: op.target,
      verb: op.verb,
      requestedCancellation: false,
      apiVersion: 'v1beta',
    },
    done: op.done,
    ...(op.done && op.error ? { error: op.error } : {}),
    ...(op.done && !op.error ? { response: op.response } : {}),
  };
}

function newOperation(
  ctx: GcpRequestContext<ProjectState>,
  location: string,
  verb: OperationRecord['verb'],
  target: string,
  requestId: string | undefined,
): OperationRecord {
  const now = ctx.clock.now();
  const op: OperationRecord = {
    name: `projects/${ctx.params.project}/locations/${location}/operations/operation-${now}-${ctx.world.random.chars(12, '0123456789abcdef')}-${ctx.world.random.chars(8, '0123456789abcdef')}`,
    verb,
    target,
    createTime: now,
    endTime: undefined,
    done: false,
    response: undefined,
    error: undefined,
  };
  ctx.state.operations.set(op.name, op);
  if (requestId) ctx.state.requestIds.set(requestId, { operation: op.name, at: now });
  return op;
}

function finish(world: GcpWorld, op: OperationRecord, response: unknown): void {
  op.done = true;
  op.endTime = world.clock.now();
  op.response = response;
}

function view(r: TransportRecord): Transport {
  const t = r.t;
  const out: Transport = { ...t };
  if (!t.labels || Object.keys(t.labels).length === 0) delete out.labels;
  else out.labels = { ...t.labels };
  if (!t.description) delete out.description;
  if (!t.advertisedRoutes || t.advertisedRoutes.length === 0) delete out.advertisedRoutes;
  else out.advertisedRoutes = [...t.advertisedRoutes];
  if (!t.adminEnabled) delete out.adminEnabled;
  if (!t.providedActivationKey) delete out.providedActivationKey;
  if (!t.generatedActivationKey) delete out.generatedActivationKey;
  if (!t.remoteAccountId) delete out.remoteAccountId;
  return out;
}

function transportResponse(r: TransportRecord) {
  return { '@type': `${TYPE_PREFIX}.Transport`, ...view(r) };
}

function checkRoutes(routes: unknown): string[] {
  if (!Array.isArray(routes))
    throw invalidArgument('advertisedRoutes must be a list of IP prefixes', 'advertised_routes');
  return routes.map((r, i) => {
    if (typeof r !== 'string')
      throw invalidArgument(`advertisedRoutes[${i}] must be a string`, 'advertised_routes');
    try {
      return parseCidr(r).text;
    } catch {
      throw invalidArgument(`advertisedRoutes[${i}]: '${r}' is not a valid IP prefix`, 'advertised_routes');
    }
  });
}

function checkLabels(labels: unknown): Record<string, string> {
  if (labels === undefined) return {};
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw invalidArgument('labels must be a map of strings', 'labels');
  }
  for (const [k, v] of Object.entries(labels)) {
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(k) || typeof v !== 'string' || !/^[a-z0-9_-]{0,63}$/.test(v)) {
      throw invalidArgument(`label ${k}=${String(v)} is not a valid label`, 'labels');
    }
  }
  return { ...(labels as Record<string, string>) };
}

function refusalToError(e: unknown): GcpError {
  if (e instanceof KeyRefusal) {
    if (e.reason === 'not-redeemable')
      return failedPrecondition(`The activation key cannot be used: ${e.message}`);
    return invalidArgument(`Invalid activation key: ${e.message}`, 'transport.provided_activation_key');
  }
  throw e;
}

function findTransport(ctx: GcpRequestContext<ProjectState>, name: string): TransportRecord {
  const r = ctx.state.transports.get(name);
  if (!r) throw notFound(`Resource '${name}' was not found`);
  return r;
}

function isStuck(world: GcpWorld, r: TransportRecord): boolean {
  return world.faults.isStuck('networkconnectivity', r.id, r.t.state, 'gcp');
}

function setState(world: GcpWorld, r: TransportRecord, state: TransportState): void {
  if (r.t.state === state) return;
  r.t.state = state;
  r.t.updateTime = iso(world.clock.now());
  if (state === 'PENDING_CONFIG') r.pendingConfigSince = world.clock.now();
}

// ---------- reconciliation with the partner, on a tick of the virtual clock ----------

function allRecords(world: GcpWorld): TransportRecord[] {
  return world
    .projects('networkconnectivity')
    .flatMap((p) => [...world.stateOf<ProjectState>('networkconnectivity', p).transports.values()]);
}

/** Moves every transport as its partner's half dictates, then tells the partner about ours. */
export function reconcileTransports(world: GcpWorld): void {
  const remote = remoteProvider(world);
  const { delays } = settingsOf(world);
  const now = world.clock.now();
  for (const r of allRecords(world)) {
    if (r.deleting || r.t.state === 'CREATING' || isStuck(world, r)) continue;
    const theirs = r.sharedId && remote ? remote.remoteState(r.sharedId) : undefined;
    if (r.t.state === 'PENDING_KEY') {
      if (r.sharedId && r.keyIssuedAt !== undefined && !r.keyExpired && theirs === undefined) {
        if (now - r.keyIssuedAt >= delays.keyExpiry) {
          r.keyExpired = true;
          remote?.withdrawKey(r.sharedId);
        }
      }
      if (r.sharedId && theirs !== undefined && theirs !== 'failed' && theirs !== 'deleted') {
        setState(world, r, 'PENDING_CONFIG');
      }
      continue;
    }
    if (r.t.state === 'PENDING_CONFIG') {
      if (theirs === 'available' && now - (r.pendingConfigSince ?? now) >= delays.configuring) {
        setState(world, r, 'ACTIVE');
      }
      continue;
    }
    if (r.t.state === 'ACTIVE' && theirs !== 'available' && theirs !== 'updating') {
      setState(world, r, 'PENDING_CONFIG');
    }
  }
  remote?.syncLocalHalves(localHalves(world));
}

/** The Google halves as the partner should see them (every transport that holds a shared id). */
export function localHalves(world: GcpWorld): LocalHalf[] {
  return allRecords(world)
    .filter((r) => r.sharedId !== undefined)
    .map((r) => ({
      sharedId: r.sharedId as string,
      project: r.project,
      location: r.location,
      transportId: r.id,
      presence: r.deleting ? 'absent' : 'present',
      adminEnabled: r.t.adminEnabled === true,
      state: r.t.state,
      advertisedRoutes: [...(r.t.advertisedRoutes ?? [])],
    }));
}

/** A snapshot of every transport (wire shape, keys included) for the world and status. */
export function transportsOf(
  world: GcpWorld,
): (Transport & { sharedId?: string; project: string; location: string })[] {
  return allRecords(world).map((r) => ({
    ...view(r),
    project: r.project,
    location: r.location,
    ...(r.sharedId ? { sharedId: r.sharedId } : {}),
  }));
}

function ensureTicking(world: GcpWorld): void {
  const g = globalOf(world);
  if (g.ticker) return;
  const tick = () => {
    g.ticker = undefined;
    reconcileTransports(world);
    if (allRecords(world).length > 0) g.ticker = world.clock.after(settingsOf(world).delays.tick, tick);
  };
  g.ticker = world.clock.after(settingsOf(world).delays.tick, tick);
}

// ---------- handlers ----------

type Ctx = GcpRequestContext<ProjectState>;

/** The permission a TransportManager RPC checks (as the real API names it in its 403). */
function permissionOf(operation: string): string {
  if (operation.includes('RemoteTransportProfile'))
    return `networkconnectivity.remoteTransportProfiles.${operation.startsWith('List') ? 'list' : 'get'}`;
  if (operation === 'GetOperation') return 'networkconnectivity.operations.get';
  const verb = /^(List|Get|Create|Update|Delete)/.exec(operation)?.[1]?.toLowerCase() ?? 'get';
  return `networkconnectivity.transports.${verb}`;
}

/** Refuses a caller the project's TransportManager IAM (settings `members`) does not name. */
function guarded(routes: GcpRoute<ProjectState>[]): GcpRoute<ProjectState>[] {
  return routes.map((r) => ({
    ...r,
    handler: (ctx: Ctx) => {
      const project = ctx.params.project as string;
      const members = ctx.world.settings<TransportSettings>('networkconnectivity').members?.[project];
      if (members && !members.includes(ctx.caller?.email ?? '')) {
        throw permissionDenied(
          permissionOf(r.operation),
          `projects/${project}/locations/${ctx.params.location}`,
          'networkconnectivity.googleapis.com',
        );
      }
      return r.handler(ctx);
    },
  }));
}

function parent(ctx: Ctx): string {
  return `projects/${ctx.params.project}/locations/${ctx.params.location}`;
}

interface PageToken {
  o: number;
  f: string;
}

function paginate<T>(ctx: Ctx, items: T[], fingerprint: string): { slice: T[]; next: string | undefined } {
  const sizeRaw = ctx.query.get('pageSize');
  let size = 50;
  if (sizeRaw !== null && sizeRaw !== '') {
    const n = Number(sizeRaw);
    if (!Number.isInteger(n) || n < 0)
      throw invalidArgument('pageSize must be a non-negative integer', 'page_size');
    size = n === 0 ? 50 : Math.min(n, 100);
  }
  let offset = 0;
  const token = ctx.query.get('pageToken');
  if (token) {
    try {
      const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as PageToken;
      if (parsed.f !== fingerprint || !Number.isInteger(parsed.o) || parsed.o < 0)
        throw new Error('mismatch');
      offset = parsed.o;
    } catch {
      throw invalidArgument('The page token is invalid or does not match the request.', 'page_token');
    }
  }
  const slice = items.slice(offset, offset + size);
  const nextOffset = offset + slice.length;
  const next =
    nextOffset < items.length
      ? Buffer.from(JSON.stringify({ o: nextOffset, f: fingerprint } satisfies PageToken)).toString(
          'base64url',
        )
      : undefined;
  return { slice, next };
}

/** `field = value [AND field = value]`: the subset of AIP-160 filters the simulator understands. */
function filterFn(filter: string | null): (t: Transport) => boolean {
  if (!filter || filter.trim() === '') return () => true;
  const terms = filter.split(/\s+AND\s+/i).map((term) => {
    const m = /^\s*([a-zA-Z][a-zA-Z0-9_.]*)\s*(=|!=)\s*"?([^"]*)"?\s*$/.exec(term);
    if (!m) throw invalidArgument(`Unsupported filter: ${filter}`, 'filter');
    return {
      path: (m[1] as string).replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
      op: m[2],
      value: m[3],
    };
  });
  return (t) =>
    terms.every(({ path, op, value }) => {
      let v: unknown = t;
      for (const part of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[part];
      const eq = String(v ?? '') === value;
      return op === '=' ? eq : !eq;
    });
}

function orderFn(orderBy: string | null): (a: Transport, b: Transport) => number {
  const spec = (orderBy ?? 'name').trim() || 'name';
  const m = /^(name|createTime|create_time|updateTime|update_time)(\s+(asc|desc))?$/.exec(spec);
  if (!m) throw invalidArgument(`Unsupported orderBy: ${spec}`, 'order_by');
  const field = (m[1] as string).replace(/_t/, 'T') as 'name' | 'createTime' | 'updateTime';
  const dir = m[3] === 'desc' ? -1 : 1;
  return (a, b) => dir * (a[field].localeCompare(b[field]) || a.name.localeCompare(b.name));
}

export default defineGcpService<ProjectState>({
  name: 'networkconnectivity',
  host: 'networkconnectivity.googleapis.com',
  createState: () => ({ transports: new Map(), operations: new Map(), requestIds: new Map() }),
  status(state) {
    const transports = [...state.transports.values()].map((r) => ({
      name: r.t.name,
      state: r.t.state,
      bandwidth: r.t.bandwidth,
      sharedId: r.sharedId,
      adminEnabled: r.t.adminEnabled === true,
      deleting: r.deleting,
    }));
    return transports.length > 0 ? { transports } : undefined;
  },
  routes: guarded([
    {
      method: 'GET',
      path: '/v1beta/projects/{project}/locations/{location}/remoteTransportProfiles',
      operation: 'ListRemoteTransportProfiles',
      handler: (ctx: Ctx) => {
        const location = ctx.params.location as string;
        const g = globalOf(ctx.world);
        if (location !== '-') checkReachable(ctx, location);
        const all = profilesIn(ctx.world, ctx.params.project as string, location).filter(
          (p) => !g.outages.has(p.name.split('/')[3] as string),
        );
        const unreachable =
          location === '-' ? [...g.outages].map((l) => `projects/${ctx.params.project}/locations/${l}`) : [];
        const { slice, next } = paginate(ctx, all.map(profileView), `profiles|${parent(ctx)}`);
        return {
          remoteTransportProfiles: slice,
          ...(next ? { nextPageToken: next } : {}),
          ...(unreachable.length > 0 ? { unreachable } : {}),
        };
      },
    },
    {
      method: 'GET',
      path: '/v1beta/projects/{project}/locations/{location}/remoteTransportProfiles/{profile}',
      operation: 'GetRemoteTransportProfile',
      handler: (ctx: Ctx) => {
        checkReachable(ctx, ctx.params.location as string);
        const name = `${parent(ctx)}/remoteTransportProfiles/${ctx.params.profile}`;
        const p = profilesIn(ctx.world, ctx.params.project as string, ctx.params.location as string).find(
          (x) => x.name === name,
        );
        if (!p) throw notFound(`Resource '${name}' was not found`);
        return profileView(p);
      },
    },
    {
      method: 'GET',
      path: '/v1beta/projects/{project}/locations/{location}/transports',
      operation: 'ListTransports',
      handler: (ctx: Ctx) => {
        const location = ctx.params.location as string;
        const g = globalOf(ctx.world);
        if (location !== '-') checkReachable(ctx, location);
        const keep = filterFn(ctx.query.get('filter'));
        const all = [...ctx.state.transports.values()]
          .filter((r) => location === '-' || r.location === location)
          .filter((r) => !g.outages.has(r.location))
          .map(view)
          .filter(keep)
          .sort(orderFn(ctx.query.get('orderBy')));
        const unreachable =
          location === '-' ? [...g.outages].map((l) => `projects/${ctx.params.project}/locations/${l}`) : [];
        const { slice, next } = paginate(
          ctx,
          all,
          `transports|${parent(ctx)}|${ctx.query.get('filter') ?? ''}|${ctx.query.get('orderBy') ?? ''}`,
        );
        return {
          transports: slice,
          ...(next ? { nextPageToken: next } : {}),
          ...(unreachable.length > 0 ? { unreachable } : {}),
        };
      },
    },
    {
      method: 'GET',
      path: '/v1beta/projects/{project}/locations/{location}/transports/{transport}',
      operation: 'GetTransport',
      handler: (ctx: Ctx) => {
        checkReachable(ctx, ctx.params.location as string);
        return view(findTransport(ctx, `${parent(ctx)}/transports/${ctx.params.transport}`));
      },
    },
    {
      method: 'POST',
      path: '/v1beta/projects/{project}/locations/{location}/transports',
      operation: 'CreateTransport',
      handler: (ctx: Ctx) => createTransport(ctx),
    },
    {
      method: 'PATCH',
      path: '/v1beta/projects/{project}/locations/{location}/transports/{transport}',
      operation: 'UpdateTransport',
      handler: (ctx: Ctx) => updateTransport(ctx),
    },
    {
      method: 'DELETE',
      path: '/v1beta/projects/{project}/locations/{location}/transports/{transport}',
      operation: 'DeleteTransport',
      handler: (ctx: Ctx) => deleteTransport(ctx),
    },
    {
      method: 'GET',
      path: '/v1beta/projects/{project}/locations/{location}/operations/{operation}',
      operation: 'GetOperation',
      handler: (ctx: Ctx) => {
        const name = `${parent(ctx)}/operations/${ctx.params.operation}`;
        const op = ctx.state.operations.get(name);
        if (!op) throw notFound(`Operation '${name}' was not found`);
        return operationView(op);
      },
    },
  ]),
  admin: {
    /** A Google region goes dark (`on: true`) or comes back: lists say `unreachable`, calls there 503. */
    'region-outage'(body: { location?: string; on?: boolean }, world: GcpWorld) {
      if (!body.location)
        throw Object.assign(new Error('location is required'), { status: 400, code: 'BadRequest' });
      const g = globalOf(world);
      if (body.on === false) g.outages.delete(body.location);
      else g.outages.add(body.location);
      return { outages: [...g.outages] };
    },
    /** Changes a remote profile's key flow or order state (capacity). */
    'set-profile'(
      body: { location?: string; profile?: string; flow?: KeyFlow; orderState?: 'OPEN' | 'CLOSED' },
      world,
    ) {
      if (!body.location || !body.profile) {
        throw Object.assign(new Error('location and profile are required'), {
          status: 400,
          code: 'BadRequest',
        });
      }
      const g = globalOf(world);
      const key = `${body.location}/${body.profile}`;
      g.profiles.set(key, {
        ...g.profiles.get(key),
        ...(body.flow ? { flow: body.flow } : {}),
        ...(body.orderState ? { orderState: body.orderState } : {}),
      });
      return {
        profile: profilesIn(world, world.project, body.location).find((p) =>
          p.name.endsWith(`/${body.profile}`),
        ),
      };
    },
    /** The generated key of a PENDING_KEY transport expires now (the partner refuses it from then on). */
    'expire-key'(body: { name?: string }, world: GcpWorld) {
      const r = allRecords(world).find((x) => x.t.name === body.name || x.id === body.name);
      if (!r?.sharedId || r.t.state !== 'PENDING_KEY') {
        throw Object.assign(new Error(`no PENDING_KEY transport ${body.name} with a generated key`), {
          status: 404,
          code: 'NotFound',
        });
      }
      r.keyExpired = true;
      remoteProvider(world)?.withdrawKey(r.sharedId);
      return { name: r.t.name, sharedId: r.sharedId };
    },
  },
});

function createTransport(ctx: Ctx) {
  const location = ctx.params.location as string;
  const project = ctx.params.project as string;
  if (location === '-') throw invalidArgument('A location is required to create a transport', 'parent');
  checkReachable(ctx, location);
  const requestId = checkRequestId(ctx.query.get('requestId') ?? ctx.query.get('request_id'));
  const again = replay(ctx, requestId);
  if (again) return operationView(again);

  const id = ctx.query.get('transportId') ?? ctx.query.get('transport_id') ?? '';
  if (!id) throw invalidArgument('transportId is required', 'transport_id');
  if (!ID_RE.test(id)) {
    throw invalidArgument(
      `transportId '${id}' must be 1-63 characters of lowercase letters, digits and hyphens, starting with a letter`,
      'transport_id',
    );
  }
  const name = `${parent(ctx)}/transports/${id}`;
  if (ctx.state.transports.has(name)) throw alreadyExists(`Resource '${name}' already exists`);

  const body = (ctx.body ?? {}) as Record<string, unknown>;
  if (
    typeof body.network !== 'string' ||
    !/(^|\/)projects\/[^/]+\/global\/networks\/[^/]+$/.test(body.network)
  ) {
    throw invalidArgument(
      'network is required: projects/{project}/global/networks/{network}',
      'transport.network',
    );
  }
  const providedKey =
    typeof body.providedActivationKey === 'string' && body.providedActivationKey !== ''
      ? body.providedActivationKey
      : undefined;
  const remote = remoteProvider(ctx.world);
  const profile = providedKey
    ? profileOfKey(ctx, body, providedKey, project, location)
    : profileNamed(ctx, body.remoteProfile, project, location);
  const profileId = profile.name.split('/').pop() as string;
  if (profile.orderState !== 'OPEN') {
    throw new GcpError(
      'RESOURCE_EXHAUSTED',
      `Remote transport profile ${profileId} has no capacity to order (CLOSED).`,
    );
  }
  const stackType = (body.stackType as string | undefined) ?? 'IPV4_ONLY';
  if (stackType !== 'IPV4_ONLY' && stackType !== 'IPV4_IPV6') {
    throw invalidArgument(`stackType ${stackType} is not IPV4_ONLY or IPV4_IPV6`, 'transport.stack_type');
  }
  const advertisedRoutes = body.advertisedRoutes === undefined ? [] : checkRoutes(body.advertisedRoutes);
  const labels = checkLabels(body.labels);
  if (body.description !== undefined && typeof body.description !== 'string') {
    throw invalidArgument('description must be a string', 'transport.description');
  }
  let bandwidth: string | undefined;
  if (body.bandwidth !== undefined) {
    if (typeof body.bandwidth !== 'string' || !profile.supportedBandwidths.includes(body.bandwidth)) {
      throw invalidArgument(
        `bandwidth ${String(body.bandwidth)} is not supported by ${profileId} (supported: ${profile.supportedBandwidths.join(', ')})`,
        'transport.bandwidth',
      );
    }
    bandwidth = body.bandwidth;
  }
  const remoteAccountId =
    typeof body.remoteAccountId === 'string' && body.remoteAccountId !== ''
      ? body.remoteAccountId
      : undefined;
  let sharedId: string | undefined;
  let generatedKey: string | undefined;

  if (providedKey) {
    if (profile.flow === 'OUTPUT_ONLY') {
      throw invalidArgument(
        `Profile ${profileId} does not accept an activation key (flow OUTPUT_ONLY)`,
        'transport.provided_activation_key',
      );
    }
    if (!remote) throw keyUncheckable();
    try {
      const redeemed = remote.redeemKey(providedKey, {
        project,
        location,
        awsRegion: profile.awsRegion,
        ...(bandwidth ? { bandwidthMbps: parseBandwidth(bandwidth)!.mbps } : {}),
      });
      sharedId = redeemed.sharedId;
      bandwidth = parseBandwidth(`${redeemed.bandwidthMbps}Mbps`)!.gcp;
    } catch (e) {
      throw refusalToError(e);
    }
  } else {
    if (!bandwidth)
      throw invalidArgument(
        'bandwidth is required when no activation key is provided',
        'transport.bandwidth',
      );
    if (profile.flow !== 'INPUT_ONLY') {
      if (!remoteAccountId || !AWS_ACCOUNT_RE.test(remoteAccountId)) {
        throw invalidArgument(
          'remoteAccountId must be the 12-digit AWS account that will accept the key',
          'transport.remote_account_id',
        );
      }
      if (remote) {
        const issued = remote.issueKey({
          project,
          location,
          awsRegion: profile.awsRegion,
          bandwidthMbps: parseBandwidth(bandwidth)!.mbps,
          remoteAccountId,
        });
        sharedId = issued.sharedId;
        generatedKey = issued.activationKey;
      }
    }
  }

  const now = ctx.clock.now();
  const r: TransportRecord = {
    t: {
      name,
      createTime: iso(now),
      updateTime: iso(now),
      labels,
      description: (body.description as string | undefined) ?? '',
      remoteProfile: profile.name,
      ...(providedKey ? { providedActivationKey: providedKey } : {}),
      bandwidth,
      stackType,
      state: 'CREATING',
      mtuLimit: settingsOf(ctx.world).mtuLimit,
      adminEnabled: body.adminEnabled === undefined ? true : body.adminEnabled === true,
      network: body.network,
      advertisedRoutes,
      ...(remoteAccountId ? { remoteAccountId } : {}),
      peeringNetwork: `projects/tp-${ctx.world.random.chars(10, '0123456789abcdef')}/global/networks/transport-${id}`,
    },
    project,
    location,
    id,
    awsRegion: profile.awsRegion,
    flow: profile.flow,
    sharedId,
    createdAt: now,
    pendingConfigSince: undefined,
    keyIssuedAt: undefined,
    keyExpired: false,
    deleting: false,
    busy: undefined,
  };
  ctx.state.transports.set(name, r);
  const op = newOperation(ctx, location, 'create', name, requestId);
  const world = ctx.world;
  const { delays } = settingsOf(world);
  const advance = () => {
    r.busy = undefined;
    if (r.deleting) return;
    if (isStuck(world, r)) {
      r.busy = { timer: world.clock.after(delays.creating, advance), op };
      return;
    }
    if (providedKey) setState(world, r, 'PENDING_CONFIG');
    else {
      setState(world, r, 'PENDING_KEY');
      if (generatedKey) {
        r.t.generatedActivationKey = generatedKey;
        r.keyIssuedAt = world.clock.now();
      }
    }
    finish(world, op, transportResponse(r));
  };
  r.busy = { timer: world.clock.after(delays.creating, advance), op };
  ensureTicking(world);
  return operationView(op);
}

/** Fields a create with `providedActivationKey` must not carry: the key names them. */
const NAMED_BY_KEY = [
  ['remoteProfile', 'transport.remote_profile', '--remote-profile'],
  ['bandwidth', 'transport.bandwidth', '--bandwidth'],
  ['remoteAccountId', 'transport.remote_account_id', '--remote-account-id'],
] as const;

const PROFILE_NAME = /^projects\/([^/]+)\/locations\/([^/]+)\/remoteTransportProfiles\/([^/]+)$/;

const keyUncheckable = () =>
  new GcpError('UNAVAILABLE', 'The remote provider cannot be reached to validate the activation key.');

/** The profile a keyless create names: its full resource name, in this project and location. */
function profileNamed(ctx: Ctx, given: unknown, project: string, location: string) {
  if (typeof given !== 'string' || given === '')
    throw invalidArgument(
      'remoteProfile is required when no activation key is provided',
      'transport.remote_profile',
    );
  const m = PROFILE_NAME.exec(given);
  if (!m)
    throw invalidArgument(
      `remoteProfile '${given}' must be a resource name: projects/{project}/locations/{location}/remoteTransportProfiles/{remote_transport_profile}`,
      'transport.remote_profile',
    );
  if (m[2] !== location)
    throw invalidArgument(
      `remoteProfile ${given} is a profile of ${m[2]}: a transport in ${location} can only use a profile of ${location}`,
      'transport.remote_profile',
    );
  if (m[1] !== project)
    throw invalidArgument(
      `remoteProfile ${given} is named in project ${m[1]}, not the transport's project ${project}`,
      'transport.remote_profile',
    );
  const profile = profilesIn(ctx.world, project, location).find((p) => p.name === given);
  if (!profile)
    throw invalidArgument(`remoteProfile ${given} does not exist in ${location}`, 'transport.remote_profile');
  return profile;
}

/**
 * The profile a create with a key uses: the one of this location whose AWS region the key's
 * environment is in. Refuses the fields the key names when they are sent beside it.
 */
function profileOfKey(
  ctx: Ctx,
  body: Record<string, unknown>,
  key: string,
  project: string,
  location: string,
) {
  for (const [field, path, flag] of NAMED_BY_KEY) {
    if (body[field] !== undefined && body[field] !== '')
      throw invalidArgument(
        `${field} must not be set with providedActivationKey: the activation key names the remote profile, the bandwidth and the remote account (gcloud: --activation-key excludes ${flag})`,
        path,
      );
  }
  const remote = remoteProvider(ctx.world);
  if (!remote) throw keyUncheckable();
  const site = remote.keySite(key);
  if (!site)
    throw invalidArgument(
      'Invalid activation key: the key is not a valid activation key',
      'transport.provided_activation_key',
    );
  const profile = profilesIn(ctx.world, project, location).find(
    (p) => p.awsRegion === site.awsRegion && site.gcpLocation === location,
  );
  if (!profile)
    throw invalidArgument(
      `Invalid activation key: it is for AWS ${site.awsRegion} to Google ${site.gcpLocation}, which no remote transport profile of ${location} serves`,
      'transport.provided_activation_key',
    );
  return profile;
}

const UPDATABLE: Record<
  string,
  'description' | 'advertisedRoutes' | 'providedActivationKey' | 'adminEnabled'
> = {
  description: 'description',
  advertised_routes: 'advertisedRoutes',
  advertisedRoutes: 'advertisedRoutes',
  provided_activation_key: 'providedActivationKey',
  providedActivationKey: 'providedActivationKey',
  admin_enabled: 'adminEnabled',
  adminEnabled: 'adminEnabled',
};

function updateTransport(ctx: Ctx) {
  const location = ctx.params.location as string;
  checkReachable(ctx, location);
  const requestId = checkRequestId(ctx.query.get('requestId') ?? ctx.query.get('request_id'));
  const again = replay(ctx, requestId);
  if (again) return operationView(again);
  const name = `${parent(ctx)}/transports/${ctx.params.transport}`;
  const r = findTransport(ctx, name);
  if (r.deleting) throw failedPrecondition(`Transport ${name} is being deleted`);
  if (r.busy) {
    throw failedPrecondition(
      `Operation ${r.busy.op.name} (${r.busy.op.verb}) is in progress on transport ${name}: retry when it is done`,
    );
  }
  const body = (ctx.body ?? {}) as Record<string, unknown>;
  if (typeof body.name === 'string' && body.name !== name) {
    throw invalidArgument(`transport.name ${body.name} does not match the URL`, 'transport.name');
  }
  const mask = ctx.query.get('updateMask') ?? ctx.query.get('update_mask');
  const paths = mask
    ? mask
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
    : Object.keys(body).filter((k) => k !== 'name');
  if (paths.length === 0)
    throw invalidArgument('Nothing to update: give an updateMask or fields', 'update_mask');
  const fields = paths.map((p) => {
    const f = UPDATABLE[p];
    if (!f) {
      throw invalidArgument(
        `Field '${p}' cannot be updated: only description, advertised_routes, provided_activation_key and admin_enabled can`,
        'update_mask',
      );
    }
    return f;
  });
  const changes: Partial<Transport> = {};
  let redeemed: { sharedId: string; bandwidthMbps: number } | undefined;
  for (const f of new Set(fields)) {
    if (f === 'description') {
      if (body.description !== undefined && typeof body.description !== 'string') {
        throw invalidArgument('description must be a string', 'transport.description');
      }
      changes.description = (body.description as string | undefined) ?? '';
    } else if (f === 'advertisedRoutes') {
      changes.advertisedRoutes =
        body.advertisedRoutes === undefined ? [] : checkRoutes(body.advertisedRoutes);
    } else if (f === 'adminEnabled') {
      if (body.adminEnabled !== undefined && typeof body.adminEnabled !== 'boolean') {
        throw invalidArgument('adminEnabled must be a boolean', 'transport.admin_enabled');
      }
      changes.adminEnabled = body.adminEnabled === true;
    } else {
      const key = body.providedActivationKey;
      if (typeof key !== 'string' || key === '') {
        throw invalidArgument('providedActivationKey must be a key', 'transport.provided_activation_key');
      }
      if (r.t.state !== 'PENDING_KEY') {
        throw failedPrecondition(
          `An activation key can only be provided while the transport is PENDING_KEY (it is ${r.t.state})`,
        );
      }
      if (r.flow === 'OUTPUT_ONLY') {
        throw invalidArgument(
          "This transport's profile does not accept an activation key (flow OUTPUT_ONLY)",
          'transport.provided_activation_key',
        );
      }
      const remote = remoteProvider(ctx.world);
      if (!remote)
        throw new GcpError(
          'UNAVAILABLE',
          'The remote provider cannot be reached to validate the activation key.',
        );
      try {
        redeemed = remote.redeemKey(key, {
          project: r.project,
          location: r.location,
          awsRegion: r.awsRegion,
          bandwidthMbps: parseBandwidth(r.t.bandwidth)!.mbps,
        });
      } catch (e) {
        throw refusalToError(e);
      }
      if (r.sharedId && r.keyIssuedAt !== undefined) remote.withdrawKey(r.sharedId);
      changes.providedActivationKey = key;
    }
  }
  const op = newOperation(ctx, location, 'update', name, requestId);
  const world = ctx.world;
  if (redeemed) {
    // The partner has moved already: the transport follows it.
    r.sharedId = redeemed.sharedId;
    r.keyIssuedAt = undefined;
    r.t.generatedActivationKey = undefined;
  }
  r.busy = {
    op,
    timer: world.clock.after(settingsOf(world).delays.update, () => {
      r.busy = undefined;
      Object.assign(r.t, changes);
      if (redeemed && r.t.state === 'PENDING_KEY') setState(world, r, 'PENDING_CONFIG');
      r.t.updateTime = iso(world.clock.now());
      finish(world, op, transportResponse(r));
      reconcileTransports(world);
    }),
  };
  return operationView(op);
}

function deleteTransport(ctx: Ctx) {
  const location = ctx.params.location as string;
  checkReachable(ctx, location);
  const requestId = checkRequestId(ctx.query.get('requestId') ?? ctx.query.get('request_id'));
  const again = replay(ctx, requestId);
  if (again) return operationView(again);
  const name = `${parent(ctx)}/transports/${ctx.params.transport}`;
  const r = findTransport(ctx, name);
  const op = newOperation(ctx, location, 'delete', name, requestId);
  const world = ctx.world;
  const state = ctx.state;
  if (!r.deleting) {
    r.deleting = true;
    if (r.busy) {
      // A create or update still running is overtaken by the delete: its operation fails.
      r.busy.timer.cancel();
      r.busy.op.done = true;
      r.busy.op.endTime = world.clock.now();
      r.busy.op.error = new GcpError(
        'ABORTED',
        `Transport ${name} was deleted before the operation finished.`,
      ).toOperationError();
      r.busy = undefined;
    }
    if (r.sharedId && r.keyIssuedAt !== undefined) remoteProvider(world)?.withdrawKey(r.sharedId);
    // The partner learns at once that our half is going (its half goes down, never away).
    remoteProvider(world)?.syncLocalHalves(localHalves(world));
  }
  world.clock.after(settingsOf(world).delays.deletion, () => {
    state.transports.delete(name);
    finish(world, op, { '@type': 'type.googleapis.com/google.protobuf.Empty' });
    remoteProvider(world)?.syncLocalHalves(localHalves(world));
  });
  return operationView(op);
}
