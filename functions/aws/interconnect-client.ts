/**
 * Our AWS Interconnect client, standing in for `@aws-sdk/client-interconnect`, which the package
 * registry this project builds from does not serve. It is shaped like the SDK v3 client - `new
 * InterconnectClient(config).send(new GetConnectionCommand(input))`, error classes named as the
 * model's error shapes, and `waitUntilConnectionAvailable` / `waitUntilConnectionDeleted`
 * (interconnect-waiters.ts) - so swapping it for the official client is an import change, and
 * `aws-sdk-client-mock`-style command matching keeps working.
 *
 * Wire: AWS JSON 1.0 (`X-Amz-Target: Interconnect.<Op>`), SigV4 (signing name `interconnect`) via
 * @smithy/signature-v4. Retries: like the SDK's standard mode - up to `maxAttempts` (3) on
 * throttling, 5xx and network errors, exponential backoff with full jitter (base 500 ms for
 * throttling errors, 100 ms for the others, cap 20 s), drawn from a retry quota per client (token
 * bucket: 500 capacity, 5 per retry, 10 per retry after a timeout, refunded on success) so a
 * failing endpoint is not hammered by every caller's retries.
 *
 * Idempotent operations get a random `clientToken` when none is given, kept across this client's
 * own retries. That random token does NOT survive a re-run of the caller: Step Functions retries a
 * task by running it again, which would create a second connection. Callers of mutations
 * (CreateConnection, AcceptConnectionProposal, UpdateConnection, DeleteConnection) must pass a
 * deterministic `clientToken` derived from their own identity (e.g. link id + operation + version).
 *
 * Waiters follow the Smithy waiter spec: an error that no acceptor matches ends the wait in FAILURE
 * (AccessDenied fails fast; transient errors were already retried by `send`).
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { sleep as letTimePass } from '#core/clock.ts';
import type { AwsConnectionState } from '#core/link/model.ts';

// ---------- shapes (service model 2022-07-26) ----------

/** The service model's `ConnectionState`: the core's list (functions/core/link/model.ts), which the local cloud serves too. */
export type ConnectionState = AwsConnectionState;
export type AttachPoint =
  | { directConnectGateway: string; arn?: never }
  | { arn: string; directConnectGateway?: never };
export type Provider =
  | { cloudServiceProvider: string; lastMileProvider?: never }
  | { lastMileProvider: string; cloudServiceProvider?: never };

export interface Connection {
  id: string;
  arn: string;
  description: string;
  bandwidth: string;
  attachPoint: AttachPoint;
  environmentId: string;
  provider: Provider;
  location: string;
  type: string;
  state: ConnectionState;
  sharedId: string;
  billingTier?: number;
  ownerAccount: string;
  activationKey: string;
  tags?: Record<string, string>;
}

export type ConnectionSummary = Omit<Connection, 'ownerAccount' | 'activationKey' | 'tags'>;

export interface Environment {
  provider: Provider;
  location: string;
  environmentId: string;
  state: 'available' | 'limited' | 'unavailable';
  bandwidths: { available?: string[]; supported?: string[] };
  type: string;
  activationPageUrl?: string;
  remoteIdentifierType?: 'account' | 'email';
}

export interface AttachPointDescriptor {
  type: 'DirectConnectGateway';
  identifier: string;
  name: string;
}

export interface ResponseMetadata {
  httpStatusCode?: number;
  requestId?: string;
  attempts?: number;
  totalRetryDelay?: number;
}

interface Ops {
  CreateConnection: {
    input: {
      description?: string;
      bandwidth: string;
      attachPoint: AttachPoint;
      environmentId: string;
      remoteAccount?: { identifier: string };
      tags?: Record<string, string>;
      clientToken?: string;
    };
    output: { connection?: Connection };
  };
  AcceptConnectionProposal: {
    input: {
      attachPoint: AttachPoint;
      activationKey: string;
      description?: string;
      tags?: Record<string, string>;
      clientToken?: string;
    };
    output: { connection?: Connection };
  };
  DescribeConnectionProposal: {
    input: { activationKey: string };
    output: { bandwidth: string; environmentId: string; provider: Provider; location: string };
  };
  GetConnection: { input: { identifier: string }; output: { connection?: Connection } };
  ListConnections: {
    input: {
      maxResults?: number;
      nextToken?: string;
      state?: ConnectionState;
      environmentId?: string;
      provider?: Provider;
      attachPoint?: AttachPoint;
    };
    output: { connections?: ConnectionSummary[]; nextToken?: string };
  };
  UpdateConnection: {
    input: { identifier: string; description?: string; bandwidth?: string; clientToken?: string };
    output: { connection?: Connection };
  };
  DeleteConnection: {
    input: { identifier: string; clientToken?: string };
    output: { connection: Connection };
  };
  GetEnvironment: { input: { id: string }; output: { environment: Environment } };
  ListEnvironments: {
    input: { maxResults?: number; nextToken?: string; provider?: Provider; location?: string };
    output: { environments: Environment[]; nextToken?: string };
  };
  ListAttachPoints: {
    input: { environmentId: string; maxResults?: number; nextToken?: string };
    output: { attachPoints: AttachPointDescriptor[]; nextToken?: string };
  };
  TagResource: { input: { arn: string; tags: Record<string, string> }; output: Record<string, never> };
  UntagResource: { input: { arn: string; tagKeys: string[] }; output: Record<string, never> };
  ListTagsForResource: { input: { arn: string }; output: { tags?: Record<string, string> } };
}

