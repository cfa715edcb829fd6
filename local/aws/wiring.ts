/**
 * Wiring from the deployable artefact: the local cloud reads the CloudFormation template that
 * `npx osls package` produces and creates what it declares (queues, buses, rules with their
 * targets and schedules, Lambda functions each from its own packaged zip (`package.individually`)
 * or the service's one zip, run from where it was unpacked, event source mappings, async
 * invoke configs, state machines with their `Fn::Sub` substitutions, IAM roles with their trust and
 * permission policies, bus and queue policies, Lambda permissions, the key policy), so what runs
 * locally is what would be deployed, under the permissions it would have (docs/local-aws-iam.md).
 * The template is regenerated only when the inputs changed: a SHA-256 of serverless.yml and the
 * service's files (or the `inputs` named), kept beside the template.
 *
 * Several processes may deploy the same directory at once (parallel test files, `npm start`):
 * packaging and reading the package happen under a lock directory (`.crosslink-package.lock`, with
 * the owner's pid, taken over when that process is gone), and each zip is extracted once into a
 * directory named by its SHA-256 under the OS temp dir, so no process deletes code another runs.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { ProcessGroup, pidAlive } from '../processes.ts';
import { HttpApi, type RouteAuth } from './http-api.ts';
import { parsePolicy } from './iam/policy.ts';
import type { World } from './service.ts';
import { putStack, type StackResourceSpec } from './services/cloudformation.ts';
import { deleteAlarms, putMetricAlarm } from './services/cloudwatch.ts';
import {
  deleteBus,
  deleteRule,
  findBus,
  putBusPolicyStatement,
  putRule,
  putTargets,
  type Target,
} from './services/events.ts';
import { addPermission, lambdaRuntime } from './services/lambda.ts';
import { createBucket, deleteBucket, findBucket, putObject } from './services/s3.ts';
import { deleteQueue, ensureQueue, queuesOf } from './services/sqs.ts';
import { statesOf } from './services/states.ts';
import { putRole, roles } from './services/sts.ts';
import { validateDefinition } from './sfn/definition.ts';
import { unzip } from './zip.ts';

const LOCK_DIR = '.crosslink-package.lock';
const IGNORED_DIRS = new Set(['node_modules', '.serverless', '.esbuild', '.git', '.crosslink', LOCK_DIR]);
const HASH_FILE = '.crosslink-inputs.sha256';
const TEMPLATE = 'cloudformation-template-update-stack.json';

/**
 * SHA-256 over the service's inputs: every file under `serviceDir` but build output and
 * dependencies, or only the files and directories `inputs` names (relative to `serviceDir`).
 */
export function inputsHash(serviceDir: string, inputs?: readonly string[]): string {
  const hash = createHash('sha256');
  const walk = (p: string) => {
    if (statSync(p).isDirectory()) {
      for (const name of readdirSync(p).sort()) if (!IGNORED_DIRS.has(name)) walk(join(p, name));
    } else {
      hash
        .update(`${relative(serviceDir, p)}\0`)
        .update(readFileSync(p))
        .update('\0');
    }
  };
  if (inputs) {
    for (const i of [...inputs].sort()) if (existsSync(join(serviceDir, i))) walk(join(serviceDir, i));
  } else walk(serviceDir);
  return hash.digest('hex');
}

/**
 * The variables the packaging reads and their values: every `${env:NAME...}` of serverless.yml and
 * every `env.NAME` / `process.env.NAME` of the `.cjs` files it loads (config/, stacks/). A package
 * made under other values (another network account's roles, another relay audience) is not reused.
 */
export function packagingVariables(
  serviceDir: string,
  env: Record<string, string | undefined>,
): Record<string, string | null> {
  const names = new Set<string>();
  const template = join(serviceDir, 'serverless.yml');
  if (existsSync(template))
    for (const m of readFileSync(template, 'utf8').matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)/g))
      names.add(m[1] as string);
  for (const dir of ['config', 'stacks']) {
    const d = join(serviceDir, dir);
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d).filter((n) => n.endsWith('.cjs')))
      for (const m of readFileSync(join(d, f), 'utf8').matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g))
        names.add(m[1] as string);
  }
  return Object.fromEntries([...names].sort().map((n) => [n, env[n] ?? null]));
}

/** The locks the current async context holds: a nested call runs at once, a concurrent one waits. */
const holding = new AsyncLocalStorage<ReadonlySet<string>>();

/**
 * Runs `fn` holding the packaging lock of `serviceDir` (re-entrant for calls made inside `fn`). The
 * lock is a directory holding the owner's pid; a lock whose owner is gone is taken over.
 */
