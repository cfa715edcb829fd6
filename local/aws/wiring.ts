/**
 * Wiring from the deployable artefact: the local cloud reads the CloudFormation template that
 * `npx osls package` produces and creates what it declares (queues, buses, rules with their
 * targets and schedules, Lambda functions each from its own packaged zip (`package.individually`)
 * or the service's one zip, run from where it was unpacked, event source mappings, async
 * invoke configs, EventBridge Scheduler schedules and groups, state machines with their `Fn::Sub` substitutions, IAM roles with their trust and
 * permission policies, bus and queue policies, Lambda permissions, the key policy), so what runs
 * locally is what would be deployed, under the permissions it would have (docs/local-aws-iam.md).
 * The template's Rules are evaluated first, as CloudFormation does (wiring/rules.ts): a false
 * assertion refuses the stack before anything is created.
 * The template is regenerated only when the inputs changed: a SHA-256 of serverless.yml and the
 * service's files (or the `inputs` named), kept beside the template.
 *
 * Several processes may deploy the same directory at once (parallel test files, `npm start`):
 * packaging and reading the package happen under a lock directory (`.crosslink-package.lock`, with
 * the owner's pid, taken over when that process is gone), and each zip is extracted once into a
 * directory named by its SHA-256 under the OS temp dir, so no process deletes code another runs.
 *
 * This file loads a template into the local cloud and deploys a service; wiring/ holds packaging
 * (packaging.ts), the template reader (template.ts) and one module per family of resource types.
 */

import type { HttpApi } from './http-api.ts';
import type { World } from './service.ts';
import { putStack, type StackResourceSpec } from './services/cloudformation.ts';
import { lambdaRuntime } from './services/lambda.ts';
import { wireAlarms } from './wiring/alarms.ts';
import { wireCompute } from './wiring/compute.ts';
import { wireQueuesAndBuses, wireResourcePolicies, wireRules } from './wiring/events.ts';
import { wireHttpApis } from './wiring/http-apis.ts';
import { wireRoles } from './wiring/iam-roles.ts';
import { packageService, withPackageLock } from './wiring/packaging.ts';
import { ROUTE53_TYPES, wireRoute53 } from './wiring/route53.ts';
import { checkRules } from './wiring/rules.ts';
import { wireSchedules } from './wiring/scheduler.ts';
import { wireStorage } from './wiring/storage.ts';
import { type Json, readTemplate, viewTemplate, type Wiring } from './wiring/template.ts';

export interface LoadOptions {
  serviceDir: string;
  accountId: string;
  region: string;
  /** The AWS edge endpoint: queue URLs (Ref of a queue) point at it. */
  endpoint: string;
  /**
   * The local cloud's Lambda environment (AWS_ENDPOINT_URL, the credentials it gives): used here for
   * the credentials that create the stateful resources; the functions get it from the Lambda
   * runtime's base environment, not as variables of their own.
   */
  environment?: Record<string, string>;
  /**
   * Variables that replace the template's own, for deploy-time values the local cloud owns (e.g.
   * the peer's public key): applied after the template's variables, to functions that declare them.
   */
  environmentOverrides?: Record<string, string>;
  /** Who creates the stateful resources (table, KMS key) through the edge; default the Lambda environment's keys. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** JWKS (or its URI) per JWT issuer, for issuers the local cloud plays (e.g. the local Google edge). */
  jwks?: Record<string, string | { keys: import('node:crypto').JsonWebKey[] }>;
}

export interface LoadedStack {
  stackName: string;
  /** Logical id -> physical id (what `Ref` gives). */
  physicalIds: Record<string, string>;
  functions: string[];
  stateMachines: string[];
  queues: string[];
  rules: string[];
  eventSourceMappings: number;
  /** HTTP APIs by logical id, not listening yet: `await api.listen(0)`. */
  httpApis: Record<string, HttpApi>;
  /** DynamoDB tables created (names). */
  tables: string[];
  /** KMS keys created, by logical id: key id (Ref) and ARN. */
  kmsKeys: Record<string, { keyId: string; arn: string }>;
  /** IAM roles created (ARNs). */
  roles: string[];
  /** Resource types the local cloud has no use for (logs, S3...), by logical id. */
  ignored: Record<string, string>;
  /** The template's Outputs, resolved (an output naming what is not simulated is left out). */
  outputs: { OutputKey: string; OutputValue: string; Description?: string }[];
  /** Every resource created (or declared but not simulated), with how its local service deletes it. */
  resources: StackResourceSpec[];
}

