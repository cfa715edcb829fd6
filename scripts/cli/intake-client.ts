/**
 * The CLI's client for a crosslink intake: the AWS intake's HTTP API routes with IAM auth
 * (functions/aws/intake.ts), each call signed with SigV4 for `execute-api`. HTTP errors
 * (functions/aws/http-errors.ts bodies) become the core's named errors, so main.ts maps them to
 * the CLI's exit codes: 400 -> 2 (one line per issue), 403 -> 3, 404 -> 4, 409 -> 3 for an illegal
 * transition, another policy hash or a DR control refused, 1 for a conflict; anything else -> 1.
 *
 * The Google intake (an HTTP Cloud Function behind IAM invoker auth) has the same routes and
 * answers; its calls carry `Authorization: Bearer <ID token>` whose audience is the intake URL.
 *
 * Where the intake is: `--target local` reads `intakes.aws` / `intakes.gcp` of the handshake and
 * signs as the `--as` identity (default `admin`): SigV4 with its AWS keys, or an ID token from its
 * Google key file `.crosslink/keys/<name>.json` (google-auth-library's JWT-bearer flow against the
 * key's `token_uri`, the local Google edge). `--target cloud` reads `CROSSLINK_AWS_INTAKE_URL` /
 * `CROSSLINK_GCP_INTAKE_URL` and signs with the default AWS credential provider chain / Google
 * Application Default Credentials.
 */

import { join } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { STSClient } from '@aws-sdk/client-sts';
import { SignatureV4 } from '@smithy/signature-v4';
import { GoogleAuth } from 'google-auth-library';
import type { Run } from '#core/dr/executor.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import type { ControlRecord } from '#core/dr/signal-log.ts';
import type { Cloud } from '#core/envelope.ts';
import {
  ConflictError,
  CrosslinkError,
  NotFoundError,
  PermissionDeniedError,
  PolicyRefusedError,
  ValidationError,
} from '#core/errors.ts';
import type { VpnDeleteApproval, VpnDeleteRequest } from '#core/vpn/approval.ts';
import { jwtClient, readKeyFile, type ServiceAccountKey } from '#gcp/google-credentials.ts';
import type { CommandContext } from './command.ts';
import { StateRefusedError, UsageError } from './errors.ts';
import { identity } from './identities.ts';

export type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
export type CredentialSource = () => Promise<Credentials>;

/**
 * Google ID tokens for an audience. `fresh` asks for a new one (after the intake answered 401: an
 * expired token, e.g. once the local cloud's virtual clock moved an hour on).
 */
export type IdTokenSource = (audience: string, fresh: boolean) => Promise<string>;

/** How calls are authenticated: SigV4 for the AWS intake, an ID token for the Google one. */
export type IntakeAuth = { region: string; credentials: CredentialSource } | { idToken: IdTokenSource };

/** One half of the link resource of `GET /links/{id}`. */
export interface HalfResource {
  state: string;
  nativeState: string | null;
  sequence: number;
  connectionId?: string;
  transportName?: string;
}

/** The link resource the intake returns (`linkResource` in functions/aws/intake.ts). */
export interface LinkResource {
  id: string;
  name: string;
  state: string;
  initiator: Cloud;
  environment?: string;
  requester?: string;
  halves: { aws: HalfResource; gcp: HalfResource };
  approvals: { side: Cloud; decision: string; by: string; at: string; reason?: string }[];
  stages: { state: string; at: string; reason?: string }[];
  /** A decommission request, once one was made: its status, decision and attempt. */
  decommission?: {
    status: 'PENDING' | 'APPROVED' | 'REJECTED' | 'EXPIRED';
    requestedBy: string;
    attempt: number;
    decision?: { by: string; decision?: string; reason?: string };
    stalled?: { at: string; reason: string };
  };
  audit?: {
    at: string;
    actor: string;
    action: string;
    outcome: string;
    reasons: string[];
    /** On an entry that records a peer event: the CloudEvent's id and its own `time`. */
    eventId?: string;
    eventTime?: string;
  }[];
}