export type OperationName = keyof Ops;
export type InputOf<O extends OperationName> = Ops[O]['input'];
export type OutputOf<O extends OperationName> = Ops[O]['output'] & { $metadata: ResponseMetadata };

const IDEMPOTENT: ReadonlySet<OperationName> = new Set([
  'CreateConnection',
  'AcceptConnectionProposal',
  'UpdateConnection',
  'DeleteConnection',
]);

// ---------- commands ----------

/** A command: an operation name and its input, as in SDK v3. */
export abstract class InterconnectCommand<O extends OperationName> {
  abstract readonly operation: O;
  readonly input: InputOf<O>;
  constructor(input: InputOf<O>) {
    this.input = input;
  }
}

export class CreateConnectionCommand extends InterconnectCommand<'CreateConnection'> {
  readonly operation = 'CreateConnection' as const;
}
export class AcceptConnectionProposalCommand extends InterconnectCommand<'AcceptConnectionProposal'> {
  readonly operation = 'AcceptConnectionProposal' as const;
}
export class DescribeConnectionProposalCommand extends InterconnectCommand<'DescribeConnectionProposal'> {
  readonly operation = 'DescribeConnectionProposal' as const;
}
export class GetConnectionCommand extends InterconnectCommand<'GetConnection'> {
  readonly operation = 'GetConnection' as const;
}
export class ListConnectionsCommand extends InterconnectCommand<'ListConnections'> {
  readonly operation = 'ListConnections' as const;
}
export class UpdateConnectionCommand extends InterconnectCommand<'UpdateConnection'> {
  readonly operation = 'UpdateConnection' as const;
}
export class DeleteConnectionCommand extends InterconnectCommand<'DeleteConnection'> {
  readonly operation = 'DeleteConnection' as const;
}
export class GetEnvironmentCommand extends InterconnectCommand<'GetEnvironment'> {
  readonly operation = 'GetEnvironment' as const;
}
export class ListEnvironmentsCommand extends InterconnectCommand<'ListEnvironments'> {
  readonly operation = 'ListEnvironments' as const;
}
export class ListAttachPointsCommand extends InterconnectCommand<'ListAttachPoints'> {
  readonly operation = 'ListAttachPoints' as const;
}
export class TagResourceCommand extends InterconnectCommand<'TagResource'> {
  readonly operation = 'TagResource' as const;
}
export class UntagResourceCommand extends InterconnectCommand<'UntagResource'> {
  readonly operation = 'UntagResource' as const;
}
export class ListTagsForResourceCommand extends InterconnectCommand<'ListTagsForResource'> {
  readonly operation = 'ListTagsForResource' as const;
}

// ---------- errors ----------

/** Base of every error the service returns (SDK: `InterconnectServiceException`). */
export class InterconnectServiceException extends Error {
  readonly $fault: 'client' | 'server';
  $metadata: ResponseMetadata;
  constructor(name: string, message: string, fault: 'client' | 'server', metadata: ResponseMetadata) {
    super(message);
    this.name = name;
    this.$fault = fault;
    this.$metadata = metadata;
  }
}

type ErrorArgs = [message: string, metadata: ResponseMetadata];

