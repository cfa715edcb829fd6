/**
 * The CLI's client for a crosslink intake: the AWS intake's HTTP API routes with IAM auth
 * (functions/aws/link-intake.ts), each call signed with SigV4 for `execute-api`. HTTP errors
 * (functions/aws/http-errors.ts bodies) become the core's named errors, so main.ts maps them to
 * the CLI's exit codes: 400 -> 2 (one line per issue), 403 -> 3, 404 -> 4, 409 -> 3 for an illegal
 * transition or another policy hash, 1 for a conflict; anything else -> 1.
 *
 * Where the intake is: `--target local` reads `intakes.aws` / `intakes.gcp` of the handshake and
 * signs as the `--as` identity (default `admin`); `--target cloud` reads `CROSSLINK_AWS_INTAKE_URL`
 * (and `CROSSLINK_GCP_INTAKE_URL`) and signs with the default AWS credential provider chain.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { STSClient } from '@aws-sdk/client-sts';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Cloud } from '#core/envelope.ts';
import {
  ConflictError,
  CrosslinkError,
  NotFoundError,
  PermissionDeniedError,
  PolicyRefusedError,
  ValidationError,
} from '#core/errors.ts';
import type { CommandContext } from './command.ts';
import { StateRefusedError, UsageError } from './errors.ts';
import { identity } from './identities.ts';

export type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
export type CredentialSource = () => Promise<Credentials>;

/** One half of the link resource of `GET /links/{id}`. */
export interface HalfResource {
  state: string;
  nativeState: string | null;
  sequence: number;
  connectionId?: string;
  transportName?: string;
}

/** The link resource the intake returns (`linkResource` in functions/aws/link-intake.ts). */
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
  }[];
}

interface ErrorBody {
  error?: { code?: string; message?: string; issues?: { path: string; reason: string }[] };
  message?: string;
}

/** Maps an intake's error answer to the core error main.ts turns into an exit code. */
export function errorOfResponse(status: number, body: ErrorBody, what: string): Error {
  const e = body.error;
  const message = e?.message ?? body.message ?? `HTTP ${status}`;
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
      return e?.code === 'IllegalTransitionError' || e?.code === 'PolicyHashMismatchError'
        ? new StateRefusedError(message)
        : new ConflictError(message);
    default:
      return new CrosslinkError(`${what}: the intake answered ${status}: ${message}`);
  }
}

export class IntakeClient {
  readonly url: URL;
  readonly #signer: SignatureV4;
  readonly #fetch: typeof fetch;

  constructor(options: { url: string; region: string; credentials: CredentialSource; fetch?: typeof fetch }) {
    this.url = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.#signer = new SignatureV4({
      service: 'execute-api',
      region: options.region,
      sha256: Sha256,
      credentials: options.credentials,
    });
    this.#fetch = options.fetch ?? fetch;
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
    const signed = await this.#signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    const what = `${method} ${url.pathname}`;
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers: signed.headers as Record<string, string>,
        ...(body !== undefined ? { body } : {}),
      });
    } catch (e) {
      throw new CrosslinkError(
        `${what}: cannot reach the intake at ${this.url.origin} (${(e as Error).cause ?? (e as Error).message})`,
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      throw new CrosslinkError(`${what}: the intake answered ${res.status} with a body that is not JSON`);
    }
    if (!res.ok) throw errorOfResponse(res.status, json as ErrorBody, what);
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
    return this.#call<{ link: LinkResource }>('POST', `/links/${encodeURIComponent(id)}/approvals`, {
      body: { decision, ...(reason !== undefined ? { reason } : {}) },
    });
  }

  decommission(id: string, reason?: string) {
    return this.#call<{ link: LinkResource; execution?: string }>(
      'POST',
      `/links/${encodeURIComponent(id)}/decommission`,
      { body: reason !== undefined ? { reason } : {} },
    );
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

const GOOGLE_NOT_BUILT =
  'the Google intake is not available: the Google half (issue #9) is not built yet, so requests and approvals for Google go nowhere';

/** The intake of `side` for this command's target, signed as the caller. */
export async function intakeFor(ctx: CommandContext, side: Cloud): Promise<IntakeAccess> {
  const target = await ctx.resolveTarget();
  if (target.kind === 'local') {
    const local = target.local;
    const url = side === 'aws' ? local.intakes.aws : local.intakes.gcp;
    if (!url) {
      if (side === 'gcp')
        throw new UsageError(`${GOOGLE_NOT_BUILT} (intakes.gcp is null in .crosslink/local.json)`);
      throw new UsageError(
        'the local cloud has no AWS intake (intakes.aws is null in .crosslink/local.json): start it with `npm start`, which deploys serverless.yml',
      );
    }
    if (side === 'gcp') throw new UsageError(`${GOOGLE_NOT_BUILT} (the CLI cannot sign Google calls yet)`);
    const who = await identity(ctx.home, ctx.global.as ?? 'admin');
    if (!who.aws) throw new UsageError(`--as ${who.name}: this identity has no AWS keys`);
    const keys = { accessKeyId: who.aws.accessKeyId, secretAccessKey: who.aws.secretAccessKey };
    const admin = local.admin;
    return {
      client: new IntakeClient({
        url,
        region: local.aws?.region ?? 'us-east-1',
        credentials: async () => keys,
      }),
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
    throw new UsageError('--as is for the local cloud only: --target cloud signs with your AWS credentials');
  if (side === 'gcp') {
    if (!ctx.io.env.CROSSLINK_GCP_INTAKE_URL)
      throw new UsageError(`${GOOGLE_NOT_BUILT} (CROSSLINK_GCP_INTAKE_URL is not set)`);
    throw new UsageError(`${GOOGLE_NOT_BUILT} (the CLI cannot sign Google calls yet)`);
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
