/**
 * The AWS side of the AWS -> Google relay: its configuration from the Lambda environment, a Pub/Sub
 * publisher authenticated by workload identity federation (no stored Google key), and the SQS
 * dead-letter queue with a `reason` attribute.
 *
 * The federation is an external-account configuration with an AWS credential source
 * (`credential_source.environment_id: aws1`, google-federation.ts): a GetCallerIdentity request
 * signed with the function's own AWS credentials (the subject token) is exchanged at Google STS
 * (`token_url`) and, when the config names one, a service account is impersonated. The token is
 * asked for (`getAccessToken()`) before every publish, and the publish goes over REST with it as
 * the bearer token: the Pub/Sub emulator ignores auth, so a refused exchange must (and does) fail
 * the publish itself.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type Issue, ValidationError } from '#core/errors.ts';
import { AWS_SUBJECT_TOKEN_TYPE, awsFederatedTokens, type GoogleTokenSource } from './google-federation.ts';
import type { DeadLetters, PeerPublisher, RelayMessage } from './relay-to-google.ts';

const AWS_SUBJECT_TOKEN = AWS_SUBJECT_TOKEN_TYPE;
const PUBSUB_SCOPE = 'https://www.googleapis.com/auth/pubsub';

/** The external-account credential configuration (what `gcloud iam workload-identity-pools create-cred-config` writes). */
export interface ExternalAccountConfig {
  type: 'external_account';
  audience: string;
  subject_token_type: string;
  token_url: string;
  service_account_impersonation_url?: string;
  service_account_impersonation?: { token_lifetime_seconds?: number };
  credential_source: {
    environment_id: string;
    regional_cred_verification_url: string;
    region_url?: string;
    url?: string;
    imdsv2_session_token_url?: string;
  };
  [k: string]: unknown;
}

export interface GoogleRelayConfig {
  project: string;
  topic: string;
  /** Pub/Sub's REST origin: `https://pubsub.googleapis.com`, locally the emulator (`http://host:port`). */
  pubsubEndpoint: string;
  externalAccount: ExternalAccountConfig;
  deadLetterQueueUrl: string;
  maxReceives: number;
}

type Env = Record<string, string | undefined>;

