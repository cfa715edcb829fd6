/**
 * Compute Engine's local model: its per-project state (the operations it answered with), the
 * resource links and fingerprints every view carries, the world's refusals in compute's words, and
 * the already-DONE `compute#operation` each mutation returns. What the routes, the renderers and the
 * router-patch input all share.
 */
import { createHash } from 'node:crypto';
import type { NetworkWorld } from '#local/world/network.ts';
import { NetworkError } from '#local/world/network.ts';
import { networkOf } from '#local/world/registry.ts';
import {
  alreadyExists,
  errorInfo,
  failedPrecondition,
  GcpError,
  invalidArgument,
  notFound,
} from '../../errors.ts';
import type { GcpRequestContext } from '../../service.ts';

export const COMPUTE_BASE = 'https://www.googleapis.com/compute/v1';

export interface Operation {
  kind: 'compute#operation';
  id: string;
  name: string;
  operationType: string;
  targetLink: string;
  targetId?: string;
  status: 'DONE';
  user: string;
  progress: 100;
  insertTime: string;
  startTime: string;
  endTime: string;
  selfLink: string;
  region?: string;
}

export interface ComputeState {
  operations: Map<string, Operation>;
}

export const iso = (ms: number) => new Date(ms).toISOString();
export const regionLink = (p: string, r: string) => `${COMPUTE_BASE}/projects/${p}/regions/${r}`;
export const networkLink = (p: string, n: string) => `${COMPUTE_BASE}/projects/${p}/global/networks/${n}`;
export const tunnelLink = (p: string, r: string, n: string) => `${regionLink(p, r)}/vpnTunnels/${n}`;
export const lastSegment = (ref: string) => ref.split('/').pop() as string;
export const fingerprint = (v: unknown) =>
  createHash('sha256').update(JSON.stringify(v)).digest('base64').slice(0, 12);

/** The model's refusals in compute's words. */
function mapError(err: unknown, what: string): never {
  if (!(err instanceof NetworkError)) throw err;
  switch (err.code) {
    case 'NotFound':
      throw notFound(`The resource '${what}' was not found`);
    case 'AlreadyExists':
      throw alreadyExists(`The resource '${what}' already exists`);
    case 'InUse':
      throw new GcpError('FAILED_PRECONDITION', err.message, {
        httpStatus: 400,
        details: [errorInfo('resourceInUseByAnotherResource', 'compute.googleapis.com')],
      });
    case 'IncorrectState':
      throw failedPrecondition(err.message);
    default:
      throw invalidArgument(err.message);
  }
}

export function attempt<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    mapError(err, what);
  }
}

export function net(ctx: GcpRequestContext<ComputeState>): NetworkWorld {
  return networkOf(ctx.clock);
}

export function operation(
  ctx: GcpRequestContext<ComputeState>,
  type: string,
  targetLink: string,
  region?: string,
  targetId?: string,
): Operation {
  const now = ctx.clock.now();
  const name = `operation-${now}-${ctx.world.random.chars(13, '0123456789abcdef')}`;
  const scope = region
    ? regionLink(ctx.params.project as string, region)
    : `${COMPUTE_BASE}/projects/${ctx.params.project}/global`;
  const op: Operation = {
    kind: 'compute#operation',
    id: String(BigInt(now) * 1000n + BigInt(Math.floor(ctx.world.random.next() * 1000))),
    name,
    operationType: type,
    targetLink,
    ...(targetId ? { targetId } : {}),
    status: 'DONE',
    user: ctx.caller?.email ?? 'unknown',
    progress: 100,
    insertTime: iso(now),
    startTime: iso(now),
    endTime: iso(now),
    selfLink: `${scope}/operations/${name}`,
    ...(region ? { region: regionLink(ctx.params.project as string, region) } : {}),
  };
  ctx.state.operations.set(name, op);
  return op;
}

export function getOperation(ctx: GcpRequestContext<ComputeState>): Operation {
  const op = ctx.state.operations.get(ctx.params.operation as string);
  if (!op)
    throw notFound(
      `The resource '${ctx.path.replace(/^\/compute\/v1\//, '').replace(/\/wait$/, '')}' was not found`,
    );
  return op;
}
