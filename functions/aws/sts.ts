/**
 * STS AssumeRole, the one STS operation crosslink calls (a network account's role, assume-role.ts),
 * shaped like the SDK v3 client (`new StsClient(config).send(new AssumeRoleCommand(input))`) and
 * written over the parts of the SDK that every Lambda bundle already holds: the SigV4 signer, the
 * Node.js HTTP handler, the standard retry strategy and its error classification, and the default
 * credential chain. `@aws-sdk/client-sts` brings the awsQuery protocol and an XML parser besides
 * its own client, about 24 KB in each bundle with the halves, for a request of five form fields and
 * an answer of four values (docs/aws-half.md, "Packaging").
 *
 * Wire (awsQuery, API 2011-06-15): POST `/` with `Action=AssumeRole&Version=2011-06-15&...` as
 * `application/x-www-form-urlencoded`, signed for `sts` in the client's region; the answer is
 * `AssumeRoleResponse/AssumeRoleResult/Credentials`, an error `ErrorResponse/Error` with its `Type`
 * (Sender or Receiver), `Code` and `Message`. As the SDK does, an error becomes an exception named
 * after the model's error shape when the code is one of the operation's modelled errors
 * (`MalformedPolicyDocument` -> MalformedPolicyDocumentException), else after the code itself
 * (`AccessDenied`). Endpoint as the SDK resolves it: `config.endpoint`, else AWS_ENDPOINT_URL_STS,
 * else AWS_ENDPOINT_URL, else the regional `https://sts.<region>.amazonaws.com`
 * (`.amazonaws.com.cn` in China).
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Sha256 } from '@smithy/core/checksum';
import {
  isServerError,
  isThrottlingError,
  isTransientError,
  StandardRetryStrategy,
} from '@smithy/core/retry';
import { HttpRequest } from '@smithy/core/transport';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';

const VERSION = '2011-06-15';

export interface StsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface StsClientConfig {
  region: string;
  /** The local cloud's endpoint, for one; default as the SDK resolves it (above). */
  endpoint?: string;
  /** The caller's credentials; default: the SDK's default chain. */
  credentials?: StsCredentials | (() => Promise<StsCredentials>);
  /** Attempts per call including the first (the SDK's standard mode: 3). */
  maxAttempts?: number;
}

export interface ResponseMetadata {
  httpStatusCode?: number;
  requestId?: string;
  attempts: number;
  totalRetryDelay: number;
}

/** AssumeRole's input, as the SDK names it (the fields crosslink sends). */
export interface AssumeRoleInput {
  RoleArn: string;
  RoleSessionName: string;
  DurationSeconds?: number;
  ExternalId?: string;
}

export interface AssumeRoleOutput {
  Credentials?: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string; Expiration: Date };
  $metadata: ResponseMetadata;
}

/** The AssumeRole command, as the SDK's. */
export class AssumeRoleCommand {
  readonly input: AssumeRoleInput;
  constructor(input: AssumeRoleInput) {
    this.input = input;
  }
}

/** An error STS answered (SDK: `STSServiceException`): `name` is the error's shape or code. */
export class StsServiceException extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: ResponseMetadata;
  constructor(name: string, message: string, fault: 'client' | 'server', metadata: ResponseMetadata) {
    super(message);
    this.name = name;
    this.$fault = fault;
    this.$metadata = metadata;
  }
}

/** AssumeRole's modelled errors: the awsQuery code -> the error shape the SDK names the exception after. */
const MODELLED: Record<string, string> = {
  ExpiredTokenException: 'ExpiredTokenException',
  MalformedPolicyDocument: 'MalformedPolicyDocumentException',
  PackedPolicyTooLarge: 'PackedPolicyTooLargeException',
  RegionDisabledException: 'RegionDisabledException',
};

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** The endpoint the SDK's STS client resolves for `region` (regional endpoints, no FIPS or dual-stack). */
export function stsEndpoint(config: StsClientConfig, env: NodeJS.ProcessEnv = process.env): URL {
  const configured = config.endpoint ?? env.AWS_ENDPOINT_URL_STS ?? env.AWS_ENDPOINT_URL;
  if (configured) return new URL(configured);
  if (!REGION.test(config.region))
    throw new Error(`StsClient region: "${config.region}" is not an AWS region such as us-east-1`);
  if (/^[a-z]{2}-iso/.test(config.region))
    throw new Error(
      `StsClient region: "${config.region}" is in an isolated partition crosslink does not use`,
    );
  const suffix = config.region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return new URL(`https://sts.${config.region}.${suffix}`);
}

