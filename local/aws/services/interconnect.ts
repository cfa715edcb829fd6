/**
 * AWS Interconnect (multicloud), AWS JSON 1.0, `X-Amz-Target: Interconnect.<Op>`, API 2022-07-26,
 * following the service model (aws-sdk-js-v3 codegen/sdk-codegen/aws-models/interconnect.json):
 * every operation, its input constraints, shapes, id formats, errors and states.
 *
 * Life of a connection, all on the virtual clock (delays configurable through settings
 * `interconnect.delays`, defaults below):
 * - AWS first: CreateConnection -> `requested` (with an activation key for the partner). When the
 *   partner redeems the key (admin `redeem-key`, or the Google edge) -> `pending`, then
 *   `available` after `provisioning`. A key never redeemed within `keyExpiry` -> `failed`.
 * - Partner first: the partner issues a key (admin `issue-key`); AcceptConnectionProposal ->
 *   `pending`, then `available` after `provisioning`.
 * - UpdateConnection: a new description applies at once; a new bandwidth -> `updating`, then
 *   `available` with it after `update`.
 * - DeleteConnection -> `deleting`, then `deleted` after `deletion`; a deleted connection stays
 *   readable for `deletedRetention`, then GetConnection says ResourceNotFoundException.
 * - The partner can take an available link `down` and back `available` (admin `set-link`), or fail
 *   a pending one (admin `fail`).
 * A `stuck` fault holds a connection in its state: its timers re-arm instead of moving it.
 *
 * Choices where the model is silent are marked (inferred) and kept configurable.
 *
 * This file assembles the module from interconnect/: the connection model (model.ts), the input
 * constraints and request checks (requests.ts), the lifecycle on the virtual clock (lifecycle.ts),
 * the API operations (operations.ts) and the partner's admin actions (admin.ts).
 */

import { defineService } from '../service.ts';
import { interconnectAdmin } from './interconnect/admin.ts';
import type { InterconnectState } from './interconnect/model.ts';
import { interconnectOperations } from './interconnect/operations.ts';

export default defineService<InterconnectState>({
  name: 'interconnect',
  signingName: 'interconnect',
  sensitiveMembers: ['activationKey'],
  // Management write events (CloudTrail); reads are not sent to EventBridge.
  cloudTrailEvents: [
    'CreateConnection',
    'AcceptConnectionProposal',
    'UpdateConnection',
    'DeleteConnection',
    'TagResource',
    'UntagResource',
  ],
  protocol: 'json1.0',
  targetPrefix: 'Interconnect',
  // The model also declares rpcv2Cbor; the official JS client speaks JSON 1.0, others may not.
  cborServiceName: 'Interconnect',
  errorNamespace: 'com.amazonaws.interconnect',
  errors: {
    throttling: { code: 'ThrottlingException', status: 429 },
    server: { code: 'InterconnectServerException', status: 500 },
  },
  createState: () => ({ connections: new Map(), tokens: new Map() }),

  operations: {
    ...interconnectOperations,
  },

  status(state) {
    const connections = [...state.connections.values()].map((r) => ({
      id: r.connection.id,
      state: r.connection.state,
      bandwidth: r.connection.bandwidth,
      environmentId: r.connection.environmentId,
      sharedId: r.connection.sharedId,
      description: r.connection.description,
      origin: r.origin,
      remoteAccount: r.remoteAccount,
    }));
    return connections.length > 0 ? { connections } : undefined;
  },

  admin: interconnectAdmin,
});
