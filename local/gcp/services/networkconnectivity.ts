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
 *
 * This file assembles the module from networkconnectivity/: the transport model (model.ts), request
 * checks (validation.ts), the routes of the API (routes.ts), create / update / delete with their
 * operations (transport-writes.ts), and reconciliation with the partner (reconcile.ts).
 */

import { remoteProvider } from '../remote.ts';
import { defineGcpService, type GcpWorld } from '../service.ts';
import { globalOf, type KeyFlow, type ProjectState, profilesIn } from './networkconnectivity/model.ts';
import { allRecords } from './networkconnectivity/reconcile.ts';
import { transportManagerRoutes } from './networkconnectivity/routes.ts';

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
  routes: transportManagerRoutes,
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