export async function withPackageLock<T>(
  serviceDir: string,
  fn: () => Promise<T>,
  timeoutMs = 300_000,
): Promise<T> {
  const lock = join(serviceDir, LOCK_DIR);
  const held = holding.getStore();
  if (held?.has(lock)) return fn();
  const t0 = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = Number.NaN;
      let age = 0;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        // Being created or removed: look again.
      }
      // The owner is gone, or it died between making the directory and writing its pid.
      const ownerGone = Number.isInteger(owner) && owner > 0 ? !pidAlive(owner) : age > 10_000;
      if (ownerGone) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - t0 > timeoutMs)
        throw new Error(`${lock}: held by pid ${owner} for over ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await holding.run(new Set([...(held ?? []), lock]), fn);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface PackageOptions {
  log?: (m: string) => void;
  force?: boolean;
  inputs?: readonly string[];
  /**
   * Variables serverless.yml reads at packaging (`${env:...}`, config/account-roles.cjs) beyond the
   * process's own. Their values are part of the inputs' hash (packagingVariables).
   */
  environment?: Record<string, string>;
}

/**
 * Runs `osls package` in `serviceDir` unless the template there was made from the same inputs.
 * Offline and without AWS credentials, as the packaging step needs neither.
 */
export function packageService(
  serviceDir: string,
  options: PackageOptions = {},
): Promise<{ templateFile: string; regenerated: boolean }> {
  return withPackageLock(serviceDir, () => packageLocked(serviceDir, options));
}

async function packageLocked(
  serviceDir: string,
  options: PackageOptions,
): Promise<{ templateFile: string; regenerated: boolean }> {
  const outDir = join(serviceDir, '.serverless');
  const templateFile = join(outDir, TEMPLATE);
  const hashFile = join(outDir, HASH_FILE);
  const hash = createHash('sha256')
    .update(inputsHash(serviceDir, options.inputs))
    .update(JSON.stringify(packagingVariables(serviceDir, { ...process.env, ...options.environment })))
    .digest('hex');
  if (
    !options.force &&
    existsSync(templateFile) &&
    existsSync(hashFile) &&
    readFileSync(hashFile, 'utf8').trim() === hash
  ) {
    return { templateFile, regenerated: false };
  }
  const osls = fileURLToPath(import.meta.resolve('osls/bin/serverless.js'));
  options.log?.(`osls package in ${serviceDir}`);
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
  await new Promise<void>((resolve, reject) => {
    // In a group of its own, registered with the reaper: a SIGKILL of the local cloud while it
    // packages does not leave osls running.
    const child = new ProcessGroup().spawn(process.execPath, [osls, 'package'], {
      cwd: serviceDir,
      env: { ...env, ...options.environment, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (d) => {
      output += d;
    });
    child.stderr?.on('data', (d) => {
      output += d;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`osls package failed (exit ${code}):\n${output.slice(-2000)}`)),
    );
  });
  writeFileSync(hashFile, `${hash}\n`);
  return { templateFile, regenerated: true };
}

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation is free-form JSON.
type Json = any;

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

const CODE_ROOT = join(tmpdir(), 'crosslink-lambda-code');
/** Extracted code unused this long is removed (a running cloud touches what it uses at each load). */
const CODE_KEPT_MS = 7 * 86_400_000;

/**
 * Extracts a zip once per content (SHA-256) under the OS temp dir; returns the directory. Marks it
 * used, and removes the extractions nothing has used for CODE_KEPT_MS.
 */
function extractOnce(zipFile: string): string {
  const sha = createHash('sha256').update(readFileSync(zipFile)).digest('hex').slice(0, 32);
  const dir = join(CODE_ROOT, sha);
  for (const name of existsSync(CODE_ROOT) ? readdirSync(CODE_ROOT) : []) {
    const p = join(CODE_ROOT, name);
    try {
      if (p !== dir && Date.now() - statSync(p).mtimeMs > CODE_KEPT_MS)
        rmSync(p, { recursive: true, force: true });
    } catch {
      // Removed by another process meanwhile.
    }
  }
  if (existsSync(dir)) {
    const now = new Date();
    utimesSync(dir, now, now);
    return dir;
  }
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  unzip(zipFile, tmp);
  try {
    renameSync(tmp, dir);
  } catch (err) {
    // Another process extracted the same zip meanwhile: use theirs.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dir)) throw err;
  }
  return dir;
}

/** Loads a packaged service into the local cloud. */
export async function loadTemplate(world: World, options: LoadOptions): Promise<LoadedStack> {
  const outDir = join(options.serviceDir, '.serverless');
  const template = JSON.parse(readFileSync(join(outDir, TEMPLATE), 'utf8')) as Json;
  const state = JSON.parse(readFileSync(join(outDir, 'serverless-state.json'), 'utf8')) as Json;
  const stackName = `${state.service.service}-${state.service.provider.stage}`;
  const { accountId, region, endpoint } = options;
  const resources = template.Resources as Record<
    string,
    { Type: string; Properties?: Json; Condition?: string }
  >;

  const pseudo: Record<string, string> = {
    'AWS::Region': region,
    'AWS::AccountId': accountId,
    'AWS::Partition': 'aws',
    'AWS::StackName': stackName,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::NoValue': '',
  };
  const physical: Record<string, string> = {};
  const attrs: Record<string, Record<string, string>> = {};
  const conditions = new Map<string, boolean>();
  /** What `Ref: AWS::NoValue` (and Fn::If choosing it) leaves: the property or element is removed. */
  const NO_VALUE = Symbol('AWS::NoValue');
  const name = (logical: string, given: unknown, max = 64) =>
    typeof given === 'string' ? given : `${stackName}-${logical}`.slice(0, max);
  for (const [logical, r] of Object.entries(resources)) {
    const p = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::SQS::Queue': {
        const n = name(logical, p.QueueName, 80);
        physical[logical] = `${endpoint}/${accountId}/${n}`;
        attrs[logical] = {
          Arn: `arn:aws:sqs:${region}:${accountId}:${n}`,
          QueueName: n,
          QueueUrl: physical[logical] as string,
        };
        break;
      }
      case 'AWS::Lambda::Function': {
        const n = name(logical, p.FunctionName);
        physical[logical] = n;
        attrs[logical] = { Arn: `arn:aws:lambda:${region}:${accountId}:function:${n}` };
        break;
      }
      case 'AWS::Lambda::Version': {
        physical[logical] = `${logical}:1`;
        break;
      }
      case 'AWS::StepFunctions::StateMachine': {
        const n = name(logical, p.StateMachineName, 80);
        const arn = `arn:aws:states:${region}:${accountId}:stateMachine:${n}`;
        physical[logical] = arn;
        attrs[logical] = { Arn: arn, Name: n };
        break;
      }
      case 'AWS::Events::EventBus': {
        const n = name(logical, p.Name);
        physical[logical] = n;
        attrs[logical] = { Arn: `arn:aws:events:${region}:${accountId}:event-bus/${n}`, Name: n };
        break;
      }
      case 'AWS::DynamoDB::Table': {
        const n = name(logical, p.TableName, 255);
        physical[logical] = n;
        attrs[logical] = { Arn: `arn:aws:dynamodb:${region}:${accountId}:table/${n}` };
        break;
      }
      case 'AWS::KMS::Key':
        // Ref and Arn are known once the key exists (below): its id is random, as in KMS.
        break;
      case 'AWS::S3::Bucket': {
        // CloudFormation's generated name: <stack>-<logical id>-<suffix>, lower case, at most 63.
        const suffix = createHash('sha256')
          .update(`${accountId}/${region}/${stackName}`)
          .digest('hex')
          .slice(0, 12);
        const n =
          typeof p.BucketName === 'string'
            ? p.BucketName
            : `${stackName.slice(0, 30)}-${logical.slice(0, 19)}-${suffix}`.toLowerCase();
        physical[logical] = n;
        attrs[logical] = { Arn: `arn:aws:s3:::${n}`, DomainName: `${n}.s3.amazonaws.com` };
        break;
      }
      case 'AWS::SNS::Topic': {
        // Ref of a topic is its ARN.
        const n = name(logical, p.TopicName, 256);
        physical[logical] = `arn:aws:sns:${region}:${accountId}:${n}`;
        attrs[logical] = { TopicArn: physical[logical] as string, TopicName: n };
        break;
      }
      case 'AWS::IAM::Role': {
        const n = name(logical, p.RoleName);
        physical[logical] = n;
        attrs[logical] = { Arn: `arn:aws:iam::${accountId}:role/${n}` };
        break;
      }
      default:
        physical[logical] = typeof p.Name === 'string' ? p.Name : `${stackName}-${logical}`;
        attrs[logical] = { Arn: `arn:aws:cloudformation:${region}:${accountId}:${logical}` };
    }
  }
  // A rule's ARN names its bus (rule/<bus>/<name>, rule/<name> on the default bus), known once
  // the buses are named.
  for (const [logical, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Events::Rule') continue;
    const n = name(logical, r.Properties?.Name);
    const bus =
      r.Properties?.EventBusName === undefined ? 'default' : String(resolve(r.Properties.EventBusName));
    const busName = bus.startsWith('arn:') ? (bus.split('/').pop() as string) : bus;
    physical[logical] = n;
    attrs[logical] = {
      Arn: `arn:aws:events:${region}:${accountId}:rule/${busName === 'default' ? '' : `${busName}/`}${n}`,
    };
  }
  // A version's Ref is the function ARN with its version qualifier.
  for (const [logical, r] of Object.entries(resources)) {
    if (r.Type === 'AWS::Lambda::Version') {
      const fn = resolve(r.Properties?.FunctionName) as string;
      physical[logical] = `arn:aws:lambda:${region}:${accountId}:function:${fn}:1`;
    }
  }

  function ref(id: string): string {
    if (id in pseudo) return pseudo[id] as string;
    const v = physical[id];
    if (v === undefined) throw new Error(`template: Ref to unknown resource ${id}`);
    return v;
  }
  function getAtt(id: string, attr: string): string {
    const v = attrs[id]?.[attr];
    if (v === undefined) throw new Error(`template: Fn::GetAtt ${id}.${attr} is not supported locally`);
    return v;
  }
  function sub(text: string, vars: Record<string, unknown>): string {
    return text.replace(/\$\{([^}!]+)\}/g, (_m, key: string) => {
      if (key in vars) return String(vars[key]);
      if (key.includes('.') && !key.startsWith('AWS::')) {
        const [id, attr] = key.split('.') as [string, string];
        return getAtt(id, attr);
      }
      return ref(key);
    });
  }
  function condition(nameOrExpr: Json): boolean {
    if (typeof nameOrExpr === 'string') {
      let known = conditions.get(nameOrExpr);
      if (known === undefined) {
        const expr = template.Conditions?.[nameOrExpr];
        if (expr === undefined) throw new Error(`template: unknown condition ${nameOrExpr}`);
        known = condition(expr);
        conditions.set(nameOrExpr, known);
      }
      return known;
    }
    const [k, a] = (Object.entries(nameOrExpr ?? {})[0] ?? []) as [string | undefined, Json];
    if (k === 'Condition') return condition(a);
    if (k === 'Fn::Equals') return JSON.stringify(resolve(a[0])) === JSON.stringify(resolve(a[1]));
    if (k === 'Fn::Not') return !condition(a[0]);
    if (k === 'Fn::And') return (a as Json[]).every(condition);
    if (k === 'Fn::Or') return (a as Json[]).some(condition);
    throw new Error(`template: condition ${JSON.stringify(nameOrExpr)} is not supported locally`);
  }
  function resolve(v: Json): Json {
    const out = resolveValue(v);
    return out === NO_VALUE ? undefined : out;
  }
  function resolveValue(v: Json): Json {
    if (Array.isArray(v)) return v.map(resolveValue).filter((x) => x !== NO_VALUE);
    if (v === null || typeof v !== 'object') return v;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const k = keys[0] as string;
      const a = v[k];
      if (k === 'Ref' && a === 'AWS::NoValue') return NO_VALUE;
      if (k === 'Ref') return ref(a);
      if (k === 'Fn::If') return resolveValue(condition(a[0]) ? a[1] : a[2]);
      if (k === 'Fn::GetAtt') {
        const [id, attr] = Array.isArray(a) ? a : String(a).split('.');
        return getAtt(id, attr);
      }
      if (k === 'Fn::Sub') {
        if (typeof a === 'string') return sub(a, {});
        return sub(a[0], resolve(a[1] ?? {}));
      }
      if (k === 'Fn::Join') return (resolve(a[1]) as unknown[]).join(a[0]);
      if (k === 'Fn::Select') return (resolve(a[1]) as unknown[])[Number(resolve(a[0]))];
      if (k === 'Fn::Split') return String(resolve(a[1])).split(a[0]);
      if (k.startsWith('Fn::')) throw new Error(`template: ${k} is not supported locally`);
    }
    return Object.fromEntries(
      Object.entries(v)
        .map(([key, x]) => [key, resolveValue(x)])
        .filter(([, x]) => x !== NO_VALUE),
    );
  }

  const loaded: LoadedStack = {
    stackName,
    physicalIds: physical,
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
  /** How each created resource is deleted through its local service, by logical id. */
  const removers: Record<string, () => unknown> = {};
  // A resource whose Condition is false is not created.
  const byType = (type: string) =>
    Object.entries(resources).filter(
      ([, r]) => r.Type === type && (r.Condition === undefined || condition(r.Condition)),
    );

  // Stateful resources through the edge, as CloudFormation would call the services: KMS keys first
  // (functions' variables name them), then tables with their keys, indexes and TTL.
  const env = options.environment ?? {};
  const credentials = options.credentials ?? {
    accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'test',
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'test',
  };
  const client = { region, endpoint, credentials };
  const kmsKeys = byType('AWS::KMS::Key');
  if (kmsKeys.length > 0) {
    const kms = new KMSClient(client);
    try {
      for (const [logical, r] of kmsKeys) {
        const p = r.Properties ?? {};
        const out = await kms.send(
          new CreateKeyCommand({
            ...(p.KeyPolicy !== undefined && {
              Policy: typeof p.KeyPolicy === 'string' ? p.KeyPolicy : JSON.stringify(resolve(p.KeyPolicy)),
            }),
            Description: p.Description,
            KeySpec: p.KeySpec,
            KeyUsage: p.KeyUsage,
            Tags: [{ TagKey: 'aws:cloudformation:logical-id', TagValue: logical }],
          }),
        );
        const keyId = out.KeyMetadata?.KeyId as string;
        const arn = out.KeyMetadata?.Arn as string;
        physical[logical] = keyId;
        attrs[logical] = { Arn: arn, KeyId: keyId };
        loaded.kmsKeys[logical] = { keyId, arn };
        // CloudFormation schedules the key's deletion (PendingWindowInDays, 30 by default).
        removers[logical] = () =>
          withClient(new KMSClient(client), (c) =>
            c.send(
              new ScheduleKeyDeletionCommand({
                KeyId: keyId,
                PendingWindowInDays: p.PendingWindowInDays ?? 30,
              }),
            ),
          );
      }
    } finally {
      kms.destroy();
    }
  }
  const tables = byType('AWS::DynamoDB::Table');
  if (tables.length > 0) {
    const ddb = new DynamoDBClient(client);
    try {
      for (const [logical, r] of tables) {
        const p = resolve(r.Properties ?? {});
        const TableName = physical[logical] as string;
        await ddb.send(
          new CreateTableCommand({
            TableName,
            AttributeDefinitions: p.AttributeDefinitions,
            KeySchema: p.KeySchema,
            GlobalSecondaryIndexes: p.GlobalSecondaryIndexes,
            LocalSecondaryIndexes: p.LocalSecondaryIndexes,
            BillingMode: p.BillingMode,
            ProvisionedThroughput: p.ProvisionedThroughput,
          }),
        );
        const ttl = p.TimeToLiveSpecification;
        if (ttl?.Enabled)
          await ddb.send(
            new UpdateTimeToLiveCommand({
              TableName,
              TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
            }),
          );
        loaded.tables.push(TableName);
        removers[logical] = () =>
          withClient(new DynamoDBClient(client), (c) => c.send(new DeleteTableCommand({ TableName })));
      }
    } finally {
      ddb.destroy();
    }
  }

  // Buckets: the deployment bucket holds the package as `osls deploy` uploads it (each function's
  // Code.S3Key, the compiled template and the service state, under the artifact directory).
  const artifactDir = String(state.package?.artifactDirectoryName ?? '');
  for (const [logical] of byType('AWS::S3::Bucket')) {
    const n = physical[logical] as string;
    const had = findBucket(world, n);
    if (had && had.accountId !== accountId)
      throw new Error(`template: ${logical}: bucket ${n} is another account's`);
    const bucket = had ?? createBucket(world, accountId, region, n);
    if (logical === 'ServerlessDeploymentBucket' && artifactDir) {
      const keys = new Set<string>([
        `${artifactDir}/compiled-cloudformation-template.json`,
        `${artifactDir}/serverless-state.json`,
      ]);
      for (const [, fn] of byType('AWS::Lambda::Function')) {
        const key = fn.Properties?.Code?.S3Key;
        if (typeof key === 'string') keys.add(key);
      }
      for (const key of keys) {
        const file = key.endsWith('compiled-cloudformation-template.json')
          ? TEMPLATE
          : (key.split('/').pop() as string);
        putObject(world, bucket, key, readFileSync(join(outDir, file)));
      }
    }
    removers[logical] = () => deleteBucket(world, n);
  }
  for (const [logical, r] of byType('AWS::S3::BucketPolicy')) {
    const p = resolve(r.Properties);
    const bucket = findBucket(world, String(p.Bucket));
    if (!bucket) throw new Error(`template: ${logical}: no bucket ${p.Bucket}`);
    try {
      parsePolicy(p.PolicyDocument, logical, 'resource');
    } catch (err) {
      throw new Error(`template: ${logical}: ${(err as Error).message}`);
    }
    // Kept as the bucket's policy; the local S3 does not evaluate it (its calls are over HTTP).
    bucket.policy = JSON.stringify(p.PolicyDocument);
    removers[logical] = () => {
      delete bucket.policy;
    };
  }

  // Queues first (with their redrive policies), then buses: everything else points at them.
  for (const [logical, r] of byType('AWS::SQS::Queue')) {
    const p = resolve(r.Properties ?? {});
    const queueAttrs: Record<string, unknown> = {};
    for (const k of [
      'VisibilityTimeout',
      'DelaySeconds',
      'MessageRetentionPeriod',
      'ReceiveMessageWaitTimeSeconds',
      'MaximumMessageSize',
      'RedrivePolicy',
    ]) {
      if (p[k] !== undefined) queueAttrs[k] = p[k];
    }
    const n = attrs[logical]?.QueueName as string;
    ensureQueue(world, accountId, region, n, queueAttrs);
    loaded.queues.push(n);
    removers[logical] = () => {
      deleteQueue(world, accountId, region, n);
    };
  }
  const events = world.stateOf<{
    buses: Map<string, { name: string; arn: string; rules: Map<string, unknown> }>;
  }>('events', accountId, region);
  for (const [logical] of byType('AWS::Events::EventBus')) {
    const n = physical[logical] as string;
    if (!events.buses.has(n))
      events.buses.set(n, { name: n, arn: attrs[logical]?.Arn as string, rules: new Map() });
    removers[logical] = () => deleteBus(world, accountId, region, n);
  }

  // IAM roles (global: the STS module's table), with their trust and permission policies, which
  // the edge evaluates for the sessions of the functions and state machines that use them.
  for (const [logical, r] of byType('AWS::IAM::Role')) {
    const p = resolve(r.Properties ?? {});
    if (p.ManagedPolicyArns?.length)
      world.log(
        `wiring: ${logical}: managed policies are not simulated locally (${p.ManagedPolicyArns.join(', ')})`,
      );
    try {
      putRole(world, {
        accountId,
        roleName: physical[logical] as string,
        trustPolicy: p.AssumeRolePolicyDocument,
        policies: Object.fromEntries(
          ((p.Policies ?? []) as { PolicyName: string; PolicyDocument: Json }[]).map((x) => [
            x.PolicyName,
            x.PolicyDocument,
          ]),
        ),
      });
    } catch (err) {
      throw new Error(`template: role ${logical}: ${(err as Error).message}`);
    }
    const roleArn = attrs[logical]?.Arn as string;
    loaded.roles.push(roleArn);
    removers[logical] = () => {
      roles(world).delete(roleArn);
    };
  }
  // Resource-based policies the services keep: each bus's statements, each queue's policy.
  for (const [logical, r] of byType('AWS::Events::EventBusPolicy')) {
    const p = resolve(r.Properties);
    const bus = findBus(world, accountId, region, String(p.EventBusName ?? 'default'));
    if (!bus) throw new Error(`template: ${logical}: no event bus ${p.EventBusName}`);
    try {
      putBusPolicyStatement(bus, String(p.StatementId), p.Statement);
    } catch (err) {
      throw new Error(`template: ${logical}: ${(err as Error).message}`);
    }
    removers[logical] = () => {
      bus.policy?.delete(String(p.StatementId));
    };
  }
  for (const [logical, r] of byType('AWS::SQS::QueuePolicy')) {
    const p = resolve(r.Properties);
    for (const url of p.Queues as string[]) {
      const q = queuesOf(world, `arn:aws:sqs:${region}:${accountId}:${String(url).split('/').pop()}`);
      if (!q) throw new Error(`template: ${logical}: no queue ${url}`);
      try {
        parsePolicy(p.PolicyDocument, `${logical}`, 'resource');
      } catch (err) {
        throw new Error(`template: ${logical}: ${(err as Error).message}`);
      }
      q.attributes.Policy = JSON.stringify(p.PolicyDocument);
    }
    removers[logical] = () => {
      for (const url of p.Queues as string[])
        delete queuesOf(world, `arn:aws:sqs:${region}:${accountId}:${String(url).split('/').pop()}`)
          ?.attributes.Policy;
    };
  }

  // Alarms are kept as defined (DescribeAlarms shows them); the local cloud does not evaluate them.
  for (const [logical, r] of byType('AWS::CloudWatch::Alarm')) {
    const p = resolve(r.Properties);
    const alarmName = name(logical, p.AlarmName, 255);
    putMetricAlarm(world, accountId, region, {
      AlarmName: alarmName,
      AlarmDescription: p.AlarmDescription,
      Namespace: p.Namespace,
      MetricName: p.MetricName,
      Dimensions: p.Dimensions,
      Statistic: p.Statistic,
      Period: p.Period,
      EvaluationPeriods: p.EvaluationPeriods,
      Threshold: p.Threshold,
      ComparisonOperator: p.ComparisonOperator,
      TreatMissingData: p.TreatMissingData,
      AlarmActions: p.AlarmActions,
    });
    physical[logical] = alarmName;
    removers[logical] = () => deleteAlarms(world, accountId, region, [alarmName]);
  }

  const overrides = options.environmentOverrides ?? {};
  const variables = (declared: Record<string, string>): Record<string, string> =>
    Object.fromEntries(
      Object.entries(declared).map(([k, v]) => [k, k in overrides ? (overrides[k] as string) : v]),
    );

  // Functions, each from the zip its Code names (one per function when packaged individually).
  const extracted = new Map<string, string>();
  const runtime = lambdaRuntime(world, accountId, region);
  const asyncConfig = new Map<string, Json>();
  for (const [logical, r] of byType('AWS::Lambda::EventInvokeConfig')) {
    const p = resolve(r.Properties);
    asyncConfig.set(String(p.FunctionName), p);
    removers[logical] = () => {
      const fn = runtime.functions.get(String(p.FunctionName));
      if (!fn) return;
      delete fn.onFailure;
      delete fn.maximumRetryAttempts;
      delete fn.maximumEventAgeInSeconds;
    };
  }
  for (const [logical, r] of byType('AWS::Lambda::Function')) {
    const p = resolve(r.Properties);
    const key = String(p.Code?.S3Key ?? '');
    const zipName = key.split('/').pop() as string;
    let dir = extracted.get(zipName);
    if (!dir) {
      dir = extractOnce(join(outDir, zipName));
      extracted.set(zipName, dir);
    }
    const n = physical[logical] as string;
    const invokeConfig = asyncConfig.get(n);
    // A handler whose module is not in the zip deploys, and fails at invocation (ImportModuleError).
    runtime.register({
      name: n,
      handler: { taskRoot: dir, handler: String(p.Handler) },
      runtime: p.Runtime,
      timeout: p.Timeout,
      memorySize: p.MemorySize,
      environment: variables(p.Environment?.Variables ?? {}),
      onFailure: invokeConfig?.DestinationConfig?.OnFailure?.Destination,
      maximumRetryAttempts: invokeConfig?.MaximumRetryAttempts,
      maximumEventAgeInSeconds: invokeConfig?.MaximumEventAgeInSeconds,
      ...(typeof p.Role === 'string' && { role: p.Role }),
    });
    loaded.functions.push(n);
    removers[logical] = () => runtime.remove(n);
  }
  for (const [logical, r] of byType('AWS::Lambda::Permission')) {
    const p = resolve(r.Properties);
    try {
      addPermission(runtime.get(String(p.FunctionName)), { ...p, StatementId: logical });
    } catch (err) {
      throw new Error(`template: ${logical}: ${(err as Error).message}`);
    }
    removers[logical] = () => {
      runtime.functions.get(String(p.FunctionName).split(':').pop() as string)?.permissions?.delete(logical);
    };
  }

  // State machines: the definition after substitutions, through the same validation as the API.
  const sfn = statesOf(world, accountId, region);
  for (const [logical, r] of byType('AWS::StepFunctions::StateMachine')) {
    const p = resolve(r.Properties);
    const text = typeof p.DefinitionString === 'string' ? p.DefinitionString : JSON.stringify(p.Definition);
    let definition: ReturnType<typeof validateDefinition>;
    try {
      definition = validateDefinition(text);
    } catch (err) {
      throw new Error(`template: state machine ${logical}: ${(err as Error).message}`);
    }
    const arn = attrs[logical]?.Arn as string;
    const n = attrs[logical]?.Name as string;
    sfn.machines.set(arn, {
      arn,
      name: n,
      definition,
      definitionText: text,
      roleArn: typeof p.RoleArn === 'string' ? p.RoleArn : `arn:aws:iam::${accountId}:role/${stackName}-sfn`,
      type: 'STANDARD',
      creationDate: new Date(world.clock.now()),
    });
    loaded.stateMachines.push(n);
    removers[logical] = () => {
      sfn.machines.delete(arn);
    };
  }

  for (const [logical, r] of byType('AWS::Lambda::EventSourceMapping')) {
    const p = resolve(r.Properties);
    if (!String(p.EventSourceArn).startsWith('arn:aws:sqs:'))
      throw new Error(`template: event source ${p.EventSourceArn} is not supported locally (SQS only)`);
    const mapping = runtime.addEventSourceMapping({
      eventSourceArn: p.EventSourceArn,
      functionName: p.FunctionName,
      batchSize: p.BatchSize,
      functionResponseTypes: p.FunctionResponseTypes,
      enabled: p.Enabled !== false,
    });
    loaded.eventSourceMappings++;
    removers[logical] = () => runtime.removeEventSourceMapping(mapping.uuid);
  }

  for (const [logical, r] of byType('AWS::Events::Rule')) {
    const p = resolve(r.Properties);
    const ruleName = name(logical, p.Name);
    const rule = putRule(world, accountId, region, {
      Name: ruleName,
      EventBusName: p.EventBusName,
      EventPattern:
        p.EventPattern === undefined
          ? undefined
          : typeof p.EventPattern === 'string'
            ? p.EventPattern
            : JSON.stringify(p.EventPattern),
      ScheduleExpression: p.ScheduleExpression,
      State: p.State,
      Description: p.Description,
    });
    const result = putTargets(
      world,
      accountId,
      region,
      ruleName,
      p.EventBusName,
      (p.Targets ?? []) as Target[],
    );
    if (result.FailedEntryCount > 0) {
      throw new Error(
        `template: rule ${logical}: ${result.FailedEntries.map((f) => f.ErrorMessage).join('; ')}`,
      );
    }
    loaded.rules.push(rule.name);
    removers[logical] = () => {
      const bus = findBus(world, accountId, region, String(p.EventBusName ?? 'default'));
      if (bus) deleteRule(bus, ruleName);
    };
  }

  // HTTP APIs: routes -> integrations -> functions, with IAM or JWT authorizers.
  const integrations = new Map<string, Json>();
  for (const [logical, r] of byType('AWS::ApiGatewayV2::Integration'))
    integrations.set(physical[logical] as string, { logical, ...resolve(r.Properties) });
  const authorizers = new Map<string, Json>();
  for (const [logical, r] of byType('AWS::ApiGatewayV2::Authorizer'))
    authorizers.set(physical[logical] as string, resolve(r.Properties));
  for (const [logical] of byType('AWS::ApiGatewayV2::Api')) {
    const api = new HttpApi(world, { accountId, region, apiId: physical[logical] as string });
    loaded.httpApis[logical] = api;
    // Deleting the API stops its endpoint: nothing answers there any more.
    removers[logical] = () => api.close();
  }
  // Integrations, authorizers and stages hold nothing locally of their own: the routes carry their
  // settings (and go first, as they refer to them), the API's listener is its one stage.
  for (const type of [
    'AWS::ApiGatewayV2::Integration',
    'AWS::ApiGatewayV2::Authorizer',
    'AWS::ApiGatewayV2::Stage',
  ])
    for (const [logical] of byType(type)) removers[logical] = () => {};
  for (const [logical, r] of byType('AWS::ApiGatewayV2::Route')) {
    const p = resolve(r.Properties);
    const api = Object.entries(loaded.httpApis).find(([id]) => physical[id] === p.ApiId)?.[1];
    const integration = integrations.get(String(p.Target ?? '').replace(/^integrations\//, ''));
    if (!api || !integration) throw new Error(`template: route ${logical}: no API or integration`);
    if (integration.IntegrationType !== 'AWS_PROXY')
      throw new Error(`template: route ${logical}: only Lambda proxy integrations are supported locally`);
    let auth: RouteAuth = { type: 'NONE' };
    if (p.AuthorizationType === 'AWS_IAM') auth = { type: 'AWS_IAM' };
    else if (p.AuthorizationType === 'JWT') {
      const a = authorizers.get(String(p.AuthorizerId));
      const issuer = String(a?.JwtConfiguration?.Issuer ?? '');
      const keys = options.jwks?.[issuer];
      auth = { type: 'JWT', issuer, audience: (a?.JwtConfiguration?.Audience ?? []).map(String) };
      if (typeof keys === 'string') auth.jwksUri = keys;
      else if (keys) auth.jwks = keys;
    } else if (p.AuthorizationType !== undefined && p.AuthorizationType !== 'NONE') {
      throw new Error(
        `template: route ${logical}: authorization ${p.AuthorizationType} is not supported locally (AWS_IAM, JWT)`,
      );
    }
    api.addRoute({ routeKey: p.RouteKey, functionName: String(integration.IntegrationUri), auth });
    removers[logical] = () => api.removeRoute(p.RouteKey);
  }

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
  ]);
  for (const [logical, r] of Object.entries(resources)) {
    if (handled.has(r.Type)) continue;
    loaded.ignored[logical] = r.Type;
    if (!IGNORED_TYPES.has(r.Type)) world.log(`wiring: ${logical} (${r.Type}) is not simulated locally`);
  }
  // The stack, resource by resource, as CloudFormation knows it (what DeleteStack deletes).
  const logicalIds = new Set(Object.keys(resources));
  for (const [logical, r] of Object.entries(resources) as [string, Json][]) {
    if (r.Condition !== undefined && !condition(r.Condition)) continue;
    const dependsOn = referencedResources(r.Properties ?? {}, logicalIds);
    for (const d of r.DependsOn === undefined ? [] : [r.DependsOn].flat()) dependsOn.add(String(d));
    const created = !(logical in loaded.ignored);
    loaded.resources.push({
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
  for (const [key, o] of Object.entries((template.Outputs ?? {}) as Record<string, Json>)) {
    try {
      loaded.outputs.push({
        OutputKey: key,
        OutputValue: String(resolve(o.Value)),
        ...(o.Description ? { Description: String(o.Description) } : {}),
      });
    } catch (err) {
      world.log(`wiring: output ${key} is not simulated locally (${(err as Error).message})`);
    }
  }
  return loaded;
}

/** Runs `fn` with an SDK client, destroyed after. */
async function withClient<C extends { destroy(): void }, T>(c: C, fn: (c: C) => Promise<T>): Promise<T> {
  try {
    return await fn(c);
  } finally {
    c.destroy();
  }
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
  const stack = await withPackageLock(serviceDir, async () => {
    packaged = (
      await packageService(serviceDir, {
        ...(options.log ? { log: options.log } : {}),
        ...(options.inputs ? { inputs: options.inputs } : {}),
        ...(options.packaging ? { environment: { ...options.packaging } } : {}),
      })
    ).regenerated;
    return loadTemplate(world, load);
  });
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