/** What `POST /dr/{service}/controls` answers (functions/core/dr/control-taking.ts `ControlAnswer`). */
export interface DrControlAnswer {
  control: ControlRecord;
  recorded: boolean;
  decisions: Decision[];
}

interface ErrorBody {
  error?: { code?: string; message?: string; issues?: { path: string; reason: string }[] };
  message?: string;
  /** API Gateway's IAM refusal: `{"Message": "User: ... is not authorized to perform: execute-api:Invoke ..."}`. */
  Message?: string;
}

/** Maps an intake's error answer to the core error main.ts turns into an exit code. */
export function errorOfResponse(status: number, body: ErrorBody, what: string): Error {
  const e = body.error;
  const message = e?.message ?? body.message ?? body.Message ?? `HTTP ${status}`;
  switch (status) {
    case 400:
      return new ValidationError(e?.issues?.length ? e.issues : [{ path: '(request)', reason: message }]);
    case 401:
    case 403:
      if (e?.code === 'PolicyRefusedError')
        return new PolicyRefusedError(message.replace(/^refused by policy:\s*/, '').split('; '));
      // API Gateway's own 403 (`{"message": "Forbidden"}`): the signature or the keys were refused.
      return new PermissionDeniedError(
        e ? message : `${what}: the intake refused the caller's credentials (${message})`,
      );
    case 404:
      return new NotFoundError(e ? message : `${what}: no such route on the intake (${message})`);
    case 409:
      return e?.code === 'IllegalTransitionError' ||
        e?.code === 'PolicyHashMismatchError' ||
        e?.code === 'ControlRefusedError'
        ? new StateRefusedError(message)
        : new ConflictError(message);
    default:
      return new CrosslinkError(`${what}: the intake answered ${status}: ${message}`);
  }
}

export class IntakeClient {
  readonly url: URL;
  /** The URL as configured (no trailing slash): a Google intake's ID-token audience. */
  readonly audience: string;
  readonly #signer: SignatureV4 | undefined;
  readonly #idToken: IdTokenSource | undefined;
  readonly #fetch: typeof fetch;

