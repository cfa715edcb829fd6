/**
 * How the local AWS Interconnect checks a request before it changes anything: the model's input
 * constraints (validation errors name the field), lookups scoped to the caller, attach point,
 * bandwidth and quota checks, `clientToken` idempotency, and page tokens bound to their filters.
 */

import { canonicalHash } from '#core/policy/policy.ts';
import { dxGateways } from '../../common/dx-gateways.ts';
import type { RequestContext } from '../../service.ts';
import { type Spec, validationMessage, violations } from '../../validate.ts';
import {
  AccessDenied,
  type AttachPoint,
  ClientError,
  type Connection,
  type Environment,
  type InterconnectState,
  NotFound,
  partnerOf,
  QuotaExceeded,
  type Record_,
  settingsOf,
  ValidationError,
  view,
} from './model.ts';

// ---------- input constraints (model) ----------

export const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const ARN = /^arn:aws[a-z-]*:interconnect:[^:]+:[0-9]{12}:connection\/(mcc|lmcc)-[a-z0-9]{8}$/;
export const S = {
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

export const req = <T extends Spec>(s: T): T => ({ ...s, required: true });

export function validate(input: unknown, members: Record<string, Spec>): void {
  const problems = violations(input, members);
  if (problems.length > 0) throw ValidationError(validationMessage(problems));
}
// ---------- lookups ----------

export function findConnection(ctx: RequestContext<InterconnectState>, identifier: string): Record_ {
  const r = ctx.state.connections.get(identifier);
  if (!r) throw NotFound(`Connection ${identifier} not found`);
  return r;
}

export function findByArn(ctx: RequestContext<InterconnectState>, arn: string): Record_ {
  const [, , , region, account, resource] = arn.split(':');
  if (account !== ctx.accountId) {
    throw AccessDenied(`User: ${ctx.principal.arn} is not authorized to access resource ${arn}`);
  }
  const id = (resource ?? '').split('/')[1] ?? '';
  const r = region === ctx.region ? ctx.state.connections.get(id) : undefined;
  if (!r) throw NotFound(`Resource ${arn} not found`);
  return r;
}

export function environmentFor(ctx: RequestContext<InterconnectState>, environmentId: string): Environment {
  const env = partnerOf(ctx.world).environments.get(environmentId);
  if (!env || env.region !== ctx.region) {
    throw NotFound(`Environment ${environmentId} not found in ${ctx.region}`);
  }
  return env;
}

export function checkAttachPoint(
  ctx: RequestContext<InterconnectState>,
  attachPoint: AttachPoint,
): AttachPoint {
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

export function checkBandwidth(env: Environment, bandwidth: string): void {
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

export function checkQuota(ctx: RequestContext<InterconnectState>): void {
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
export function replay(
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

export function remember(
  ctx: RequestContext<InterconnectState>,
  input: Record<string, unknown>,
  r: Record_,
): void {
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

export function newConnectionId(ctx: RequestContext<InterconnectState>): string {
  for (;;) {
    const id = `mcc-${ctx.world.random.chars(8)}`;
    if (!ctx.state.connections.has(id)) return id;
  }
}

// ---------- pagination ----------

export function page<T>(items: T[], input: { maxResults?: number; nextToken?: string }, salt: string) {
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
export function saltOf(parts: unknown): string {
  let h = 0;
  for (const ch of JSON.stringify(parts)) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  return h.toString(36);
}

export const sameUnion = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  Object.entries(b).every(([k, v]) =>
    typeof v === 'string' ? String(a[k]).toUpperCase() === v.toUpperCase() : true,
  ) && Object.keys(b).length > 0;
