/**
 * The service-module interface of the AWS edge. One file per service under local/aws/services/
 * default-exports `defineService({...})`; local/aws/services/index.ts lists them. The edge does
 * transport, SigV4, protocol parsing / serialization, faults and error shapes; a module only turns
 * a parsed input into an output object or throws an `AwsError`. See docs/local-cloud.md.
 */

import type { VirtualClock } from '#local/clock.ts';
import type { FaultRegistry } from '#local/faults.ts';
import type { Random } from '#local/random.ts';
import type { CredentialStore, Principal } from './credentials.ts';
import type { IamEnforcement } from './iam/enforce.ts';

/** Wire protocols the edge speaks (Smithy names: awsJson1_0, awsJson1_1, awsQuery, ec2Query, rpcv2Cbor, restJson1, restXml). */
export type Protocol =
  | 'json1.0'
  | 'json1.1'
  | 'query'
  | 'ec2-query'
  | 'rpcv2-cbor'
  | 'rest-json'
  | 'rest-xml';

/** rest-json / rest-xml: an operation bound to a method and a path template (`/2015-03-31/functions/{FunctionName}/invocations`). */
export interface RestRoute {
  method: string;
  /** `{Name}` matches one segment, `{Name+}` the rest of the path; values are percent-decoded. */
  path: string;
  /** A query parameter the request must carry (S3's subresources: `list-type`, `versions`, `delete`). */
  query?: string;
  operation: string;
}

/** What a rest-json or rest-xml handler receives (rest-xml: the body as text, parsed by the module): the bindings are the module's business (as in its model). */
export interface RestInput {
  path: Record<string, string>;
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the body is JSON, else the body as text ('' when empty). */
  body: unknown;
}

/** What a handler knows about the call: the verified caller, where it landed, and the world. */
export interface RequestContext<S = unknown> {
  service: string;
  operation: string;
  protocol: Protocol;
  requestId: string;
  /** The SigV4-verified caller (IAM principal ARN, account, access key, identity name). */
  principal: Principal;
  /** Shorthand for principal.accountId: the simulated account the call acts in. */
  accountId: string;
  /** From the SigV4 credential scope. */
  region: string;
  /** This module's state for (accountId, region), created on first use by `createState`. */
  state: S;
  clock: VirtualClock;
  world: World;
  /** Request headers, lower-cased (rarely needed: e.g. `x-amz-security-token`). */
  headers: Record<string, string | string[] | undefined>;
  /** The request body as received (already SigV4-verified), for modules that proxy it unchanged. */
  rawBody: Buffer;
  /**
   * The endpoint of its own the request came in on (`World.openEndpoint`), e.g. one ARC cluster
   * endpoint; undefined for the edge's own port.
   */
  via?: string;
}

/** Input is the parsed request (its shape is the operation's input shape; validate it). */
// biome-ignore lint/suspicious/noExplicitAny: each handler narrows its own input type.
export type Handler<S> = (input: any, ctx: RequestContext<S>) => unknown;

/** An admin action (`POST /_crosslink/aws/<service>/<action>`): JSON in, JSON out. */
// biome-ignore lint/suspicious/noExplicitAny: each action narrows its own body type.
export type AdminAction = (body: any, world: World) => unknown;

export interface ServiceErrorShapes {
  /** Thrown for a `throttle` fault. */
  throttling: { code: string; status: number };
  /** Thrown for an `error` fault. */
  server: { code: string; status: number };
}