  constructor(options: { url: string; fetch?: typeof fetch } & IntakeAuth) {
    this.url = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.audience = options.url.replace(/\/+$/, '');
    if ('idToken' in options) this.#idToken = options.idToken;
    else
      this.#signer = new SignatureV4({
        service: 'execute-api',
        region: options.region,
        sha256: Sha256,
        credentials: options.credentials,
      });
    this.#fetch = options.fetch ?? fetch;
  }

  async #headers(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: string | undefined,
    fresh: boolean,
  ): Promise<Record<string, string>> {
    if (this.#idToken) {
      let token: string;
      try {
        token = await this.#idToken(this.audience, fresh);
      } catch (e) {
        if (e instanceof CrosslinkError) throw e;
        throw new CrosslinkError(
          `cannot get a Google ID token for ${this.audience}: ${firstLine((e as Error).message)}`,
        );
      }
      return { ...headers, authorization: `Bearer ${token}` };
    }
    const signed = await (this.#signer as SignatureV4).sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    return signed.headers as Record<string, string>;
  }

  async #call<T>(
    method: 'GET' | 'POST',
    path: string,
    opts: { body?: unknown; query?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<T> {
    const url = new URL(path.replace(/^\//, ''), this.url);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string> = { host: url.host, ...(opts.headers ?? {}) };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const what = `${method} ${url.pathname}`;
    const attempts = this.#idToken ? 2 : 1;
    let res: Response | undefined;
    // An ID token the intake no longer accepts (401) is replaced once; a signature is not retried.
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const sent = await this.#headers(method, url, headers, body, attempt > 1);
      try {
        res = await this.#fetch(url, { method, headers: sent, ...(body !== undefined ? { body } : {}) });
      } catch (e) {
        throw new CrosslinkError(
          `${what}: cannot reach the intake at ${this.url.origin} (${(e as Error).cause ?? (e as Error).message})`,
        );
      }
      if (res.status !== 401 || attempt === attempts) break;
      await res.body?.cancel();
    }
    const answer = res as Response;
    const text = await answer.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      // Cloud Run answers its own 401 / 403 (IAM invoker check) in text, before the intake runs.
      if (!answer.ok) throw errorOfResponse(answer.status, { message: firstLine(text) }, what);
      throw new CrosslinkError(`${what}: the intake answered ${answer.status} with a body that is not JSON`);
    }
    if (!answer.ok) throw errorOfResponse(answer.status, json as ErrorBody, what);
    return json as T;
  }

  /** `POST /links` with an idempotency key: the same key and body return the earlier link. */
  request(body: unknown, idempotencyKey: string) {
    return this.#call<{ link: LinkResource; execution?: string }>('POST', '/links', {
      body,
      headers: { 'idempotency-key': idempotencyKey },
    });
  }

  decide(id: string, decision: 'approve' | 'reject', reason?: string) {
    // `unchanged`: the link already held this decision (why, and by whom).
    return this.#call<{ link: LinkResource; unchanged?: string }>(
      'POST',
      `/links/${encodeURIComponent(id)}/approvals`,
      {
        body: { decision, ...(reason !== undefined ? { reason } : {}) },
      },
    );
  }

  decommission(id: string, reason?: string) {
    return this.#call<{ link: LinkResource; execution?: string }>(
      'POST',
      `/links/${encodeURIComponent(id)}/decommission`,
      { body: reason !== undefined ? { reason } : {} },
    );
  }

  /** Approves the prod delete of a VPN that the run's half waits to do (`POST /vpns/{id}/approvals`). */
  approveVpnDelete(vpnId: string, runId: string) {
    return this.#call<{ request: VpnDeleteRequest; approval: VpnDeleteApproval }>(
      'POST',
      `/vpns/${encodeURIComponent(vpnId)}/approvals`,
      { body: { runId, decision: 'approve' } },
    );
  }

  /**
   * Records an operator's pause, resume or approval of a DR plan in the deployed signal log of the
   * cloud executing it (`POST /dr/{service}/controls`: AWS's functions/aws/dr-control.ts, Google's
   * functions/gcp/dr-control.ts); the same key retried records it once.
   */
  drControl(
    service: string,
    body: { control: string; epoch?: number; phase?: 'start' | 'end' },
    idempotencyKey: string,
  ) {
    return this.#call<DrControlAnswer>('POST', `/dr/${encodeURIComponent(service)}/controls`, {
      body,
      headers: { 'idempotency-key': idempotencyKey },
    });
  }

  /** The deployed executor's run of a DR plan as stored (`GET /dr/{service}/run`), or null before any. */
  drRun(service: string) {
    return this.#call<{ run: Run | null }>('GET', `/dr/${encodeURIComponent(service)}/run`);
  }

  get(id: string) {
    return this.#call<LinkResource>('GET', `/links/${encodeURIComponent(id)}`);
  }

  /** Every link (all cursor pages), optionally of one state. */
  async listAll(state?: string): Promise<LinkResource[]> {
    const all: LinkResource[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#call<{ items: LinkResource[]; cursor?: string }>('GET', '/links', {
        query: { ...(state ? { state } : {}), ...(cursor ? { cursor } : {}), limit: '100' },
      });
      all.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
    return all;
  }
}

/** The region of an `execute-api` URL (`https://<id>.execute-api.<region>.amazonaws.com`). */
export function regionOfApiUrl(url: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com/.exec(url)?.[1];
}

/**
 * Credentials of the default AWS provider chain (env, SSO, shared files, process, container, IMDS),
 * resolved by an SDK client's own config so the chain is the SDK's, not a copy.
 */
