/**
 * The AWS half, wired for workflow tests in the local cloud: the real ASL files on the local Step
 * Functions (each `Fn::GetAtt` of a step resolved to a local Lambda, as the packaged template does),
 * the step functions registered as in-process Lambdas, the DynamoDB store on dynalite, the
 * EventBridge sink and the Interconnect adapter on the edge. Secrets Manager and KMS reach the edge
 * with #3b; until then the secret store is in memory and the unwrap is the test's own RSA key.
 */
import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { DirectConnectClient } from '@aws-sdk/client-direct-connect';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  CreateStateMachineCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
// @ts-expect-error dynalite ships no types
import dynalite from 'dynalite';
import { parse as parseYaml } from 'yaml';
import { EventBridgeSink } from '#aws/event-sink.ts';
import { DirectConnectGatewayPrefixes } from '#aws/gateway-prefixes.ts';
import { InterconnectHalves } from '#aws/halves.ts';
import type { IntakeDeps } from '#aws/intake.ts';
import { DynamoDbLinkStore } from '#aws/link-store.ts';
import { InterconnectEnvironments } from '#aws/offerings.ts';
import { sfnExecutions } from '#aws/ports/step-functions.ts';
import { perRegion } from '#aws/runtime.ts';
import { compensateRun, verifyPrefixes } from '#aws/steps.ts';
import { activateAccept, activateInitiate, keyDeadline } from '#core/link/activate.ts';
import { approvalDeadline } from '#core/link/approve.ts';
import {
  confirmDeleted,
  decommissionDeadline,
  decommissionRequest,
  deleteOwnHalf,
  drainCheck,
} from '#core/link/decommission.ts';
import { request } from '#core/link/request.ts';
import { pollHalf, report } from '#core/link/verify.ts';
import { park } from '#core/link/waits.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { networkOf } from '#local/aws/common/network.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { LocalCloud } from '#local/index.ts';
import { createLinksTable } from './links-table.ts';
import { ADMIN_CREDENTIALS, interconnectClient, putServiceRole } from './local-cloud.ts';
import { MemorySecretStore } from './memory-secrets.ts';

export const ACCOUNT = '000000000000';
export const REGION = 'us-east-1';
/** The estate's Direct Connect gateway in us-east-1 (config/local-estate.yaml). */
export const GATEWAY = '90392BE3-219C-47FD-BBA5-03DF76D2542A';

/** A prod link AWS first between the estate's gateway and payments-prod (alice may request it). */
export const LINK_REQUEST = {
  name: 'payments-east',
  initiator: 'aws',
  bandwidth: '1Gbps',
  environment: 'prod',
  residency: 'US',
  aws: { accountId: ACCOUNT, region: REGION, directConnectGateway: GATEWAY, routes: ['10.10.0.0/16'] },
  gcp: { project: 'payments-prod', region: 'us-east4', network: 'payments-vpc', routes: ['10.20.0.0/16'] },
};
const ROLE = `arn:aws:iam::${ACCOUNT}:role/crosslink-states`;

/** Replaces every `{"Fn::GetAtt": [fn, "Arn"]}` with the local function's ARN, as the template does. */
export function resolveDefinition(file: string, arnOf: (fn: string) => string): string {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const g = o['Fn::GetAtt'];
      if (Array.isArray(g)) return arnOf(g[0] as string);
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return JSON.stringify(walk(JSON.parse(readFileSync(file, 'utf8'))));
}

/**
 * A Direct Connect gateway for the links to attach to, associated with a VPC (behind a virtual private
 * gateway) whose CIDRs become the association's allowed prefixes: what verify checks the AWS routes
 * against.
 */
export async function addAssociatedGateway(cloud: LocalCloud, gateway: string, vpcCidrs: string[]) {
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${cloud.admin}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  };
  await post('/aws/interconnect/add-gateway', { accountId: ACCOUNT, id: gateway, name: 'payments' });
  const net = networkOf(cloud.aws.edge.world);
  const vpc = net.addVpc({ accountId: ACCOUNT, region: REGION, cidrBlocks: vpcCidrs });
  const vgw = net.createVpnGateway({ accountId: ACCOUNT, region: REGION });
  net.attachVpnGateway(vgw.vpnGatewayId, vpc.vpcId);
  await post('/aws/directconnect/associate', {
    accountId: ACCOUNT,
    dxGatewayId: gateway,
    gatewayId: vgw.vpnGatewayId,
  });
}

export const STEP_FUNCTIONS = {
  stepRequest: request,
  stepPark: park,
  stepApprovalDeadline: approvalDeadline,
  stepKeyDeadline: keyDeadline,
  stepActivateInitiate: activateInitiate,
  stepActivateAccept: activateAccept,
  stepPollHalf: pollHalf,
  stepVerifyPrefixes: verifyPrefixes,
  stepReport: report,
  stepCompensate: compensateRun,
  stepDecommissionRequest: decommissionRequest,
  stepDecommissionDeadline: decommissionDeadline,
  stepDrainCheck: drainCheck,
  stepDeleteOwnHalf: deleteOwnHalf,
  stepConfirmDeleted: confirmDeleted,
} as const;

export interface AwsHalf {
  deps: IntakeDeps;
  sfn: SFNClient;
  secrets: MemorySecretStore;
  /** This side's RSA key pair, standing in for its asymmetric KMS key (the peer seals to its public half). */
  ownKey: { publicKeyPem: string; keyId: string };
  /** The Google side's key pair: what this side seals to, and what the test opens with. */
  peerPrivateKeyPem: string;
  gateway: string;
  /** What the approval deadlines published (in Lambda: EMF through Powertools Metrics). */
  metrics: { name: 'pending' | 'escalated'; stage: string; ageMs?: number }[];
  stop(): Promise<void>;
}

