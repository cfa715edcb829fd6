/**
 * The port through which the Google TransportManager simulator reaches the other provider. The
 * world between the clouds (local/world.ts) implements it over the AWS Interconnect simulator and
 * registers it as `world.extensions.get(REMOTE_PROVIDER)`. Without it (a Google edge alone), keys
 * cannot be redeemed or issued and transports wait in their pending states.
 */
import type { AwsConnectionState } from '#core/link/model.ts';
import type { GcpWorld } from './service.ts';

export const REMOTE_PROVIDER = 'remote-provider:aws';

/** The remote half's state as the partner reports it (AWS Interconnect ConnectionState). */
export type RemoteHalfState = AwsConnectionState;

/** Why the partner refused a key (mapped by the caller to its own error shape). */
export class KeyRefusal extends Error {
  readonly reason:
    | 'malformed'
    | 'unknown'
    | 'wrong-account'
    | 'wrong-bandwidth'
    | 'wrong-environment'
    | 'not-redeemable';
  constructor(reason: KeyRefusal['reason'], message: string) {
    super(message);
    this.name = 'KeyRefusal';
    this.reason = reason;
  }
}

/** What the Google side knows of its half of a link, for the partner. */
export interface LocalHalf {
  sharedId: string;
  /** Where the half lives. */
  project: string;
  location: string;
  transportId: string;
  /** `absent` once deleted (or being deleted). */
  presence: 'present' | 'absent';
  adminEnabled: boolean;
  state: string;
  advertisedRoutes: string[];
}

export interface RemoteProvider {
  /**
   * Where an activation key leads, read without redeeming it (as AWS DescribeConnectionProposal
   * does): the AWS region and the Google region of its environment; undefined for a malformed key.
   */
  keySite(key: string): { awsRegion: string; gcpLocation: string } | undefined;
  /**
   * Checks an activation key the partner issued (AWS first) against the transport that redeems it
   * and redeems it: the partner's half moves on (`requested` -> `pending`). Throws `KeyRefusal`,
   * leaving nothing changed.
   */
  redeemKey(
    key: string,
    into: { project: string; location: string; awsRegion: string; bandwidthMbps?: number },
  ): { sharedId: string; bandwidthMbps: number };
  /** Issues a key for the partner's account (Google first): the partner can then accept it. */
  issueKey(request: {
    project: string;
    location: string;
    awsRegion: string;
    bandwidthMbps: number;
    remoteAccountId: string;
  }): { activationKey: string; sharedId: string };
  /** Withdraws an issued, unaccepted key (it expired): accepting it fails from now on. */
  withdrawKey(sharedId: string): void;
  /** The partner's half of `sharedId`, or undefined when the partner holds none. */
  remoteState(sharedId: string): RemoteHalfState | undefined;
  /** Tells the partner what the Google halves look like now (called on every reconcile tick). */
  syncLocalHalves(halves: readonly LocalHalf[]): void;
}

export function remoteProvider(world: GcpWorld): RemoteProvider | undefined {
  return world.extensions.get(REMOTE_PROVIDER) as RemoteProvider | undefined;
}
