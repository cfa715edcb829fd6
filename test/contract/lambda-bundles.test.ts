/**
 * The Lambda bundles as `osls package` makes them (.serverless/<function>.zip, the artifacts the
 * local cloud deploys), read from the zips: each function's bundle holds the SDK clients of the
 * ports its entry wires (functions/aws/handlers/) and no other, and none grows past its ceiling.
 * The goal is 250 KB a bundle (docs/aws-half.md, "Packaging"); a function still over it has a
 * reviewed ceiling here (what keeps it over is in the doc), and leaves the list once it meets it.
 * Sizes are deterministic for a lockfile: nothing here is timed (`npm run bench -- lambda-packages`
 * measures the init).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unzip } from '#local/aws/zip.ts';
import { MAX_BUNDLE_KB } from '../../bench/lambda-packages.ts';
import { lambdas, type Template } from '../support/iam-policy.ts';
import { packageAwsHalf } from '../support/packaging.ts';

/**
 * The SDK clients a bundle may hold, by client name (every command of a client names it as a
 * string, `.n("DynamoDBClient", "GetItemCommand")`, which minifying keeps): the product's, and the
 * default credential chain's (which the bundles replace by its first link, fromEnv:
 * stacks/lambda-shims/).
 */
const CLIENTS = [
  'CloudWatchClient',
  'DirectConnectClient',
  'DynamoDBClient',
  'EC2Client',
  'EventBridgeClient',
  'InterconnectClient',
  'KMSClient',
  'LambdaClient',
  'SecretsManagerClient',
  'SFNClient',
  'SQSClient',
  'STSClient',
  'StsClient',
  'SSOClient',
  'SSOOIDCClient',
  'SigninClient',
];

/**
 * What shows a client in a minified bundle: its name as a string, except crosslink's own clients,
 * whose class names minifying drops: functions/aws/interconnect-client.ts, whose SigV4 signer's
 * options name the service, and functions/aws/sts.ts `StsClient` (in place of the SDK's
 * `STSClient`), whose request names its action (the relay signs for `sts` too, a
 * GetCallerIdentity it never sends: docs/relay.md "Credentials").
 */
const OWN: Record<string, string> = {
  InterconnectClient: 'service:"interconnect"',
  StsClient: 'Action:"AssumeRole"',
};
const marker = (client: string) => OWN[client] ?? `"${client}"`;

/** The halves and the gateway prefixes: Interconnect or Direct Connect, and STS for the network accounts' roles. */
const STORE_EVENTS = ['DynamoDBClient', 'EventBridgeClient'];
const HALVES = ['InterconnectClient', 'StsClient'];

/** Per function, the clients of the ports its entry wires. */
const EXPECTED: Record<string, string[]> = {
  intake: [...STORE_EVENTS, 'SFNClient'],
  starter: ['DynamoDBClient', 'SFNClient'],
  peerEvents: [...STORE_EVENTS, 'SFNClient'],
  watcher: [...STORE_EVENTS, ...HALVES, 'DirectConnectClient', 'SFNClient'],
  relayFromGoogle: STORE_EVENTS,
  relayToGoogle: ['SQSClient'],
  stepRequest: [...STORE_EVENTS, ...HALVES],
  stepPark: [...STORE_EVENTS, 'SFNClient'],
  stepApprovalDeadline: STORE_EVENTS,
  stepKeyDeadline: STORE_EVENTS,
  stepActivateInitiate: [...STORE_EVENTS, ...HALVES, 'SecretsManagerClient', 'SFNClient'],
  stepActivateAccept: [...STORE_EVENTS, ...HALVES, 'KMSClient', 'SFNClient'],
  stepPollHalf: [...STORE_EVENTS, ...HALVES, 'SFNClient'],
  stepVerifyPrefixes: ['DirectConnectClient', 'DynamoDBClient', 'StsClient'],
  stepReport: STORE_EVENTS,
  stepCompensate: [...STORE_EVENTS, ...HALVES, 'SecretsManagerClient'],
  stepDecommissionRequest: STORE_EVENTS,
  stepDecommissionDeadline: STORE_EVENTS,
  stepDrainCheck: [...STORE_EVENTS, ...HALVES],
  stepDeleteOwnHalf: [...STORE_EVENTS, ...HALVES, 'SecretsManagerClient'],
  stepConfirmDeleted: [...STORE_EVENTS, ...HALVES, 'SFNClient'],
  stepVpnHalf: [...STORE_EVENTS, 'EC2Client'],
  // The run's steps but the plan: the store and the bus only.
  stepVpnRun: STORE_EVENTS,
  // The plan: the store (both sides' inventories, the links) and this side's traffic; no bus.
  stepVpnPlan: ['DynamoDBClient', 'CloudWatchClient'],
  // The reactions, and the watcher's minute's check of the drained VPNs' traffic.
  vpnRunEvents: [...STORE_EVENTS, 'CloudWatchClient'],
  // Direct Connect: the gateways' associations go with the inventory (either coordinator's links read them).
  vpnInventory: [...STORE_EVENTS, 'EC2Client', 'DirectConnectClient'],
  // The decision hook starts the failover state machine's executions.
  drSignals: [...STORE_EVENTS, 'CloudWatchClient', 'SFNClient'],
  // Its store and the bus (the ARC flip's client is not among the clients checked here); no hook:
  // drCommanded invokes them.
  drExecutor: [...STORE_EVENTS],
  // The control recorded in the log, then the decision hook (its DrDecisionMade, its executions).
  drControl: [...STORE_EVENTS, 'SFNClient'],
  // The fence, DrActionFinished on the bus, and the plan's hook functions invoked.
  drCommanded: [...STORE_EVENTS, 'LambdaClient'],
};