/** The text of the first `<tag>` element of `xml` (entities decoded), or undefined. */
export function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  if (!m) return undefined;
  return (m[1] as string).replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, e: string) => {
    if (e[0] === '#')
      return String.fromCodePoint(e[1] === 'x' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[e] as string;
  });
}

export class StsClient {
  readonly #endpoint: URL;
  readonly #signer: SignatureV4;
  readonly #http = new NodeHttpHandler();
  readonly #retry: StandardRetryStrategy;

  constructor(config: StsClientConfig) {
    if (!config.region) throw new Error('StsClient region: required (config.region or AWS_REGION)');
    this.#endpoint = stsEndpoint(config);
    const creds = config.credentials;
    this.#signer = new SignatureV4({
      service: 'sts',
      region: config.region,
      sha256: Sha256,
      credentials: typeof creds === 'function' ? creds : creds ? async () => creds : defaultProvider(),
    });
    this.#retry = new StandardRetryStrategy(config.maxAttempts ?? 3);
  }

  async send(command: AssumeRoleCommand): Promise<AssumeRoleOutput> {
    const { RoleArn, RoleSessionName, DurationSeconds, ExternalId } = command.input;
    const form = new URLSearchParams({ Action: 'AssumeRole', Version: VERSION, RoleArn, RoleSessionName });
    if (DurationSeconds !== undefined) form.set('DurationSeconds', String(DurationSeconds));
    if (ExternalId !== undefined) form.set('ExternalId', ExternalId);
    const body = form.toString();
    let token = await this.#retry.acquireInitialRetryToken('sts');
    let totalRetryDelay = 0;
    for (let attempts = 1; ; attempts++) {
      try {
        const out = await this.#call(body, { attempts, totalRetryDelay });
        this.#retry.recordSuccess(token);
        return out;
      } catch (error) {
        // A service error or a network one (Node.js's `code`), classified as the SDK's retry middleware does.
        const e = error as Parameters<typeof isTransientError>[0];
        const errorType = isThrottlingError(e)
          ? 'THROTTLING'
          : isTransientError(e)
            ? 'TRANSIENT'
            : isServerError(e)
              ? 'SERVER_ERROR'
              : 'CLIENT_ERROR';
        try {
          token = await this.#retry.refreshRetryTokenForRetry(token, { errorType });
        } catch {
          throw error;
        }
        totalRetryDelay += token.$retryLog?.acquisitionDelay ?? 0;
      }
    }
  }

  async #call(body: string, retries: Omit<ResponseMetadata, 'httpStatusCode'>): Promise<AssumeRoleOutput> {
    const url = this.#endpoint;
    const request = new HttpRequest({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname || '/',
      headers: {
        host: url.host,
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'content-length': String(Buffer.byteLength(body)),
      },
      body,
    });
    const signed = (await this.#signer.sign(request)) as HttpRequest;
    const { response } = await this.#http.handle(signed);
    const chunks: Buffer[] = [];
    for await (const c of response.body as AsyncIterable<Buffer>) chunks.push(c);
    const xml = Buffer.concat(chunks).toString('utf8');
    const metadata: ResponseMetadata = {
      httpStatusCode: response.statusCode,
      requestId: xmlText(xml, 'RequestId') ?? String(response.headers['x-amzn-requestid'] ?? ''),
      ...retries,
    };
    if (response.statusCode < 200 || response.statusCode >= 300) {
      const code = xmlText(xml, 'Code') ?? `Http${response.statusCode}`;
      const fault = xmlText(xml, 'Type') === 'Receiver' || response.statusCode >= 500 ? 'server' : 'client';
      throw new StsServiceException(
        MODELLED[code] ?? code,
        xmlText(xml, 'Message') ?? `HTTP ${response.statusCode}`,
        fault,
        metadata,
      );
    }
    const AccessKeyId = xmlText(xml, 'AccessKeyId');
    const SecretAccessKey = xmlText(xml, 'SecretAccessKey');
    const SessionToken = xmlText(xml, 'SessionToken');
    const expiration = xmlText(xml, 'Expiration');
    if (!AccessKeyId || !SecretAccessKey || !SessionToken || !expiration) return { $metadata: metadata };
    const Expiration = new Date(expiration);
    if (Number.isNaN(Expiration.getTime()))
      throw new Error(`AssumeRole answered an Expiration that is not a date: "${expiration}"`);
    return { Credentials: { AccessKeyId, SecretAccessKey, SessionToken, Expiration }, $metadata: metadata };
  }
}
