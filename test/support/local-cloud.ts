/**
 * Starts a private local cloud for a test file: free ports, manual clock, seeded faults. Use
 * `const cloud = await useLocalCloud()` at module level inside `describe`, or call
 * `startTestCloud()` in `beforeAll` and `stop()` in `afterAll`.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { AddPermissionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import {
  CreateConnectionCommand,
  InterconnectClient,
  type InterconnectClientConfig,
  ListAttachPointsCommand,
} from '#aws/interconnect-client.ts';
import { jwtClient } from '#gcp/google-credentials.ts';
import { TransportClient } from '#gcp/transport-client.ts';
import type { EmulatorOptions, Emulators } from '#local/gcp/emulators.ts';
import { DEFAULT_HUB_PROJECT } from '#local/gcp/index.ts';
import { DEFAULT_IDENTITIES_FILE } from '#local/identities.ts';
import { type LocalCloud, type LocalCloudOptions, startLocalCloud } from '#local/index.ts';
import { leaseEmulators, leaseProject } from './emulators.ts';

export const ADMIN_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;
export const ALICE_CREDENTIALS = {
  accessKeyId: 'AKIALOCALALICE000001',
  secretAccessKey: 'alice-local-secret',
} as const;

/**
 * Starts a private local cloud for a test file: free ports, manual clock, seeded faults. Use
 * `const cloud = await useLocalCloud()` at module level inside `describe`, or call
 * `startTestCloud()` in `beforeAll` and `stop()` in `afterAll`.
 *
 * A cloud that asks for emulators (`emulators: true` or options) gets the run's shared ones
 * (test/support/emulators.ts) instead of starting its own; options that turn one emulator off
 * (`{firestore: false}`) leave that one out of the cloud. Its Google hub project is the lease's
 * project, so its topics, subscriptions, push deliveries and Firestore documents are its own. A
 * cloud given running emulators (a handle) gets a leased project too. A test that names its
 * project (`gcp.project`) keeps it.
 *
 * The hub's service accounts of config/local-identities.yaml (`<id>@crosslink-local.iam...`, the
 * default hub) are then in the leased project (`hubIdentities`), as a deployment's own service
 * accounts are in its hub project: gcp.yml's `serviceAccount:crosslink` names the `crosslink`
 * identity in whichever project the cloud is.
 */
