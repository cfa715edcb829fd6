/**
 * How the local TransportManager checks a request as the API does, before it changes anything:
 * region reachability, `requestId` (UUID4, replayed within its window), routes and labels, a
 * partner's refusal of a key in the API's words, page tokens bound to their filter, the AIP-160
 * filter and order subset, and which profile a create names (by resource name or by its key).
 * Each error names the field and the reason.
 */

import { parseCidr } from '#core/net/cidr.ts';
import { failedPrecondition, GcpError, invalidArgument } from '../../errors.ts';
import { KeyRefusal, remoteProvider } from '../../remote.ts';
import type { GcpRequestContext } from '../../service.ts';
import {
  type Ctx,
  globalOf,
  type OperationRecord,
  type ProjectState,
  profilesIn,
  settingsOf,
  type Transport,
  UUID4_RE,
  ZERO_UUID,
} from './model.ts';

export function checkReachable(ctx: GcpRequestContext, location: string): void {
  if (globalOf(ctx.world).outages.has(location)) {
    throw new GcpError('UNAVAILABLE', `The service is currently unavailable in location ${location}.`);
  }
}

export function checkRequestId(requestId: string | null): string | undefined {
  if (requestId === null || requestId === '') return undefined;
  if (!UUID4_RE.test(requestId) || requestId === ZERO_UUID) {
    throw invalidArgument(
      `Invalid value for field 'requestId': '${requestId}'. Must be a non-zero UUID (version 4).`,
      'request_id',
    );
  }
  return requestId.toLowerCase();
}

export function replay(
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
export function checkRoutes(routes: unknown): string[] {
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

export function checkLabels(labels: unknown): Record<string, string> {
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

export function refusalToError(e: unknown): GcpError {
  if (e instanceof KeyRefusal) {
    if (e.reason === 'not-redeemable')
      return failedPrecondition(`The activation key cannot be used: ${e.message}`);
    return invalidArgument(`Invalid activation key: ${e.message}`, 'transport.provided_activation_key');
  }
  throw e;
}
export function parent(ctx: Ctx): string {
  return `projects/${ctx.params.project}/locations/${ctx.params.location}`;
}

interface PageToken {
  o: number;
  f: string;
}

export function paginate<T>(
  ctx: Ctx,
  items: T[],
  fingerprint: string,
): { slice: T[]; next: string | undefined } {
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
export function filterFn(filter: string | null): (t: Transport) => boolean {
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

export function orderFn(orderBy: string | null): (a: Transport, b: Transport) => number {
  const spec = (orderBy ?? 'name').trim() || 'name';
  const m = /^(name|createTime|create_time|updateTime|update_time)(\s+(asc|desc))?$/.exec(spec);
  if (!m) throw invalidArgument(`Unsupported orderBy: ${spec}`, 'order_by');
  const field = (m[1] as string).replace(/_t/, 'T') as 'name' | 'createTime' | 'updateTime';
  const dir = m[3] === 'desc' ? -1 : 1;
  return (a, b) => dir * (a[field].localeCompare(b[field]) || a.name.localeCompare(b.name));
}
/** Fields a create with `providedActivationKey` must not carry: the key names them. */
const NAMED_BY_KEY = [
  ['remoteProfile', 'transport.remote_profile', '--remote-profile'],
  ['bandwidth', 'transport.bandwidth', '--bandwidth'],
  ['remoteAccountId', 'transport.remote_account_id', '--remote-account-id'],
] as const;

const PROFILE_NAME = /^projects\/([^/]+)\/locations\/([^/]+)\/remoteTransportProfiles\/([^/]+)$/;

export const keyUncheckable = () =>
  new GcpError('UNAVAILABLE', 'The remote provider cannot be reached to validate the activation key.');

/** The profile a keyless create names: its full resource name, in this project and location. */
export function profileNamed(ctx: Ctx, given: unknown, project: string, location: string) {
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
export function profileOfKey(
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

export const UPDATABLE: Record<
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