/** The resources `value` refers to (Ref, Fn::GetAtt, Fn::Sub), among `logicalIds`. */
export function referencedResources(
  value: Json,
  logicalIds: ReadonlySet<string>,
  found = new Set<string>(),
): Set<string> {
  const add = (id: unknown) => {
    if (typeof id === 'string' && logicalIds.has(id)) found.add(id);
  };
  if (Array.isArray(value)) for (const v of value) referencedResources(v, logicalIds, found);
  else if (value !== null && typeof value === 'object') {
    for (const [k, a] of Object.entries(value as Record<string, Json>)) {
      if (k === 'Ref') add(a);
      else if (k === 'Fn::GetAtt') add(Array.isArray(a) ? a[0] : String(a).split('.')[0]);
      else if (k === 'Fn::Sub') {
        const text = Array.isArray(a) ? a[0] : a;
        if (typeof text === 'string') for (const m of text.matchAll(/\$\{([^}!.]+)[^}]*\}/g)) add(m[1]);
      }
      if (k !== 'Ref') referencedResources(a, logicalIds, found);
    }
  }
  return found;
}

const IGNORED_TYPES = new Set([
  'AWS::Logs::LogGroup',
  'AWS::Lambda::Version',
  // Alarm actions only: the local cloud raises no alarms (CloudWatch alarms are not evaluated).
  'AWS::SNS::Topic',
]);

/** A stack before its resources are made. */
function emptyStack(stackName: string, physicalIds: Record<string, string>): LoadedStack {
  return {
    stackName,
    physicalIds,
    functions: [],
    stateMachines: [],
    queues: [],
    rules: [],
    eventSourceMappings: 0,
    httpApis: {},
    tables: [],
    kmsKeys: {},
    roles: [],
    ignored: {},
    outputs: [],
    resources: [],
  };
}

/** Loads a packaged service into the local cloud. */
export async function loadTemplate(world: World, options: LoadOptions): Promise<LoadedStack> {
  const view = readTemplate(options);
  // CloudFormation checks the template's Rules before it creates anything.
  checkRules(view.template, view.pseudo);
  const { stackName, resources, physical } = view;
  const { accountId, region, endpoint } = options;
  const loaded = emptyStack(stackName, physical);
  /** How each created resource is deleted through its local service, by logical id. */
  const removers: Record<string, () => unknown> = {};

  // Stateful resources through the edge, as CloudFormation would call the services: KMS keys first
  // (functions' variables name them), then tables with their keys, indexes and TTL.
  const env = options.environment ?? {};
  const credentials = options.credentials ?? {
    accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'test',
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'test',
  };
  const client = { region, endpoint, credentials };
  const w: Wiring = { ...view, world, options, accountId, region, loaded, removers, client };
  await wireStorage(w);
  await wireRoute53(w);
  wireQueuesAndBuses(w);
  wireRoles(w);
  wireResourcePolicies(w);
  wireAlarms(w);
  wireCompute(w);
  wireRules(w);
  wireSchedules(w);
  wireHttpApis(w);

  const handled = new Set([
    'AWS::ApiGatewayV2::Api',
    'AWS::ApiGatewayV2::Route',
    'AWS::ApiGatewayV2::Integration',
    'AWS::ApiGatewayV2::Authorizer',
    'AWS::ApiGatewayV2::Stage',
    'AWS::SQS::Queue',
    'AWS::Events::EventBus',
    'AWS::Lambda::Function',
    'AWS::Lambda::EventInvokeConfig',
    'AWS::StepFunctions::StateMachine',
    'AWS::Lambda::EventSourceMapping',
    'AWS::Events::Rule',
    'AWS::DynamoDB::Table',
    'AWS::KMS::Key',
    'AWS::IAM::Role',
    'AWS::Events::EventBusPolicy',
    'AWS::SQS::QueuePolicy',
    'AWS::Lambda::Permission',
    'AWS::S3::Bucket',
    'AWS::S3::BucketPolicy',
    'AWS::CloudWatch::Alarm',
    ...ROUTE53_TYPES,
    'AWS::Scheduler::Schedule',
    'AWS::Scheduler::ScheduleGroup',
  ]);
  for (const [logical, r] of Object.entries(resources)) {
    if (handled.has(r.Type)) continue;
    loaded.ignored[logical] = r.Type;
    if (!IGNORED_TYPES.has(r.Type)) world.log(`wiring: ${logical} (${r.Type}) is not simulated locally`);
  }
  loaded.resources.push(...stackResources(w, new Set(Object.keys(loaded.ignored))));
  loaded.outputs.push(...stackOutputs(w));
  return loaded;
}

