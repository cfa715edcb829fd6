/**
 * The local TransportManager's model: transports, long-running operations and per-project state,
 * the world-wide side (region outages, profile overrides, the reconciliation ticker), settings
 * with their defaults, remote transport profiles, and the wire views of a transport and an
 * operation. What the routes, the writes and the reconciliation all read.
 */

import { parseDuration } from '#core/clock.ts';
import type { GcpTransportState } from '#core/link/model.ts';
import type { Timer } from '#local/clock.ts';
import { GOOGLE_BANDWIDTHS, GOOGLE_PAIRS } from '#local/offerings.ts';
import { notFound } from '../../errors.ts';
import type { GcpRequestContext, GcpWorld } from '../../service.ts';

const TYPE_PREFIX = 'type.googleapis.com/google.cloud.networkconnectivity.v1beta';
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
/** transport_manager.proto: `request_id` has `field_info.format = UUID4` (version 4, RFC 4122 variant). */
export const UUID4_RE =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/;
export const ID_RE = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const AWS_ACCOUNT_RE = /^\d{12}$/;

/** `Transport.State`: the list the product reads too (functions/core/link/model.ts). */
export type TransportState = GcpTransportState;
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

export interface TransportRecord {
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

export interface OperationRecord {
  name: string;
  verb: 'create' | 'update' | 'delete';
  target: string;
  createTime: number;
  endTime: number | undefined;
  done: boolean;
  response: unknown;
  error: { code: number; message: string; details: unknown[] } | undefined;
}

export interface ProjectState {
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
export function globalOf(world: GcpWorld): Global {
  let g = globals.get(world);
  if (!g) {
    g = { outages: new Set(), profiles: new Map(), ticker: undefined };
    globals.set(world, g);
  }
  return g;
}

export function settingsOf(world: GcpWorld) {
  const s = world.settings<TransportSettings>('networkconnectivity');
  const delays = {} as Record<keyof typeof DEFAULT_DELAYS, number>;
  for (const [k, v] of Object.entries(DEFAULT_DELAYS) as [keyof typeof DEFAULT_DELAYS, string][]) {
    const given = s.delays?.[k];
    delays[k] = typeof given === 'number' ? given : parseDuration(given ?? v);
  }
  return { delays, mtuLimit: s.mtuLimit ?? 1500 };
}

export const iso = (ms: number) => new Date(ms).toISOString();

// ---------- remote transport profiles ----------

export interface Profile {
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

export function profilesIn(
  world: GcpWorld,
  project: string,
  location: string,
): (Profile & { awsRegion: string })[] {
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

export function profileView(p: Profile & { awsRegion?: string }): Profile {
  const { awsRegion: _ignored, ...rest } = p;
  return rest;
}
export function operationView(op: OperationRecord) {
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

export function newOperation(
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

export function finish(world: GcpWorld, op: OperationRecord, response: unknown): void {
  op.done = true;
  op.endTime = world.clock.now();
  op.response = response;
}

export function view(r: TransportRecord): Transport {
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

export function transportResponse(r: TransportRecord) {
  return { '@type': `${TYPE_PREFIX}.Transport`, ...view(r) };
}
export function findTransport(ctx: GcpRequestContext<ProjectState>, name: string): TransportRecord {
  const r = ctx.state.transports.get(name);
  if (!r) throw notFound(`Resource '${name}' was not found`);
  return r;
}

export function isStuck(world: GcpWorld, r: TransportRecord): boolean {
  return world.faults.isStuck('networkconnectivity', r.id, r.t.state, 'gcp');
}

export function setState(world: GcpWorld, r: TransportRecord, state: TransportState): void {
  if (r.t.state === state) return;
  r.t.state = state;
  r.t.updateTime = iso(world.clock.now());
  if (state === 'PENDING_CONFIG') r.pendingConfigSince = world.clock.now();
}
export type Ctx = GcpRequestContext<ProjectState>;
