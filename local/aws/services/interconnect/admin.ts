/**
 * The admin actions of the local AWS Interconnect: what the partner (Google's side) and a test do
 * to a connection from outside the API: redeem or issue activation keys, withdraw a proposal, take
 * a link down or up, fail a pending one, set an environment's capacity, add Direct Connect gateways.
 */

import { addDxGateway, dxGateways } from '../../common/dx-gateways.ts';
import type { AdminAction, World } from '../../service.ts';
import { findAny, findShared, startProvisioning, timers } from './lifecycle.ts';
import {
  bandwidthMbps,
  bandwidthOf,
  decodeActivationKey,
  type Environment,
  encodeActivationKey,
  envUri,
  envView,
  partnerOf,
  view,
} from './model.ts';

export const interconnectAdmin: Record<string, AdminAction> = {
  /** The partner redeems an AWS-issued key: `requested` -> `pending` -> `available`. */
  'redeem-key'(body: { activationKey?: string; remoteAccountId?: string; bandwidth?: string }, world: World) {
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
};

function adminError(status: number, code: string, message: string): Error {
  return Object.assign(new Error(message), { status, code });
}
