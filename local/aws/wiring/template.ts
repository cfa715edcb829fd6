/**
 * How the local cloud reads a CloudFormation template: the physical name and attributes of every
 * resource (as CloudFormation names them in the account and region), and the intrinsic functions
 * (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::If` and conditions, `Fn::Join`, `Fn::Select`, `Fn::Split`)
 * the resource modules resolve properties with. Also the context every resource module gets.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { World } from '../service.ts';
import type { LoadedStack, LoadOptions } from '../wiring.ts';
import { TEMPLATE } from './packaging.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation is free-form JSON.
export type Json = any;

/** A template as read for one account and region: what the resource modules resolve against. */
export interface TemplateView {
  template: Json;
  /** serverless-state.json beside the template (the artifact directory, the service's name). */
  state: Json;
  outDir: string;
  stackName: string;
  resources: Record<string, { Type: string; Properties?: Json; Condition?: string }>;
  /** The pseudo parameters' values in this account and region (`AWS::Region`...). */
  pseudo: Readonly<Record<string, string>>;
  /** Logical id -> physical id (what `Ref` gives). */
  physical: Record<string, string>;
  /** Logical id -> `Fn::GetAtt` attributes. */
  attrs: Record<string, Record<string, string>>;
  /** A resource's name: the one given, else `<stack>-<logical id>` cut to `max`. */
  name: (logical: string, given: unknown, max?: number) => string;
  /** A value with every intrinsic function resolved (`Ref: AWS::NoValue` removes what holds it). */
  resolve: (v: Json) => Json;
  condition: (nameOrExpr: Json) => boolean;
  /** The resources of one type whose Condition holds (the others are not created). */
  byType: (type: string) => [string, { Type: string; Properties?: Json; Condition?: string }][];
}

/** What every resource module of the wiring works with: the template read, the target, the stack built. */
export interface Wiring extends TemplateView {
  world: World;
  options: LoadOptions;
  accountId: string;
  region: string;
  loaded: LoadedStack;
  /** How each created resource is deleted through its local service, by logical id. */
  removers: Record<string, () => unknown>;
  /** SDK client settings that create the stateful resources through the edge, as CloudFormation would. */
  client: { region: string; endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } };
}

/** Reads the packaged template and names every resource, as CloudFormation would in this account and region. */
export function readTemplate(options: LoadOptions): TemplateView {
  const outDir = join(options.serviceDir, '.serverless');
  const template = JSON.parse(readFileSync(join(outDir, TEMPLATE), 'utf8')) as Json;
  const state = JSON.parse(readFileSync(join(outDir, 'serverless-state.json'), 'utf8')) as Json;
  const stackName = `${state.service.service}-${state.service.provider.stage}`;
  return viewTemplate(template, { stackName, state, outDir, ...options });
}

/**
 * A template already in memory (a stack deployed through the admin API) read as CloudFormation
 * would in this account and region.
 */
export function viewTemplate(
  template: Json,
  options: {
    stackName: string;
    accountId: string;
    region: string;
    endpoint: string;
    state?: Json;
    outDir?: string;
  },
): TemplateView {
  const { stackName, accountId, region, endpoint } = options;
  const state = options.state ?? {};
  const outDir = options.outDir ?? '';
  if (template === null || typeof template !== 'object' || typeof template.Resources !== 'object')
    throw new RangeError('template: Resources is required');
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
      case 'AWS::Scheduler::ScheduleGroup': {
        // Ref of a schedule group or a schedule is its name.
        const n = name(logical, p.Name);
        physical[logical] = n;
        attrs[logical] = { Arn: `arn:aws:scheduler:${region}:${accountId}:schedule-group/${n}` };
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
  // A schedule's ARN names its group (schedule/<group>/<name>), known once the groups are named.
  for (const [logical, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Scheduler::Schedule') continue;
    const n = name(logical, r.Properties?.Name);
    const group = r.Properties?.GroupName === undefined ? 'default' : String(resolve(r.Properties.GroupName));
    physical[logical] = n;
    attrs[logical] = { Arn: `arn:aws:scheduler:${region}:${accountId}:schedule/${group}/${n}` };
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
  // A resource whose Condition is false is not created.
  const byType = (type: string) =>
    Object.entries(resources).filter(
      ([, r]) => r.Type === type && (r.Condition === undefined || condition(r.Condition)),
    );
  return {
    template,
    state,
    outDir,
    stackName,
    resources,
    pseudo,
    physical,
    attrs,
    name,
    resolve,
    condition,
    byType,
  };
}