/** The calling principal is not allowed to access the resource, or it does not exist (403). */
export class AccessDeniedException extends InterconnectServiceException {
  constructor(...[m, md]: ErrorArgs) {
    super('AccessDeniedException', m, 'client', md);
  }
}
/** Incorrect client-supplied parameters (400). */
export class InterconnectClientException extends InterconnectServiceException {
  constructor(...[m, md]: ErrorArgs) {
    super('InterconnectClientException', m, 'client', md);
  }
}
/** Internal error of the service (500); retried. */
export class InterconnectServerException extends InterconnectServiceException {
  constructor(...[m, md]: ErrorArgs) {
    super('InterconnectServerException', m, 'server', md);
  }
}
/** The input fails the model's constraints (400). */
export class InterconnectValidationException extends InterconnectServiceException {
  constructor(...[m, md]: ErrorArgs) {
    super('InterconnectValidationException', m, 'client', md);
  }
}
/** The resource does not exist (404). */
export class ResourceNotFoundException extends InterconnectServiceException {
  constructor(...[m, md]: ErrorArgs) {
    super('ResourceNotFoundException', m, 'client', md);
  }
}
/** The call would exceed a quota (402). */
export class ServiceQuotaExceededException extends InterconnectServiceException {
  constructor(...[m, md]: ErrorArgs) {
    super('ServiceQuotaExceededException', m, 'client', md);
  }
}
/** Request throttled (429); retried. */
export class ThrottlingException extends InterconnectServiceException {
  constructor(...[m, md]: ErrorArgs) {
    super('ThrottlingException', m, 'client', md);
  }
}

const ERROR_CLASSES: Record<string, new (...a: ErrorArgs) => InterconnectServiceException> = {
  AccessDeniedException,
  InterconnectClientException,
  InterconnectServerException,
  InterconnectValidationException,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  ThrottlingException,
};

// ---------- client ----------

export interface AwsCredentialIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
export type CredentialProvider = () => Promise<AwsCredentialIdentity>;

export interface InterconnectClientConfig {
  region?: string;
  /** e.g. the local cloud's `aws.endpoint`; default `https://interconnect.<region>.api.aws`. */
  endpoint?: string;
  /** Credentials or a provider; default: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. */
  credentials?: AwsCredentialIdentity | CredentialProvider;
  /** Attempts per call including the first (SDK standard mode: 3). */
  maxAttempts?: number;
  /** Backoff base and cap in ms (SDK: 100 ms, 20 s). */
  retryBaseDelayMs?: number;
  /** Backoff base for throttling errors in ms (SDK: THROTTLING_RETRY_DELAY_BASE, 500 ms). */
  throttlingRetryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Retry quota of this client (SDK: INITIAL_RETRY_TOKENS 500, RETRY_COST 5, TIMEOUT_RETRY_COST 10). */
  retryQuota?: { capacity?: number; retryCost?: number; timeoutRetryCost?: number };
  /** Injectable for tests: how to wait between retries, and the jitter source. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  requestTimeoutMs?: number;
}

function envCredentials(): AwsCredentialIdentity {
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error('no AWS credentials: pass credentials or set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY');
  }
  const sessionToken = process.env.AWS_SESSION_TOKEN;
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class InterconnectClient {
  readonly config: Required<Pick<InterconnectClientConfig, 'region' | 'maxAttempts'>> &
    InterconnectClientConfig;
  readonly #endpoint: URL;
  readonly #signer: SignatureV4;
  /** Retry tokens left in this client's quota. */
  #retryTokens: number;
  readonly #quota: { capacity: number; retryCost: number; timeoutRetryCost: number };