let bundles: { name: string; kb: number; text: string }[];
let template: Template;
const dir = mkdtempSync(join(tmpdir(), 'crosslink-bundles-'));

beforeAll(async () => {
  // The same inputs as npm start and the e2e tests, under the same lock: parallel files never race.
  const { templateFile } = await packageAwsHalf();
  template = JSON.parse(readFileSync(templateFile, 'utf8')) as Template;
  bundles = lambdas(template).map((fn) => {
    const code = String(template.Resources[fn.logicalId]?.Properties?.Code?.S3Key);
    const to = join(dir, fn.name);
    unzip(join(dirname(templateFile), code.split('/').pop() as string), to);
    const file = join(to, `${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.mjs`);
    return { name: fn.name, kb: statSync(file).size / 1024, text: readFileSync(file, 'utf8') };
  });
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the Lambda bundles', () => {
  it('hold, each, the SDK clients of the ports its entry wires and no other', () => {
    const held = Object.fromEntries(
      bundles.map((b) => [b.name, CLIENTS.filter((c) => b.text.includes(marker(c))).sort()]),
    );
    expect(held).toEqual(Object.fromEntries(Object.entries(EXPECTED).map(([f, cs]) => [f, [...cs].sort()])));
  });

  it("import, each, only Node's own modules at their top level: a module left out of the bundles is at most reached by a dynamic import()", () => {
    // A static import of a module serverless.yml leaves out (the event-stream codec, which the
    // Lambda client imports at its top level) fails the function at its load, before any call.
    const staticImport = /(?:^|[;}\s])import\s*(?:[\w$*{},\s]+?\s*from\s*)?["']([^"']+)["']/g;
    const imported = Object.fromEntries(
      bundles.map((b) => [
        b.name,
        [...b.text.matchAll(staticImport)].map((m) => m[1]).filter((m) => !m?.startsWith('node:')),
      ]),
    );
    expect(imported).toEqual(Object.fromEntries(bundles.map((b) => [b.name, []])));
  });

  it('run in the retry mode they bundle: no function sets AWS_RETRY_MODE (the adaptive mode is shimmed out)', () => {
    expect(
      lambdas(template)
        .filter((fn) => 'AWS_RETRY_MODE' in fn.environment)
        .map((fn) => fn.name),
    ).toEqual([]);
  });

  it('import statically nothing but Node.js built-ins: a package left out of the bundle (serverless.yml `exclude`) would fail the start', () => {
    // Minified ESM statements: `import{a as b}from"x";`, `import*as c from"x";`, `import"x";`, `export*from"x";`.
    const imported = bundles.flatMap((b) =>
      [...b.text.matchAll(/(?:^|[;}\n])\s*(?:import|export)\s*(?:[\w*{$][^;"'()]*?from\s*)?"([^"]+)"/g)]
        .map((m) => m[1] as string)
        .filter((spec) => !isBuiltin(spec))
        .map((spec) => `${b.name}: ${spec}`),
    );
    expect([...new Set(imported)]).toEqual([]);
  });

  it(`are at most ${MAX_BUNDLE_KB} KB each`, () => {
    const over = bundles
      .filter((b) => b.kb > MAX_BUNDLE_KB)
      .map((b) => `${b.name}: ${b.kb.toFixed(0)} KB, over ${MAX_BUNDLE_KB} KB`);
    expect(over).toEqual([]);
  });
});