/** The stack, resource by resource, as CloudFormation knows it (what DeleteStack deletes). */
function stackResources(w: Wiring, ignored: ReadonlySet<string>): StackResourceSpec[] {
  const { resources, physical, condition, removers } = w;
  const out: StackResourceSpec[] = [];
  const logicalIds = new Set(Object.keys(resources));
  for (const [logical, r] of Object.entries(resources) as [string, Json][]) {
    if (r.Condition !== undefined && !condition(r.Condition)) continue;
    const dependsOn = referencedResources(r.Properties ?? {}, logicalIds);
    for (const d of r.DependsOn === undefined ? [] : [r.DependsOn].flat()) dependsOn.add(String(d));
    const created = !ignored.has(logical);
    out.push({
      logicalId: logical,
      type: r.Type,
      physicalId: physical[logical] ?? logical,
      ...(r.DeletionPolicy ? { deletionPolicy: String(r.DeletionPolicy) } : {}),
      dependsOn: [...dependsOn],
      ...(created
        ? removers[logical]
          ? { remove: removers[logical] }
          : {}
        : { remove: 'not-created' as const }),
    });
  }
  return out;
}

/** The template's Outputs, resolved (an output naming what is not simulated is left out). */
function stackOutputs(w: Wiring): LoadedStack['outputs'] {
  const out: LoadedStack['outputs'] = [];
  for (const [key, o] of Object.entries((w.template.Outputs ?? {}) as Record<string, Json>)) {
    try {
      out.push({
        OutputKey: key,
        OutputValue: String(w.resolve(o.Value)),
        ...(o.Description ? { Description: String(o.Description) } : {}),
      });
    } catch (err) {
      w.world.log(`wiring: output ${key} is not simulated locally (${(err as Error).message})`);
    }
  }
  return out;
}

/**
 * Deploys a template given in full (the admin API's `POST /_crosslink/aws/stacks`): the world a
 * protected service lives in (ARC, Route 53 health checks, zones and records). Only those resource
 * types are created this way; a template naming another is refused whole, before anything is made.
 * The stack is registered with CloudFormation (DescribeStacks, DeleteStack).
 */
export async function deployStack(
  world: World,
  spec: { stackName: string; template: Json; accountId: string; region: string },
): Promise<{
  stackName: string;
  stackId: string;
  outputs: LoadedStack['outputs'];
  physicalIds: Record<string, string>;
}> {
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(spec.stackName))
    throw new RangeError(
      `stackName: "${spec.stackName}" must start with a letter and hold letters, digits and hyphens (at most 128)`,
    );
  const view = viewTemplate(spec.template, { ...spec, endpoint: '' });
  const other = Object.entries(view.resources).filter(
    ([, r]) => !(ROUTE53_TYPES as readonly string[]).includes(r.Type),
  );
  if (other.length > 0)
    throw new RangeError(
      `template: ${other.map(([id, r]) => `${id} (${r.Type})`).join(', ')}: only ${ROUTE53_TYPES.join(', ')} are deployed this way`,
    );
  checkRules(view.template, view.pseudo);
  const loaded = emptyStack(spec.stackName, view.physical);
  const w: Wiring = {
    ...view,
    world,
    options: { serviceDir: '', accountId: spec.accountId, region: spec.region, endpoint: '' },
    accountId: spec.accountId,
    region: spec.region,
    loaded,
    removers: {},
    client: { region: spec.region, endpoint: '', credentials: { accessKeyId: '', secretAccessKey: '' } },
  };
  try {
    await wireRoute53(w);
  } catch (err) {
    // As CloudFormation rolls a failed creation back: what was made goes, last first.
    for (const remove of Object.values(w.removers).reverse()) await remove();
    throw new RangeError((err as Error).message);
  }
  const outputs = stackOutputs(w);
  const stack = putStack(world, spec.accountId, spec.region, {
    stackName: spec.stackName,
    outputs,
    resources: stackResources(w, new Set()),
  });
  return { stackName: spec.stackName, stackId: stack.stackId, outputs, physicalIds: { ...view.physical } };
}