  constructor(config: InterconnectClientConfig = {}) {
    const region = config.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!region) throw new Error('InterconnectClient needs a region (config.region or AWS_REGION)');
    this.config = { ...config, region, maxAttempts: config.maxAttempts ?? 3 };
    this.#endpoint = new URL(config.endpoint ?? `https://interconnect.${region}.api.aws`);
    this.#quota = {
      capacity: config.retryQuota?.capacity ?? 500,
      retryCost: config.retryQuota?.retryCost ?? 5,
      timeoutRetryCost: config.retryQuota?.timeoutRetryCost ?? 10,
    };
    this.#retryTokens = this.#quota.capacity;
    const creds = config.credentials;
    this.#signer = new SignatureV4({
      service: 'interconnect',
      region,
      sha256: Sha256,
      credentials: typeof creds === 'function' ? creds : async () => creds ?? envCredentials(),
    });
  }

  async send<O extends OperationName>(command: InterconnectCommand<O>): Promise<OutputOf<O>> {
    const input: Record<string, unknown> = { ...(command.input as Record<string, unknown>) };
    if (IDEMPOTENT.has(command.operation) && input.clientToken === undefined)
      input.clientToken = randomUUID();
    const body = JSON.stringify(input);
    const sleep = this.config.sleep ?? letTimePass;
    const random = this.config.random ?? Math.random;
    const base = this.config.retryBaseDelayMs ?? 100;
    const throttlingBase = this.config.throttlingRetryBaseDelayMs ?? 500;
    const cap = this.config.retryMaxDelayMs ?? 20_000;
    let totalRetryDelay = 0;
    /** Tokens taken for the latest retry of this call (refunded on success), 0 if none. */
    let lastRetryCost = 0;
    for (let attempt = 1; ; attempt++) {
      let error: unknown;
      try {
        const res = await this.#call(command.operation, body);
        const requestId = String(res.headers['x-amzn-requestid'] ?? '');
        const metadata: ResponseMetadata = {
          httpStatusCode: res.status,
          requestId,
          attempts: attempt,
          totalRetryDelay,
        };
        if (res.status >= 200 && res.status < 300) {
          // SDK: a success refunds the last retry's cost, or adds one token if there was no retry.
          this.#retryTokens = Math.min(this.#quota.capacity, this.#retryTokens + (lastRetryCost || 1));
          const parsed = res.body.length > 0 ? (JSON.parse(res.body) as object) : {};
          return { ...parsed, $metadata: metadata } as OutputOf<O>;
        }
        error = toServiceError(res, metadata);
      } catch (err) {
        error = err;
      }
      if (attempt >= this.config.maxAttempts || !isRetryable(error)) throw error;
      const cost = isTimeout(error) ? this.#quota.timeoutRetryCost : this.#quota.retryCost;
      // Quota exhausted: the endpoint is failing for everyone; answer now instead of piling on.
      if (this.#retryTokens < cost) throw error;
      this.#retryTokens -= cost;
      lastRetryCost = cost;
      // Full jitter: a uniform delay up to the exponential ceiling.
      const b = isThrottling(error) ? throttlingBase : base;
      const delay = Math.floor(random() * Math.min(cap, b * 2 ** (attempt - 1)));
      totalRetryDelay += delay;
      await sleep(delay);
    }
  }

  async #call(operation: string, body: string): Promise<RawResponse> {
    const url = this.#endpoint;
    const signed = await this.#signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname === '' ? '/' : url.pathname,
      query: {},
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `Interconnect.${operation}`,
        'content-length': String(Buffer.byteLength(body)),
      },
      body,
    });
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<RawResponse>((resolve, reject) => {
      const req = send(
        {
          method: 'POST',
          hostname: url.hostname,
          port: url.port || undefined,
          path: url.pathname || '/',
          headers: signed.headers,
          timeout: this.config.requestTimeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(Object.assign(new Error('request timed out'), { name: 'TimeoutError' })),
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** The error's name from `__type` (`ns#Name`) or `x-amzn-errortype` (`Name:uri`), as the SDK reads it. */
function errorName(res: RawResponse, parsed: Record<string, unknown>): string {
  const raw =
    (typeof parsed.__type === 'string' && parsed.__type) ||
    (typeof parsed.code === 'string' && parsed.code) ||
    String(res.headers['x-amzn-errortype'] ?? '') ||
    `Http${res.status}`;
  return (raw.split('#').pop() ?? raw).split(':')[0] as string;
}

function toServiceError(res: RawResponse, metadata: ResponseMetadata): InterconnectServiceException {
  let parsed: Record<string, unknown> = {};
  try {
    parsed = res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {};
  } catch {
    parsed = {};
  }
  const name = errorName(res, parsed);
  const message = String(parsed.message ?? parsed.Message ?? `HTTP ${res.status}`);
  const Cls = ERROR_CLASSES[name];
  if (Cls) return new Cls(message, metadata);
  return new InterconnectServiceException(name, message, res.status >= 500 ? 'server' : 'client', metadata);
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
]);

function isThrottling(err: unknown): boolean {
  return (
    err instanceof InterconnectServiceException &&
    (THROTTLING.has(err.name) || err.$metadata.httpStatusCode === 429)
  );
}

function isTimeout(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return (err as Error)?.name === 'TimeoutError' || code === 'ETIMEDOUT';
}

function isRetryable(err: unknown): boolean {
  if (err instanceof InterconnectServiceException) {
    const status = err.$metadata.httpStatusCode ?? 0;
    return THROTTLING.has(err.name) || err.$fault === 'server' || status === 429 || status >= 500;
  }
  const code = (err as { code?: string })?.code;
  return (
    (err as Error)?.name === 'TimeoutError' ||
    ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN'].includes(code ?? '')
  );
}
