/**
 * The AWS half's dependencies built from the Lambda environment, once per cold start. Handlers take
 * them as a parameter with this as the default, so a test passes its own without mocking modules.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DirectConnectClient } from '@aws-sdk/client-direct-connect';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';
import { parse as parseYaml } from 'yaml';
import { InterconnectClient } from '#aws/interconnect-client.ts';
import { parseDuration, systemClock } from '#core/clock.ts';
import { costTags, need, stepSettings } from '#core/link/settings.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { AccountRoutedHalves, AccountRoutedPrefixes, accountPlacement } from './account-halves.ts';
import { approvalMetrics } from './approval-metrics.ts';
import { type AccountRoles, credentialsFor } from './assume-role.ts';
import { AccountRoutedBgpSessions, DirectConnectBgpSessions } from './bgp-sessions.ts';
import { DynamoDbLinkStore } from './dynamodb-link-store.ts';
import { InterconnectEnvironments } from './environments.ts';
import { EventBridgeSink } from './eventbridge-sink.ts';
import { DirectConnectGatewayPrefixes } from './gateway-prefixes.ts';
import { InterconnectHalves } from './interconnect-adapter.ts';
import { kmsUnwrap } from './kms-unwrap.ts';
import type { Executions, IntakeDeps } from './link-intake.ts';
import { SecretsManagerStore } from './secret-store.ts';

let cached: IntakeDeps | undefined;

/** Builds (once) the dependencies every handler uses. */
export function depsFromEnv(env: NodeJS.ProcessEnv = process.env): IntakeDeps {
  if (cached) return cached;
  const region = need(env, 'AWS_REGION');
  const accountId = need(env, 'CROSSLINK_ACCOUNT_ID');
  const policyFile =
    env.CROSSLINK_POLICY_FILE ?? join(env.LAMBDA_TASK_ROOT ?? process.cwd(), 'config/policy.yaml');
  const policy = loadPolicy(parseYaml(readFileSync(policyFile, 'utf8')));
  const roles = JSON.parse(env.CROSSLINK_ACCOUNT_ROLES ?? '{}') as AccountRoles;
  const sts = new STSClient({ region });
  const secrets = new SecretsManagerStore(
    new SecretsManagerClient({ region }),
    env.CROSSLINK_SECRET_PREFIX ?? 'crosslink',
    costTags(env),
  );
  // Interconnect and Direct Connect clients per account and region: the hub's own (the function's
  // role) and each network account's (its role from CROSSLINK_ACCOUNT_ROLES, assumed with STS); in
  // each AWS region of the policy, because a link's half lives in its request's account and region.
  const endpoint = env.AWS_ENDPOINT_URL ? { endpoint: env.AWS_ENDPOINT_URL } : {};
  const regions = [...new Set(policy.document.regionPairs.map((p) => p.aws))];
  const clientsFor = (account: string | undefined) => {
    const credentials = credentialsFor(sts, roles, account, 'crosslink-aws-half');
    const config = (r: string) => ({ region: r, ...endpoint, ...(credentials ? { credentials } : {}) });
    const interconnect = perRegion((r) => new InterconnectClient(config(r)));
    const directConnect = perRegion((r) => new DirectConnectClient(config(r)));
    return {
      halves: new InterconnectHalves({
        clientFor: interconnect,
        regions,
        environments: new InterconnectEnvironments({ clientFor: interconnect }),
        secrets,
      }),
      prefixes: new DirectConnectGatewayPrefixes(directConnect, region),
      bgp: new DirectConnectBgpSessions(directConnect, region),
    };
  };
  const hub = clientsFor(undefined);
  const network = Object.keys(roles).map((account) => [account, clientsFor(account)] as const);
  const sfn = new SFNClient({ region });
  const kmsKeyId = need(env, 'CROSSLINK_KMS_KEY_ID');
  cached = {
    store: new DynamoDbLinkStore(new DynamoDBClient({ region }), need(env, 'CROSSLINK_TABLE'), systemClock),
    events: new EventBridgeSink(new EventBridgeClient({ region }), { busName: need(env, 'CROSSLINK_BUS') }),
    policy,
    clock: systemClock,
    origin: { cloud: 'aws', accountId, region },
    placement: accountPlacement(accountId, roles),
    halves: new AccountRoutedHalves(hub.halves, new Map(network.map(([a, c]) => [a, c.halves]))),
    prefixes: new AccountRoutedPrefixes(hub.prefixes, new Map(network.map(([a, c]) => [a, c.prefixes]))),
    bgp: new AccountRoutedBgpSessions(hub.bgp, new Map(network.map(([a, c]) => [a, c.bgp]))),
    secrets,
    tokens: {
      success: async (taskToken, output) => {
        await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
      },
      failure: async (taskToken, error, cause) => {
        await sfn.send(new SendTaskFailureCommand({ taskToken, error, cause }));
      },
    },
    metrics: approvalMetrics(),
    ownKeyId: kmsKeyId,
    unwrap: kmsUnwrap(new KMSClient({ region }), kmsKeyId),
    settings: {
      ...stepSettings(env),
      manageAllowedPrefixes: env.CROSSLINK_MANAGE_ALLOWED_PREFIXES === 'true',
      prefixWaitMs: parseDuration(env.CROSSLINK_PREFIX_WAIT ?? '30m'),
    },
    executions: sfnExecutions(sfn),
    stateMachines: {
      provisioning: need(env, 'CROSSLINK_PROVISIONING_ARN'),
      decommissioning: need(env, 'CROSSLINK_DECOMMISSIONING_ARN'),
    },
  };
  return cached;
}

/** One client per region, made on first use. */
export function perRegion<C>(make: (region: string) => C): (region: string) => C {
  const clients = new Map<string, C>();
  return (region) => {
    let c = clients.get(region);
    if (!c) {
      c = make(region);
      clients.set(region, c);
    }
    return c;
  };
}

/** Step Functions as the intake's `Executions`: StartExecution (exists -> false) and DescribeExecution. */
export function sfnExecutions(sfn: SFNClient): Executions {
  return {
    start: async (stateMachineArn, name, input) => {
      try {
        await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
        return true;
      } catch (e) {
        if (e instanceof ExecutionAlreadyExists || (e as Error).name === 'ExecutionAlreadyExists')
          return false;
        throw e;
      }
    },
    running: async (stateMachineArn, name) => {
      const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
      try {
        const out = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        return out.status === 'RUNNING';
      } catch (e) {
        if ((e as Error).name === 'ExecutionDoesNotExist') return false;
        throw e;
      }
    },
  };
}
