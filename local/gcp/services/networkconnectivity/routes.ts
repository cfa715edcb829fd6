/**
 * The REST routes of the local TransportManager (profiles, transports, operations), each behind
 * the project's TransportManager IAM: a caller the policy does not name gets the API's 403 naming
 * the permission the RPC checks.
 */

import { notFound } from '../../errors.ts';
import { permissionDenied } from '../../iam/policy.ts';
import type { GcpRoute } from '../../service.ts';
import {
  type Ctx,
  findTransport,
  globalOf,
  operationView,
  type ProjectState,
  profilesIn,
  profileView,
  type TransportSettings,
  view,
} from './model.ts';
import { createTransport, deleteTransport, updateTransport } from './transport-writes.ts';
import { checkReachable, filterFn, orderFn, paginate, parent } from './validation.ts';

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
export const transportManagerRoutes = guarded([
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
]);