/** What `deployLocally` started: the loaded stack, its HTTP API endpoints, and how to stop them. */
export interface LocalDeployment {
  stack: LoadedStack;
  /** Whether `osls package` ran (the inputs changed) or the cached package was used. */
  packaged: boolean;
  /** Logical id of each HTTP API -> its local endpoint. */
  httpApis: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Packages (when the inputs changed), loads and starts a service in a running local cloud: the one
 * call `npm start` (or a test) needs for the project's serverless.yml. The functions get the local
 * cloud's Lambda environment (`settings.lambda.environment`: edge endpoint, service keys).
 */
export async function deployLocally(
  cloud: { aws: { edge: { world: World }; endpoint: string; region: string; accountId: string } },
  serviceDir: string,
  options: {
    jwks?: LoadOptions['jwks'];
    log?: (m: string) => void;
    httpApiPorts?: Record<string, number>;
    /** Files and directories whose content decides whether to package again (default: all of serviceDir). */
    inputs?: readonly string[];
    /** Variables of the packaging (beside this process's own), e.g. the deploy's phase. */
    packaging?: Readonly<Record<string, string>>;
    environmentOverrides?: Record<string, string>;
    /** Stops a packaging in progress (osls and its group end) and the wait for its lock. */
    signal?: AbortSignal;
  } = {},
): Promise<LocalDeployment> {
  const world = cloud.aws.edge.world;
  const load: LoadOptions = {
    serviceDir,
    accountId: cloud.aws.accountId,
    region: cloud.aws.region,
    endpoint: cloud.aws.endpoint,
    environment: { ...world.settings<{ environment: Record<string, string> }>('lambda').environment },
  };
  // CloudFormation creates the stateful resources with the deployer's permissions: the account's root.
  const deployer = world.credentials.rootKey(cloud.aws.accountId);
  if (deployer) load.credentials = deployer;
  if (options.jwks) load.jwks = options.jwks;
  if (options.environmentOverrides) load.environmentOverrides = options.environmentOverrides;
  // Package and read the package under one lock: no other process re-packages in between.
  let packaged = false;
  const stack = await withPackageLock(
    serviceDir,
    async () => {
      packaged = (
        await packageService(serviceDir, {
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.log ? { log: options.log } : {}),
          ...(options.inputs ? { inputs: options.inputs } : {}),
          ...(options.packaging ? { environment: { ...options.packaging } } : {}),
        })
      ).regenerated;
      return loadTemplate(world, load);
    },
    undefined,
    options.signal,
  );
  const httpApis: Record<string, string> = {};
  for (const [id, api] of Object.entries(stack.httpApis)) {
    await api.listen(options.httpApiPorts?.[id] ?? 0);
    httpApis[id] = api.endpoint;
  }
  // DescribeStacks answers the stack's outputs with the local endpoints of its HTTP APIs (the
  // execute-api host names a local listener).
  const localUrl = (value: string) =>
    Object.entries(stack.httpApis).reduce(
      (v, [id, api]) =>
        v.replace(
          `https://${stack.physicalIds[id]}.execute-api.${cloud.aws.region}.amazonaws.com`,
          httpApis[id] ?? api.endpoint,
        ),
      value,
    );
  putStack(world, cloud.aws.accountId, cloud.aws.region, {
    stackName: stack.stackName,
    outputs: stack.outputs.map((o) => ({ ...o, OutputValue: localUrl(o.OutputValue) })),
    resources: stack.resources,
  });
  return {
    stack,
    packaged,
    httpApis,
    async stop() {
      await Promise.all(Object.values(stack.httpApis).map((a) => a.close()));
      await lambdaRuntime(world, cloud.aws.accountId, cloud.aws.region).close();
    },
  };
}