export async function startTestCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const asked = options.emulators ?? false;
  const base: LocalCloudOptions = {
    ports: 0,
    clock: { mode: 'manual', start: '2026-06-01T00:00:00Z' },
    seed: 42,
    log: () => {},
    ...options,
  };
  if (asked === false) return startLocalCloud(base);
  let emulators: Emulators;
  let project = options.gcp?.project;
  if (typeof asked === 'object' && 'stop' in asked) {
    emulators = asked;
    project ??= await leaseProject();
  } else {
    const lease = await leaseEmulators();
    const only: EmulatorOptions = asked === true ? {} : asked;
    emulators = {
      ...lease.emulators,
      pubsubHost: only.pubsub === false ? null : lease.emulators.pubsubHost,
      firestoreHost: only.firestore === false ? null : lease.emulators.firestoreHost,
    };
    project ??= lease.project;
  }
  const dir = mkdtempSync(join(tmpdir(), 'crosslink-identities-'));
  const identitiesFile = join(dir, 'local-identities.yaml');
  writeFileSync(identitiesFile, hubIdentities(project, options.identitiesFile));
  try {
    return await startLocalCloud({ ...base, identitiesFile, emulators, gcp: { ...options.gcp, project } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * config/local-identities.yaml (or `file`) with the default hub's service accounts
 * (`<id>@crosslink-local.iam.gserviceaccount.com`) in `project` instead.
 */
export function hubIdentities(project: string, file = DEFAULT_IDENTITIES_FILE): string {
  return readFileSync(file, 'utf8').replaceAll(
    `@${DEFAULT_HUB_PROJECT}.iam.gserviceaccount.com`,
    `@${project}.iam.gserviceaccount.com`,
  );
}

/** An SDK client's configuration for calls to the cloud's AWS edge as `credentials`, without retries. */
export function callerConfig(
  cloud: LocalCloud,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
) {
  return { region: 'us-east-1', endpoint: cloud.aws.endpoint, credentials, maxAttempts: 1 };
}

export function interconnectClient(
  cloud: LocalCloud,
  config: InterconnectClientConfig = {},
): InterconnectClient {
  return new InterconnectClient({
    region: 'us-east-1',
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
    retryBaseDelayMs: 5,
    throttlingRetryBaseDelayMs: 5,
    ...config,
  });
}

/** Our TransportManager client on the local Google edge (us-east4 by default); polls advance the clock. */
export function transportClient(cloud: LocalCloud, location = 'us-east4'): TransportClient {
  return new TransportClient({
    project: cloud.gcp.project,
    location,
    endpoint: cloud.gcp.endpoint,
    auth: jwtClient(cloud.gcp.auth.keyFile('crosslink')),
    sleep: (ms) => cloud.clock.advance(ms),
    retryBaseDelayMs: 1,
  });
}

/**
 * A link up on both sides, AWS first: a connection on `directConnectGateway` (default the
 * environment's first attach point), its key redeemed by a transport `transportId` in `network`, and
 * the clock moved past both providers' delays.
 */
export async function upLink(
  cloud: LocalCloud,
  transportId: string,
  options: {
    network?: string;
    advertisedRoutes?: string[];
    environmentId?: string;
    directConnectGateway?: string;
  } = {},
): Promise<{ id: string; sharedId: string; gateway: string }> {
  const aws = interconnectClient(cloud);
  const environmentId = options.environmentId ?? 'mce-aws-gcp-iad';
  const gateway =
    options.directConnectGateway ??
    (await aws.send(new ListAttachPointsCommand({ environmentId }))).attachPoints[0]?.identifier;
  if (!gateway) throw new Error(`no attach point in ${environmentId}`);
  const conn = (
    await aws.send(
      new CreateConnectionCommand({
        bandwidth: '1Gbps',
        environmentId,
        attachPoint: { directConnectGateway: gateway },
        remoteAccount: { identifier: cloud.gcp.project },
      }),
    )
  ).connection;
  if (!conn?.activationKey) throw new Error('CreateConnection gave no key');
  await transportClient(cloud).createTransport(transportId, {
    network: options.network ?? 'projects/crosslink-local/global/networks/core',
    providedActivationKey: conn.activationKey,
    ...(options.advertisedRoutes ? { advertisedRoutes: options.advertisedRoutes } : {}),
  });
  await cloud.clock.advance(10 * 60_000);
  return { id: conn.id, sharedId: conn.sharedId, gateway };
}

/** Calls the admin API; throws with the admin error when the status is not 2xx. */
// biome-ignore lint/suspicious/noExplicitAny: admin answers are read ad hoc in tests.
export async function admin<T = any>(
  cloud: Pick<LocalCloud, 'admin'>,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${cloud.admin}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as T & { error?: { code: string; message: string } };
  if (!res.ok)
    throw Object.assign(new Error(json.error?.message ?? `HTTP ${res.status}`), {
      status: res.status,
      ...json.error,
    });
  return json;
}

/**
 * Creates (or replaces) an IAM role in the cloud's account that the AWS `service`
 * (`states.amazonaws.com`, `events.amazonaws.com`, `lambda.amazonaws.com`) may assume, allowed
 * `actions` on `resources`: what a state machine's, a rule target's or a function's role grants.
 */
export async function putServiceRole(
  cloud: LocalCloud,
  roleName: string,
  service: string,
  actions: string[],
  resources: string[] = ['*'],
): Promise<string> {
  const { role } = await admin<{ role: { arn: string } }>(cloud, 'POST', '/aws/sts/put-role', {
    accountId: cloud.aws.accountId,
    roleName,
    trustPolicy: {
      Version: '2012-10-17',
      Statement: { Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' },
    },
    policies: {
      grants: { Version: '2012-10-17', Statement: { Effect: 'Allow', Action: actions, Resource: resources } },
    },
  });
  return role.arn;
}

/**
 * Lets an AWS service acting for the cloud's account (EventBridge rules by default, or API
 * Gateway: `apigateway.amazonaws.com`) send to a queue or invoke a function, as a deployment does
 * with a queue policy or a Lambda permission: the service calls as its service principal and the
 * target's resource policy decides.
 */
export async function letServiceCall(
  cloud: LocalCloud,
  targetArn: string,
  service = 'events.amazonaws.com',
): Promise<void> {
  const config = { region: cloud.aws.region, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
  const account = cloud.aws.accountId;
  const [, , target, region, owner, name] = targetArn.split(':');
  if (target === 'sqs') {
    const sqs = new SQSClient(config);
    try {
      await sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: `${cloud.aws.endpoint}/${owner}/${name}`,
          Attributes: {
            Policy: JSON.stringify({
              Version: '2012-10-17',
              Statement: {
                Effect: 'Allow',
                Principal: { Service: service },
                Action: 'sqs:SendMessage',
                Resource: targetArn,
                Condition: { StringEquals: { 'aws:SourceAccount': account } },
              },
            }),
          },
        }),
      );
    } finally {
      sqs.destroy();
    }
    return;
  }
  if (target === 'lambda') {
    const lambda = new LambdaClient({ ...config, region: region as string });
    try {
      await lambda.send(
        new AddPermissionCommand({
          FunctionName: targetArn,
          StatementId: service.split('.')[0],
          Action: 'lambda:InvokeFunction',
          Principal: service,
          SourceAccount: account,
        }),
      );
    } finally {
      lambda.destroy();
    }
    return;
  }
  throw new Error(`letServiceCall: no resource policy for ${targetArn}`);
}

/**
 * An EventBridge client that puts events as one of crosslink's roles would: a session of a
 * `crosslink-relay-*` role (which the deployed bus's policy admits, its Deny included) allowed
 * events:PutEvents on the bus named `busName`, assumed by the account's root. For tests that play
 * this side's functions on the deployed bus.
 */
export async function crosslinkPutter(
  cloud: Pick<LocalCloud, 'admin'> & { aws: { endpoint: string; region: string; accountId: string } },
  busName: string,
): Promise<EventBridgeClient> {
  const busArn = `arn:aws:events:${cloud.aws.region}:${cloud.aws.accountId}:event-bus/${busName}`;
  await admin(cloud, 'POST', '/aws/sts/put-role', {
    accountId: cloud.aws.accountId,
    roleName: 'crosslink-relay-test',
    trust: [cloud.aws.accountId],
    policies: {
      put: {
        Version: '2012-10-17',
        Statement: { Effect: 'Allow', Action: 'events:PutEvents', Resource: busArn },
      },
    },
  });
  const config = { region: cloud.aws.region, endpoint: cloud.aws.endpoint };
  const sts = new STSClient({ ...config, credentials: ADMIN_CREDENTIALS });
  try {
    const { Credentials: c } = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${cloud.aws.accountId}:role/crosslink-relay-test`,
        RoleSessionName: 'test',
      }),
    );
    return new EventBridgeClient({
      ...config,
      credentials: {
        accessKeyId: c?.AccessKeyId as string,
        secretAccessKey: c?.SecretAccessKey as string,
        sessionToken: c?.SessionToken as string,
      },
    });
  } finally {
    sts.destroy();
  }
}
