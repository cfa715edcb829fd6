/**
 * The service-module interface of the Google edge. One file per service under local/gcp/services/
 * default-exports `defineGcpService({...})`; local/gcp/services/index.ts lists them (part B adds
 * compute and monitoring there). The edge does transport, routing, authentication, faults and error
 * shapes; a module declares its REST routes (Google's path templates) and turns a request into a
 * JSON body, or throws a `GcpError`. See docs/local-cloud-gcp.md.
 */
import type { VirtualClock } from '#local/clock.ts';
import type { FaultRegistry } from '#local/faults.ts';
import type { Random } from '#local/random.ts';
import type { GcpAuth } from './auth.ts';
import type { MethodPermission } from './iam/permissions.ts';
import type { GcpIam } from './iam/policy.ts';

/** The verified caller of a request (from its bearer token). */
export interface Caller {
  /**
   * The verified email: a service account's `client_email` (key-file JWT flow, impersonation) or,
   * for a federated token used directly, its principal
   * (`principal://iam.googleapis.com/projects/<n>/locations/global/workloadIdentityPools/...`).
   */
  email: string;
  /** How the token was obtained. */
  kind: 'service-account' | 'self-signed-jwt' | 'federated' | 'impersonated';
  /** The local identity name (config/local-identities.yaml), when the email belongs to one. */
  identity: string | undefined;
  /** Scopes granted to the token (empty for self-signed JWTs with an audience). */
  scopes: string[];
  /**
   * A federated caller's mapped attributes (`attribute.aws_role` -> `aws_role`): IAM matches them
   * against `principalSet://.../attribute.<name>/<value>` members.
   */
  attributes?: Record<string, string>;
}

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** What a handler knows about a call. */
export interface GcpRequestContext<S = unknown> {
  service: string;
  operation: string;
  requestId: string;
  method: HttpMethod;
  /** Path as received, decoded, without the query string. */
  path: string;
  /** Path-template variables (`{project}` -> params.project), decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** Parsed body: JSON object, or the fields of a form-encoded body; `{}` when empty. */
  // biome-ignore lint/suspicious/noExplicitAny: each handler narrows its own body type.
  body: any;
  rawBody: Buffer;
  /** Lower-cased request headers. */
  headers: Record<string, string | string[] | undefined>;
  /** The verified caller; always set on routes with auth (the default). */
  caller: Caller | undefined;
  /** This module's state for `params.project` (or for '' when the route has no project). */
  state: S;
  clock: VirtualClock;
  world: GcpWorld;
}

/** A JSON body with a status other than 200, or extra headers. */
export class Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Record<string, string>;
  constructor(status: number, body: unknown, headers: Record<string, string> = {}) {
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the state type is bound by defineGcpService.
export type GcpHandler<S = any> = (ctx: GcpRequestContext<S>) => unknown;

export interface GcpRoute<S> {
  method: HttpMethod;
  /**
   * Google's path template: literal segments, `{var}` for one segment, and an optional custom verb
   * on the last segment (`.../cryptoKeyVersions/{version}:asymmetricDecrypt`). A trailing `{var=**}`
   * takes the rest of the path (slashes included).
   */
  path: string;
  /** The RPC name (`CreateTransport`): faults and logs use it. */
  operation: string;
  handler: GcpHandler<S>;
  /** `false` for public endpoints (token, JWKS, STS); default true: a valid access token is required. */
  auth?: boolean;
  /**
   * The IAM permission the method checks and on which resource; `'service'` when the handler
   * checks a policy of its own. Default: the edge's table (local/gcp/iam/permissions.ts); a route
   * with neither is refused while IAM is enforced.
   */
  permission?: MethodPermission | 'service';
}

/** An admin action (`POST /_crosslink/gcp/<service>/<action>`): JSON in, JSON out. */
// biome-ignore lint/suspicious/noExplicitAny: each action narrows its own body type.
export type GcpAdminAction = (body: any, world: GcpWorld) => unknown;

export interface GcpService<S = unknown> {
  /** Short name used by faults, admin and status (`networkconnectivity`, `cloudkms`, `compute`, ...). */
  name: string;
  /** The real service's hostname (`networkconnectivity.googleapis.com`): a `/<host>/...` path prefix
   *  or a `Host` header naming it selects this module first. */
  host: string;
  routes: GcpRoute<S>[];
  /** Creates this module's state for one project ('' for project-less routes). */
  createState?(project: string, world: GcpWorld): S;
  /** What `crosslink sim status` shows for one project. */
  status?(state: S, project: string): unknown;
  admin?: Record<string, GcpAdminAction>;
  /** Called once when the edge listens (e.g. to learn the endpoint). */
  start?(world: GcpWorld): void | Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: state types differ per module.
export type AnyGcpService = GcpService<any>;

/** Typed helper so handlers see their state type. */
export function defineGcpService<S>(service: GcpService<S>): GcpService<S> {
  return service;
}

/** What the local Google world offers to modules and admin actions. */
export interface GcpWorld {
  clock: VirtualClock;
  faults: FaultRegistry;
  random: Random;
  auth: GcpAuth;
  /** IAM: the allow policies every authenticated call is checked against (docs/local-gcp-iam.md). */
  iam: GcpIam;
  /** The default project and region (`npm start` reports them). */
  project: string;
  region: string;
  /** Base URL of the edge (`http://127.0.0.1:<port>`), known once it listens. */
  endpoint(): string;
  /** State of `service` in `project`, created if absent. */
  stateOf<S>(service: string, project: string): S;
  /** Every project that holds state for `service`. */
  projects(service: string): string[];
  /** Per-service settings passed to startLocalCloud (e.g. transport delays). */
  settings<T>(service: string): Partial<T>;
  /** Changes a service's settings while the cloud runs (the fields given replace theirs). */
  updateSettings(service: string, patch: Record<string, unknown>): void;
  /** Named extension points modules share (the world between the clouds registers here). */
  // biome-ignore lint/suspicious/noExplicitAny: extensions are typed by their accessors.
  extensions: Map<string, any>;
  log(message: string): void;
}
