/**
 * CreateTransport, UpdateTransport and DeleteTransport of the local TransportManager: each checks
 * its request, starts a long-running operation and finishes it after its delay on the virtual
 * clock, redeeming, issuing or withdrawing keys with the partner as the flow of the profile says.
 */

import { parseBandwidth } from '#core/policy/bandwidth.ts';
import { alreadyExists, failedPrecondition, GcpError, invalidArgument } from '../../errors.ts';
import { remoteProvider } from '../../remote.ts';
import {
  AWS_ACCOUNT_RE,
  type Ctx,
  findTransport,
  finish,
  ID_RE,
  iso,
  isStuck,
  newOperation,
  operationView,
  setState,
  settingsOf,
  type Transport,
  type TransportRecord,
  transportResponse,
} from './model.ts';
import { ensureTicking, localHalves, reconcileTransports } from './reconcile.ts';
import {
  checkLabels,
  checkReachable,
  checkRequestId,
  checkRoutes,
  keyUncheckable,
  parent,
  profileNamed,
  profileOfKey,
  refusalToError,
  replay,
  UPDATABLE,
} from './validation.ts';

export function createTransport(ctx: Ctx) {
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
export function updateTransport(ctx: Ctx) {
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

export function deleteTransport(ctx: Ctx) {
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
