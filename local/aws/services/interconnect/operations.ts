/**
 * The API operations of the local AWS Interconnect, each validating its input against the model
 * before it reads or changes a connection: create / accept / describe proposals, get / list /
 * update / delete connections, environments, attach points, tags.
 */

import { dxGateways } from '../../common/dx-gateways.ts';
import type { Handler } from '../../service.ts';
import { proposalFor, schedule, startDeletion, startProvisioning } from './lifecycle.ts';
import {
  type AttachPoint,
  bandwidthMbps,
  billingTier,
  ClientError,
  CONNECTION_STATES,
  type ConnectionState,
  type Ctx,
  type Environment,
  encodeActivationKey,
  envUri,
  envView,
  type In,
  type InterconnectState,
  partnerOf,
  type Record_,
  settingsOf,
  summary,
  view,
} from './model.ts';
import {
  checkAttachPoint,
  checkBandwidth,
  checkQuota,
  environmentFor,
  findByArn,
  findConnection,
  newConnectionId,
  page,
  remember,
  replay,
  req,
  S,
  saltOf,
  sameUnion,
  validate,
} from './requests.ts';

/** A new connection's record, as CreateConnection (AWS first) and an accepted proposal make it. */
function newRecord(
  ctx: Ctx,
  env: Environment,
  input: In,
  c: {
    origin: Record_['origin'];
    remoteAccount: string | undefined;
    id: string;
    attachPoint: AttachPoint;
    bandwidth: string;
    state: ConnectionState;
    sharedId: string;
    activationKey: string;
  },
): Record_ {
  return {
    origin: c.origin,
    remoteAccount: c.remoteAccount,
    createdAt: ctx.clock.now(),
    region: ctx.region,
    connection: {
      id: c.id,
      arn: `arn:aws:interconnect:${ctx.region}:${ctx.accountId}:connection/${c.id}`,
      description: input.description ?? c.id,
      bandwidth: c.bandwidth,
      attachPoint: c.attachPoint,
      environmentId: env.environmentId,
      provider: { ...env.provider },
      location: env.location,
      type: env.type,
      state: c.state,
      sharedId: c.sharedId,
      billingTier: billingTier(c.bandwidth),
      ownerAccount: ctx.accountId,
      activationKey: c.activationKey,
      tags: { ...(input.tags ?? {}) },
    },
  };
}

export const interconnectOperations: Record<string, Handler<InterconnectState>> = {
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
    const r = newRecord(ctx, env, input, {
      origin: 'aws',
      remoteAccount: remote,
      id,
      attachPoint,
      bandwidth: input.bandwidth,
      state: 'requested',
      sharedId,
      activationKey,
    });
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
    const r = newRecord(ctx, env, input, {
      origin: 'partner',
      remoteAccount: proposal.remoteAccount,
      id,
      attachPoint,
      bandwidth: proposal.bandwidth,
      state: 'pending',
      sharedId: proposal.sharedId,
      activationKey: proposal.activationKey,
    });
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
      .filter((r) => input.environmentId === undefined || r.connection.environmentId === input.environmentId)
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
        throw ClientError(`Connection ${c.id} is ${c.state}: its bandwidth can only change while available`);
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
};