export function defaultChainCredentials(region: string): CredentialSource {
  const sts = new STSClient({ region });
  return async () => {
    try {
      return (await sts.config.credentials()) as Credentials;
    } catch (e) {
      throw new UsageError(
        `no AWS credentials for --target cloud: ${(e as Error).message.split('\n')[0]} (set AWS_PROFILE or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)`,
      );
    }
  };
}

/** Where the commands' clocks run: the local cloud's virtual clock, or the system clock. */
export interface WaitClock {
  now(): Promise<number>;
}

export interface IntakeAccess {
  client: IntakeClient;
  clock: WaitClock;
  /** Longest pause between polls while waiting (ms). */
  maxPollMs: number;
}

const firstLine = (text: string) => text.trim().split('\n')[0] ?? '';

const GOOGLE_NOT_THERE = 'the Google intake is not available';

/**
 * ID tokens from a service-account key file: google-auth-library's JWT client signs an assertion
 * with `target_audience` and trades it at the key's `token_uri` for an `id_token`. The token is
 * kept until the intake refuses it (`fresh`): the local cloud's tokens expire on its virtual clock,
 * which this process cannot see.
 */
export function keyFileIdTokens(key: ServiceAccountKey): IdTokenSource {
  const client = jwtClient(key);
  const cached = new Map<string, string>();
  return async (audience, fresh) => {
    const have = cached.get(audience);
    if (have && !fresh) return have;
    const token = await client.fetchIdToken(audience);
    cached.set(audience, token);
    return token;
  };
}

/**
 * ID tokens from Google Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, the
 * gcloud ADC file, or the metadata server): what `--target cloud` uses for the Google intake.
 */
export function applicationDefaultIdTokens(auth = new GoogleAuth()): IdTokenSource {
  return async (audience) => {
    try {
      const client = await auth.getIdTokenClient(audience);
      return await client.idTokenProvider.fetchIdToken(audience);
    } catch (e) {
      throw new UsageError(
        `no Google ID token for --target cloud: ${firstLine((e as Error).message)} (set GOOGLE_APPLICATION_CREDENTIALS to a service-account key, or run where the metadata server answers)`,
      );
    }
  };
}

/**
 * Whether this target names both clouds' intakes (the handshake's `intakes.aws` and `intakes.gcp`;
 * `CROSSLINK_AWS_INTAKE_URL` and `CROSSLINK_GCP_INTAKE_URL` for `--target cloud`).
 */
export async function bothIntakesKnown(ctx: CommandContext): Promise<boolean> {
  const target = await ctx.resolveTarget();
  if (target.kind === 'local') return Boolean(target.local.intakes.aws && target.local.intakes.gcp);
  return Boolean(ctx.io.env.CROSSLINK_AWS_INTAKE_URL && ctx.io.env.CROSSLINK_GCP_INTAKE_URL);
}

/** A client of a Google function of the local cloud, with ID tokens of the `--as` identity's key file. */
async function localGoogleClient(ctx: CommandContext, home: string, url: string): Promise<IntakeClient> {
  const who = await identity(ctx.home, ctx.global.as ?? 'admin');
  if (!who.gcp) throw new UsageError(`--as ${who.name}: this identity has no Google identity`);
  const keyPath = join(home, '.crosslink', 'keys', `${who.name}.json`);
  const key = await readKeyFile(keyPath).catch((e: Error) => {
    throw new UsageError(`--as ${who.name}: no Google key file (${firstLine(e.message)})`);
  });
  return new IntakeClient({ url, idToken: keyFileIdTokens(key) });
}

/**
 * The Google route for the operators' controls of a plan Google executes (the `dr-control`
 * function, functions/gcp/dr-control.ts): on the local cloud the handshake's `drControls.gcp`,
 * called with ID tokens of the `--as` identity's key file; `--target cloud`:
 * `CROSSLINK_GCP_DR_CONTROL_URL` with Google Application Default Credentials.
 */