export async function startAwsHalf(
  cloud: LocalCloud,
  options: {
    escalateAfterMs?: number;
    expireAfterMs?: number;
    policyFile?: string;
    /** The CIDRs of the VPC associated with the gateway (its allowed prefixes); default 10.10.0.0/16. */
    vpcCidrs?: string[];
    manageAllowedPrefixes?: boolean;
    prefixWaitMs?: number;
    drainWaitMs?: number;
    drainSoakMs?: number;
  } = {},
): Promise<AwsHalf> {
  const config = { region: REGION, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const ddb = new DynamoDBClient({
    ...config,
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  });
  await createLinksTable(ddb, 'crosslink-links');
  const eb = new EventBridgeClient(config);
  await eb.send(new CreateEventBusCommand({ Name: 'crosslink' }));
  const sfn = new SFNClient(config);

  const own = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const peer = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ownKey = {
    publicKeyPem: own.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    keyId: `arn:aws:kms:${REGION}:${ACCOUNT}:key/8f1c2b6e-4a1d-4c35-9d0e-3b7a51c2e9f0`,
  };
  const secrets = new MemorySecretStore();
  const policy = loadPolicy(parseYaml(readFileSync(options.policyFile ?? 'config/policy.yaml', 'utf8')));
  const gateway = '90392BE3-219C-47FD-BBA5-03DF76D2542A';
  await addAssociatedGateway(cloud, gateway, options.vpcCidrs ?? ['10.10.0.0/16']);
  const interconnect = perRegion((region) => interconnectClient(cloud, { region }));

  const recorded: AwsHalf['metrics'] = [];
  const deps: IntakeDeps = {
    store: new DynamoDbLinkStore(ddb, 'crosslink-links', cloud.clock),
    events: new EventBridgeSink(eb, { busName: 'crosslink' }),
    policy,
    clock: cloud.clock,
    origin: { cloud: 'aws', accountId: ACCOUNT, region: REGION },
    halves: new InterconnectHalves({
      clientFor: interconnect,
      regions: [...new Set(policy.document.regionPairs.map((p) => p.aws))],
      environments: new InterconnectEnvironments({ clientFor: interconnect }),
      secrets,
    }),
    prefixes: new DirectConnectGatewayPrefixes(
      perRegion((region) => new DirectConnectClient({ ...config, region })),
      REGION,
    ),
    secrets,
    tokens: {
      success: async (taskToken, output) => {
        await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
      },
      failure: async (taskToken, error, cause) => {
        await sfn.send(new SendTaskFailureCommand({ taskToken, error, cause }));
      },
    },
    metrics: {
      pending: (stage, ageMs) => recorded.push({ name: 'pending', stage, ageMs }),
      escalated: (stage) => recorded.push({ name: 'escalated', stage }),
    },
    ownKeyId: ownKey.keyId,
    unwrap: async (wrapped) =>
      privateDecrypt(
        { key: own.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        wrapped,
      ),
    settings: {
      escalateAfterMs: options.escalateAfterMs ?? 24 * 3_600_000,
      expireAfterMs: options.expireAfterMs ?? 72 * 3_600_000,
      pollEveryMs: 3_600_000,
      peerKey: {
        publicKeyPem: peer.publicKey.export({ type: 'spki', format: 'pem' }) as string,
        keyId:
          'projects/payments-prod/locations/us-east4/keyRings/crosslink/cryptoKeys/activation/cryptoKeyVersions/1',
      },
      tags: { 'cost-centre': 'network' },
      manageAllowedPrefixes: options.manageAllowedPrefixes ?? false,
      prefixWaitMs: options.prefixWaitMs ?? 30 * 60_000,
      drainWaitMs: options.drainWaitMs ?? 6 * 3_600_000,
      drainSoakMs: options.drainSoakMs ?? 10 * 60_000,
    },
    executions: sfnExecutions(sfn),
    stateMachines: { provisioning: '', decommissioning: '' },
  };

  const runtime = lambdaRuntime(cloud.aws.edge.world, ACCOUNT, REGION);
  for (const [name, fn] of Object.entries(STEP_FUNCTIONS)) {
    runtime.register({
      name,
      timeout: 30,
      // biome-ignore lint/suspicious/noExplicitAny: each step takes its own input shape.
      handler: async (event: unknown) => (fn as (d: IntakeDeps, e: any) => Promise<unknown>)(deps, event),
    });
  }
  const arnOf = (fn: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${fn}`;
  // The machines' role: Step Functions invokes the steps with it.
  await putServiceRole(
    cloud,
    ROLE.split('/').pop() as string,
    'states.amazonaws.com',
    ['lambda:InvokeFunction'],
    [arnOf('*')],
  );
  for (const [key, file] of [
    ['provisioning', 'workflows/aws/link-provisioning.asl.json'],
    ['decommissioning', 'workflows/aws/link-decommissioning.asl.json'],
  ] as const) {
    const out = await sfn.send(
      new CreateStateMachineCommand({
        name: `crosslink-link-${key}`,
        definition: resolveDefinition(file, arnOf),
        roleArn: ROLE,
      }),
    );
    deps.stateMachines[key] = out.stateMachineArn as string;
  }

  return {
    deps,
    sfn,
    secrets,
    ownKey,
    peerPrivateKeyPem: peer.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    gateway,
    metrics: recorded,
    stop: async () => {
      for (const name of Object.keys(STEP_FUNCTIONS)) runtime.remove(name);
      eb.destroy();
      sfn.destroy();
      ddb.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