/** Reads and checks the relay's configuration; a ValidationError names every bad variable. */
export function googleRelayConfig(env: Env): GoogleRelayConfig {
  const issues: Issue[] = [];
  const need = (name: string, re?: RegExp, what?: string): string => {
    const v = env[name];
    if (!v) issues.push({ path: name, reason: 'is not set' });
    else if (re && !re.test(v))
      issues.push({ path: name, reason: `must be ${what}, got "${v.slice(0, 80)}"` });
    return v ?? '';
  };
  const project = need('CROSSLINK_GCP_PROJECT', /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/, 'a Google project id');
  const topic = need('CROSSLINK_GCP_PEER_TOPIC', /^[A-Za-z][-A-Za-z0-9._~%+]{2,254}$/, 'a Pub/Sub topic id');
  const pubsubEndpoint = (env.CROSSLINK_PUBSUB_ENDPOINT || 'https://pubsub.googleapis.com').replace(
    /\/+$/,
    '',
  );
  if (!/^https?:\/\/[^/]+$/.test(pubsubEndpoint))
    issues.push({ path: 'CROSSLINK_PUBSUB_ENDPOINT', reason: 'must be an http(s) origin' });
  const deadLetterQueueUrl = need('CROSSLINK_RELAY_DLQ_URL', /^https?:\/\//, 'an SQS queue URL');
  const maxText = need('CROSSLINK_RELAY_MAX_RECEIVES', /^[1-9]\d*$/, 'a positive integer');
  const externalAccount = externalAccountOf(env.CROSSLINK_GCP_EXTERNAL_ACCOUNT, issues);
  if (issues.length > 0) throw new ValidationError(issues, 'relay configuration');
  return {
    project,
    topic,
    pubsubEndpoint,
    externalAccount: externalAccount as ExternalAccountConfig,
    deadLetterQueueUrl,
    maxReceives: Number(maxText),
  };
}

function externalAccountOf(text: string | undefined, issues: Issue[]): ExternalAccountConfig | undefined {
  const V = 'CROSSLINK_GCP_EXTERNAL_ACCOUNT';
  if (!text) {
    issues.push({ path: V, reason: 'is not set (the external-account credential configuration, JSON)' });
    return undefined;
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    issues.push({ path: V, reason: 'is not JSON' });
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    issues.push({ path: V, reason: 'must be a JSON object' });
    return undefined;
  }
  const before = issues.length;
  const str = (k: string, v: unknown) => {
    if (typeof v !== 'string' || v === '') issues.push({ path: `${V}.${k}`, reason: 'is required' });
  };
  if (json.type !== 'external_account')
    issues.push({ path: `${V}.type`, reason: 'must be "external_account"' });
  str('audience', json.audience);
  if (json.subject_token_type !== AWS_SUBJECT_TOKEN)
    issues.push({
      path: `${V}.subject_token_type`,
      reason: `must be "${AWS_SUBJECT_TOKEN}" (an AWS source)`,
    });
  str('token_url', json.token_url);
  const source = json.credential_source as Record<string, unknown> | undefined;
  if (typeof source !== 'object' || source === null) {
    issues.push({ path: `${V}.credential_source`, reason: 'is required' });
  } else {
    if (source.environment_id !== 'aws1')
      issues.push({ path: `${V}.credential_source.environment_id`, reason: 'must be "aws1"' });
    str('credential_source.regional_cred_verification_url', source.regional_cred_verification_url);
  }
  const lifetime = (json.service_account_impersonation as { token_lifetime_seconds?: unknown } | undefined)
    ?.token_lifetime_seconds;
  if (
    lifetime !== undefined &&
    !(typeof lifetime === 'number' && Number.isInteger(lifetime) && lifetime >= 600 && lifetime <= 43200)
  )
    issues.push({
      path: `${V}.service_account_impersonation.token_lifetime_seconds`,
      reason: 'must be an integer from 600 to 43200',
    });
  if (json.aws_security_credentials_supplier !== undefined)
    issues.push({
      path: `${V}.aws_security_credentials_supplier`,
      reason: 'is not allowed: the source is the function role',
    });
  return issues.length === before ? (json as ExternalAccountConfig) : undefined;
}

/** The Pub/Sub token source of a configuration googleRelayConfig checked (an AWS source only). */
export function federatedClient(config: ExternalAccountConfig): GoogleTokenSource {
  return awsFederatedTokens(config, [PUBSUB_SCOPE]);
}

/** A token exchange that Google refused (or that could not be made): the publish fails with it. */
export class TokenExchangeError extends Error {
  override name = 'TokenExchangeError';
}

/** Pub/Sub refused or failed a publish (status and Google's error status, never the body sent). */
export class PublishError extends Error {
  override name = 'PublishError';
}

/** Publishes to `projects/<project>/topics/<topic>` with a token from the explicit exchange. */
export function federatedPublisher(options: {
  client: GoogleTokenSource;
  pubsubEndpoint: string;
  project: string;
  topic: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}): PeerPublisher {
  const doFetch = options.fetch ?? fetch;
  const url = `${options.pubsubEndpoint}/v1/projects/${options.project}/topics/${encodeURIComponent(options.topic)}:publish`;
  return {
    async publish(message: RelayMessage): Promise<string> {
      let token: string;
      try {
        token = (await options.client.getAccessToken()).token;
      } catch (e) {
        throw new TokenExchangeError(`Google token exchange refused: ${(e as Error).message}`);
      }
      const res = await doFetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          messages: [{ data: message.data.toString('base64'), attributes: message.attributes }],
        }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      const text = await res.text();
      let json: { messageIds?: string[]; error?: { status?: string; message?: string } } = {};
      try {
        json = JSON.parse(text) as typeof json;
      } catch {
        // An emulator or proxy answering plain text: reported by status below.
      }
      if (!res.ok || !json.messageIds?.[0]) {
        throw new PublishError(
          `Pub/Sub publish to ${options.topic}: ${res.status} ${json.error?.status ?? ''} ${json.error?.message ?? ''}`.trim(),
        );
      }
      return json.messageIds[0];
    },
  };
}

/** The relay's dead-letter queue: the record's body as sent, with `reason` and `messageId` attributes. */
export function sqsDeadLetters(sqs: Pick<SQSClient, 'send'>, queueUrl: string): DeadLetters {
  return {
    async send(record, reason) {
      const command = new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: record.body.length > 0 ? record.body : '(empty)',
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: reason.slice(0, 1000) },
          sourceMessageId: { DataType: 'String', StringValue: record.messageId },
        },
      });
      await sqs.send(command);
    },
  };
}