export async function googleDrControlFor(ctx: CommandContext): Promise<IntakeClient> {
  const target = await ctx.resolveTarget();
  if (target.kind === 'local') {
    const url = target.local.drControls?.gcp;
    if (!url)
      throw new UsageError(
        "the local cloud has no Google DR controls (drControls.gcp is not in .crosslink/local.json): gcp.yml's dr-control function is not deployed there",
      );
    return localGoogleClient(ctx, target.home, url);
  }
  if (ctx.global.as)
    throw new UsageError(
      '--as is for the local cloud only: --target cloud signs with your Google application default credentials',
    );
  const url = ctx.io.env.CROSSLINK_GCP_DR_CONTROL_URL;
  if (!url)
    throw new UsageError(
      '--target cloud: set CROSSLINK_GCP_DR_CONTROL_URL to the URL of the deployed dr-control function (a plan Google executes takes its controls there)',
    );
  return new IntakeClient({ url, idToken: applicationDefaultIdTokens() });
}

/** The intake of `side` for this command's target, signed as the caller. */
export async function intakeFor(ctx: CommandContext, side: Cloud): Promise<IntakeAccess> {
  const target = await ctx.resolveTarget();
  if (target.kind === 'local') {
    const local = target.local;
    const url = side === 'aws' ? local.intakes.aws : local.intakes.gcp;
    if (!url) {
      if (side === 'gcp')
        throw new UsageError(
          `${GOOGLE_NOT_THERE}: intakes.gcp is null in .crosslink/local.json (this local cloud does not host the Google half), so requests and approvals for Google go nowhere`,
        );
      throw new UsageError(
        'the local cloud has no AWS intake (intakes.aws is null in .crosslink/local.json): start it with `npm start`, which deploys serverless.yml',
      );
    }
    let client: IntakeClient;
    if (side === 'gcp') client = await localGoogleClient(ctx, target.home, url);
    else {
      const who = await identity(ctx.home, ctx.global.as ?? 'admin');
      if (!who.aws) throw new UsageError(`--as ${who.name}: this identity has no AWS keys`);
      const keys = { accessKeyId: who.aws.accessKeyId, secretAccessKey: who.aws.secretAccessKey };
      client = new IntakeClient({
        url,
        region: local.aws?.region ?? 'us-east-1',
        credentials: async () => keys,
      });
    }
    const admin = local.admin;
    return {
      client,
      clock: {
        now: async () => {
          if (!admin) return Date.now();
          const res = await fetch(`${admin}/clock`);
          return Date.parse(((await res.json()) as { now: string }).now);
        },
      },
      maxPollMs: 2_000,
    };
  }
  if (ctx.global.as)
    throw new UsageError(
      '--as is for the local cloud only: --target cloud signs with your AWS credentials / Google application default credentials',
    );
  if (side === 'gcp') {
    const url = ctx.io.env.CROSSLINK_GCP_INTAKE_URL;
    if (!url)
      throw new UsageError(
        `${GOOGLE_NOT_THERE}: --target cloud needs CROSSLINK_GCP_INTAKE_URL, the URL of the deployed intake function`,
      );
    return {
      client: new IntakeClient({ url, idToken: applicationDefaultIdTokens() }),
      clock: { now: async () => Date.now() },
      maxPollMs: 30_000,
    };
  }
  const url = ctx.io.env.CROSSLINK_AWS_INTAKE_URL;
  if (!url)
    throw new UsageError(
      '--target cloud: set CROSSLINK_AWS_INTAKE_URL to the AWS intake HTTP API URL (the HttpApiUrl output of the deployed stack)',
    );
  const region = ctx.io.env.AWS_REGION ?? ctx.io.env.AWS_DEFAULT_REGION ?? regionOfApiUrl(url);
  if (!region)
    throw new UsageError('--target cloud: set AWS_REGION (the intake URL does not name its region)');
  return {
    client: new IntakeClient({ url, region, credentials: defaultChainCredentials(region) }),
    clock: { now: async () => Date.now() },
    maxPollMs: 30_000,
  };
}