export interface AwsService<S = unknown> {
  /** Short name used by faults, admin and status (`interconnect`, `ec2`, `directconnect`, ...). */
  name: string;
  /** SigV4 signing name (credential scope service); query-protocol requests are routed by it. */
  signingName: string;
  protocol: Protocol;
  /** JSON protocols: the `X-Amz-Target` prefix before the dot (`Interconnect`, `TrentService`). */
  targetPrefix?: string;
  /** rest-json: the routes of the operations (matched in order). */
  routes?: readonly RestRoute[];
  /** rpcv2-cbor: the service name in `/service/<name>/operation/<op>`. */
  cborServiceName?: string;
  /** Smithy namespace of error shapes (`com.amazonaws.cloudwatch`): rpcv2-cbor `__type` is `ns#Code`. */
  errorNamespace?: string;
  /** query / ec2-query: the XML namespace of responses. */
  xmlNamespace?: string;
  errors?: Partial<ServiceErrorShapes>;
  /**
   * Whether SigV4 may sign the payload as `UNSIGNED-PAYLOAD` (S3, Lambda function URLs). Default
   * false: the body's sha256 is part of the signature, so a body changed after signing is refused.
   */
  unsignedPayload?: boolean;
  /**
   * Members the model marks `@sensitive` (beyond redact.ts ALWAYS_SENSITIVE): redacted, at any
   * depth, in the call records observers see, and scrubbed from error messages.
   */
  sensitiveMembers?: readonly string[];
  /**
   * Operations CloudTrail records as management write events: after each succeeds the edge puts an
   * `AWS API Call via CloudTrail` event on the caller's default bus, sensitive members hidden.
   */
  cloudTrailEvents?: readonly string[];
  operations: Record<string, Handler<S>>;
  /** Creates this module's state for one simulated (account, region). */
  createState?(scope: { accountId: string; region: string }, world: World): S;
  /** Releases what a state holds outside the process's memory (servers, files) when the edge closes. */
  dispose?(state: S): void | Promise<void>;
  /** What `crosslink sim status` shows for one (account, region). */
  status?(state: S, scope: { accountId: string; region: string }): unknown;
  admin?: Record<string, AdminAction>;
  /**
   * Accepts `payload` for one of this service's resources named as a target (an EventBridge rule's
   * target, a Lambda destination or dead-letter queue, a bus forwarding to a bus); resolves once the
   * resource took it, rejects with the reason otherwise. The edge dispatches `World.deliver` by the
   * ARN's service to the module that registers this.
   */
  deliver?(
    world: World,
    target: { arn: string; accountId: string; region: string },
    payload: unknown,
  ): Promise<void> | void;
}

/** A module of any state type (the edge does not look inside states). */
// biome-ignore lint/suspicious/noExplicitAny: state types differ per module; handlers are typed by defineService.
export type AnyAwsService = AwsService<any>;

/** Typed helper so handlers see their state type. */
export function defineService<S>(service: AwsService<S>): AwsService<S> {
  return service;
}

/** What the local AWS world offers to modules and admin actions. */
export interface World {
  clock: VirtualClock;
  faults: FaultRegistry;
  random: Random;
  credentials: CredentialStore;
  /** Region used when none is given (the start region of `npm start`). */
  defaultRegion: string;
  /** State of `service` in (accountId, region), created if absent. */
  stateOf<S>(service: string, accountId: string, region: string): S;
  /** Every (account, region) that holds state for `service`. */
  scopes(service: string): { accountId: string; region: string }[];
  /** Per-service settings passed to startLocalCloud (e.g. interconnect delays). */
  settings<T>(service: string): Partial<T>;
  log(message: string): void;
  /**
   * Delivers `payload` to the resource `arn` names, through the module of the ARN's service
   * (`AwsService.deliver`); rejects when the target does not exist or its service takes no
   * deliveries.
   */
  deliver(arn: string, payload: unknown): Promise<void>;
  /**
   * IAM policy evaluation, when the edge enforces it: what the engines use to authorize the calls
   * they make on a principal's behalf (a state machine's role invoking a Lambda, a rule's target).
   */
  iam?: IamEnforcement;
  /**
   * Opens an endpoint of its own on loopback (a free port) for a service whose real endpoints are
   * per resource and region (ARC cluster endpoints): its requests are served as the edge serves
   * them, with `ctx.via` set to `via`. While `reachable()` is false every connection to it is
   * dropped, as an unreachable host's would be. The edge closes it when it closes.
   */
  openEndpoint(via: string, reachable: () => boolean): Promise<{ url: string; close(): Promise<void> }>;
}
