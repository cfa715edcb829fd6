/**
 * The executor's traffic flip on AWS: a plan's `arc-routing-control` action through Route 53 ARC's
 * data plane (`UpdateRoutingControlStates`, one transaction: every entry or none), trying the
 * cluster's regional endpoints in turn as ARC's guide says. Only an endpoint that does not answer
 * (a connection dropped, as in its region's outage) or answers EndpointTemporarilyUnavailable,
 * InternalServer or Throttling sends it on to the next; any other answer (a safety rule's
 * ConflictException, AccessDenied, a validation error) is final: the same call elsewhere would be
 * refused the same way. It never overrides a safety rule (its role denies it, docs/dr-executor.md).
 */
import {
  Route53RecoveryClusterClient,
  UpdateRoutingControlStatesCommand,
} from '@aws-sdk/client-route53-recovery-cluster';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { Action } from '#core/dr/plan.ts';
import { ValidationError } from '#core/errors.ts';

export interface ClusterEndpoint {
  /** `https://host/v1`, as `ClusterEndpoints[].Endpoint` gives it. */
  Endpoint: string;
  Region: string;
}

export type ArcAction = Extract<Action, { type: 'arc-routing-control' }>;

export interface ArcFlip {
  /** The endpoint's region that took the update. */
  region: string;
  /** The endpoints tried before it, with why they were passed over. */
  passed: string[];
}

/** Errors after which the next regional endpoint is tried. */
const TRY_NEXT = new Set([
  'EndpointTemporarilyUnavailableException',
  'InternalServerException',
  'ThrottlingException',
]);

/** The flip failed on every endpoint: the states are as they were (each call is all or nothing). */
export class ArcEndpointsUnavailable extends Error {
  override name = 'ArcEndpointsUnavailable';
}

/**
 * Main course: sets every routing control of the action in one call, on the first regional
 * endpoint that answers. Errors: ValidationError for no endpoints or no states; a final refusal of
 * ARC passes through (its name: ConflictException for a safety rule); ArcEndpointsUnavailable when
 * no endpoint answered.
 */
export async function flipRoutingControls(
  deps: { credentials?: AwsCredentialIdentity; requestTimeoutMs?: number },
  input: { endpoints: readonly ClusterEndpoint[]; action: ArcAction },
): Promise<ArcFlip> {
  const issues = [
    ...(input.endpoints.length === 0
      ? [{ path: 'endpoints', reason: "is empty: the cluster's endpoints" }]
      : []),
    ...(input.action.states.length === 0 ? [{ path: 'action.states', reason: 'is empty' }] : []),
  ];
  if (issues.length > 0) throw new ValidationError(issues, 'ARC flip');
  const entries = input.action.states.map((s) => ({
    RoutingControlArn: s.routingControlArn,
    RoutingControlState: s.state,
  }));
  const passed: string[] = [];
  for (const ep of input.endpoints) {
    const client = new Route53RecoveryClusterClient({
      region: ep.Region,
      endpoint: ep.Endpoint,
      maxAttempts: 1,
      ...(deps.credentials && { credentials: deps.credentials }),
      // throwOnRequestTimeout: without it the SDK only logs a warning past requestTimeout and keeps
      // waiting, so a hung endpoint would hold the flip instead of passing on to the next one.
      ...(deps.requestTimeoutMs && {
        requestHandler: { requestTimeout: deps.requestTimeoutMs, throwOnRequestTimeout: true },
      }),
    });
    try {
      await client.send(new UpdateRoutingControlStatesCommand({ UpdateRoutingControlStateEntries: entries }));
      return { region: ep.Region, passed };
    } catch (err) {
      const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      const answered = e.$metadata?.httpStatusCode !== undefined;
      if (answered && !TRY_NEXT.has(e.name ?? '')) throw err;
      passed.push(
        `${ep.Region}: ${answered ? e.name : `no answer (${e.name ?? 'error'}: ${e.message ?? ''})`}`,
      );
    } finally {
      client.destroy();
    }
  }
  throw new ArcEndpointsUnavailable(`no ARC cluster endpoint took the update: ${passed.join('; ')}`);
}
