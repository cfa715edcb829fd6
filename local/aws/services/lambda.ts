/**
 * Lambda in the local cloud: the function runtime of one (account, region) (local/aws/lambda/
 * runtime.ts), reached by Step Functions tasks, EventBridge targets, SQS event source mappings,
 * on-failure destinations and the HTTP API. On the edge, Lambda's REST-JSON API answers `Invoke`
 * (RequestResponse, Event, DryRun), `GetFunction` and `ListFunctions` for `@aws-sdk/client-lambda`.
 * Functions are registered from the CloudFormation wiring (local/aws/wiring.ts), from code
 * (`lambdaRuntime(world, ...)`) or with the admin action `register`.
 */
import { randomBytes } from 'node:crypto';
import { AwsError } from '../errors.ts';
import { authorizeEngineCall, sessionOf } from '../iam/enforce.ts';
import { type LambdaFunction, LambdaServiceError } from '../lambda/functions.ts';
import { LambdaRuntime } from '../lambda/runtime.ts';
import { RawResponse } from '../protocols.ts';
import { defineService, type RestInput, type World } from '../service.ts';
import { queuesOf } from './sqs.ts';

export interface LambdaSettings {
  /** Environment every module function gets (e.g. AWS_ENDPOINT_URL of the local edge, credentials). */
  environment: Record<string, string>;
}

export interface LambdaState {
  runtime: LambdaRuntime;
}

/** The function's resource-based policy (JSON text), when it has statements. */
export function functionPolicyText(fn: LambdaFunction): string | undefined {
  if (!fn.permissions || fn.permissions.size === 0) return undefined;
  return JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: [...fn.permissions.values()] });
}

export interface PermissionInput {
  StatementId?: unknown;
  Action?: unknown;
  Principal?: unknown;
  SourceArn?: unknown;
  SourceAccount?: unknown;
}

/**
 * Adds a statement to a function's policy as AddPermission (and AWS::Lambda::Permission) do: the
 * principal (a service, an account or an ARN), the action on the function, and the SourceArn /
 * SourceAccount conditions. Refused naming the field when a field is missing or malformed.
 */
export function addPermission(fn: LambdaFunction, input: PermissionInput): Record<string, unknown> {
  const sid = String(input.StatementId ?? '');
  if (!/^[a-zA-Z0-9-_.]{1,100}$/.test(sid))
    throw new AwsError(
      'ValidationException',
      `StatementId ${JSON.stringify(sid)} must be 1-100 letters, digits, -, _ or .`,
      { status: 400 },
    );
  const action = String(input.Action ?? '');
  if (!/^lambda:[A-Za-z*]+$/.test(action))
    throw new AwsError('ValidationException', `Action ${JSON.stringify(action)} must be lambda:<action>`, {
      status: 400,
    });
  const principal = String(input.Principal ?? '');
  if (principal === '') throw new AwsError('ValidationException', 'Principal is required', { status: 400 });
  if (fn.permissions?.has(sid))
    throw new AwsError(
      'ResourceConflictException',
      `The statement id (${sid}) provided already exists. Please provide a new statement id, or remove the existing statement.`,
      { status: 409 },
    );
  const condition: Record<string, Record<string, string>> = {};
  if (typeof input.SourceArn === 'string') condition.ArnLike = { 'AWS:SourceArn': input.SourceArn };
  if (typeof input.SourceAccount === 'string')
    condition.StringEquals = { 'AWS:SourceAccount': input.SourceAccount };
  const statement = {
    Sid: sid,
    Effect: 'Allow',
    Principal: principal.endsWith('.amazonaws.com')
      ? { Service: principal }
      : { AWS: /^\d{12}$/.test(principal) ? `arn:aws:iam::${principal}:root` : principal },
    Action: action,
    Resource: fn.arn,
    ...(Object.keys(condition).length > 0 && { Condition: condition }),
  };
  const next = new Map(fn.permissions ?? []);
  next.set(sid, statement);
  fn.permissions = next;
  return statement;
}

/**
 * The credentials Lambda gives a function's sandbox: a session of its execution role named after
 * the function (`arn:aws:sts::<account>:assumed-role/<role>/<function>`), one per function and
 * role, known to the edge by its access key. Lambda renews them before they expire, so they carry
 * no expiry here.
 */
function roleSessions(world: World): (fn: LambdaFunction) => Record<string, string> {
  const minted = new Map<string, Record<string, string>>();
  return (fn) => {
    const role = fn.role as string;
    const key = `${fn.arn}|${role}`;
    let env = minted.get(key);
    if (!env) {
      const principal = sessionOf(role, fn.name);
      // Not from the seeded random: minting keys must not shift the faults' sequence.
      const accessKeyId = `ASIA${randomBytes(10).toString('hex').toUpperCase().slice(0, 16)}`;
      const secretAccessKey = randomBytes(30).toString('base64');
      const sessionToken = `IQoJb3JpZ2luX2Vj${randomBytes(150).toString('base64')}`;
      world.credentials.add({
        accessKeyId,
        secretAccessKey,
        sessionToken,
        principal: { ...principal, accessKeyId },
      });
      env = {
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
        AWS_SESSION_TOKEN: sessionToken,
      };
      minted.set(key, env);
    }
    return env;
  };
}

/** The execution role's session, as the engines act for a function (destinations, queue polling). */
function functionSession(fn: LambdaFunction) {
  return { session: sessionOf(fn.role as string, fn.name) };
}

/** The Lambda runtime of (account, region). */
export function lambdaRuntime(world: World, accountId: string, region: string): LambdaRuntime {
  return world.stateOf<LambdaState>('lambda', accountId, region).runtime;
}

/** What Lambda needs of the execution role to send to an on-failure destination (Lambda Developer Guide). */
const DESTINATION_ACTIONS: Record<string, string> = {
  sqs: 'sqs:SendMessage',
  sns: 'sns:Publish',
  lambda: 'lambda:InvokeFunction',
  events: 'events:PutEvents',
};

function scopeOf(body: { accountId?: string; region?: string }, world: World) {
  return {
    accountId: body.accountId ?? world.credentials.accounts()[0] ?? '000000000000',
    region: body.region ?? world.defaultRegion,
  };
}

function header(input: RestInput, name: string): string | undefined {
  const v = input.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function configuration(fn: LambdaFunction) {
  return {
    FunctionName: fn.name,
    FunctionArn: fn.arn,
    Runtime: fn.runtime ?? 'nodejs24.x',
    Handler:
      typeof fn.handler === 'function'
        ? 'inline'
        : 'taskRoot' in fn.handler
          ? fn.handler.handler
          : `${fn.handler.file}.${fn.handler.export}`,
    Timeout: fn.timeout ?? 6,
    MemorySize: fn.memorySize ?? 1024,
    Version: fn.version,
    LastModified: new Date(fn.lastModified).toISOString().replace('Z', '+0000'),
    State: 'Active',
    Environment: { Variables: fn.environment ?? {} },
  };
}

function serviceError(err: unknown): never {
  if (err instanceof LambdaServiceError) {
    throw new AwsError(err.name, err.message, {
      status:
        err.name === 'ResourceNotFoundException' ? 404 : err.name === 'TooManyRequestsException' ? 429 : 400,
      ...(err.reason ? { fields: { Reason: err.reason } } : {}),
    });
  }
  throw err;
}

export default defineService<LambdaState>({
  name: 'lambda',
  deliver(world, { arn, accountId, region }, payload) {
    lambdaRuntime(world, accountId, region).invokeAsync(
      arn,
      typeof payload === 'string' ? JSON.parse(payload) : payload,
    );
  },
  signingName: 'lambda',
  protocol: 'rest-json',
  routes: [
    { method: 'POST', path: '/2015-03-31/functions/{FunctionName}/invocations', operation: 'Invoke' },
    { method: 'GET', path: '/2015-03-31/functions/{FunctionName}', operation: 'GetFunction' },
    { method: 'DELETE', path: '/2015-03-31/functions/{FunctionName}', operation: 'DeleteFunction' },
    { method: 'GET', path: '/2015-03-31/functions', operation: 'ListFunctions' },
    { method: 'GET', path: '/2015-03-31/functions/', operation: 'ListFunctions' },
    { method: 'POST', path: '/2015-03-31/functions/{FunctionName}/policy', operation: 'AddPermission' },
    { method: 'GET', path: '/2015-03-31/functions/{FunctionName}/policy', operation: 'GetPolicy' },
    {
      method: 'DELETE',
      path: '/2015-03-31/functions/{FunctionName}/policy/{StatementId}',
      operation: 'RemovePermission',
    },
  ],
  operations: {
    async Invoke(input: RestInput, ctx) {
      const type = header(input, 'x-amz-invocation-type') ?? 'RequestResponse';
      let payload: unknown = input.body;
      if (typeof input.body === 'string') {
        try {
          payload = input.body === '' ? {} : JSON.parse(input.body);
        } catch {
          throw new AwsError('InvalidRequestContentException', 'Could not parse request body into json', {
            status: 400,
          });
        }
      }
      try {
        const fn = ctx.state.runtime.get(input.path.FunctionName as string);
        if (type === 'DryRun') return new RawResponse(204, {}, '');
        if (type === 'Event') {
          ctx.state.runtime.invokeAsync(fn.name, payload);
          return new RawResponse(202, {}, '');
        }
        if (type !== 'RequestResponse') {
          throw new AwsError('InvalidParameterValueException', `Unsupported invocation type ${type}`, {
            status: 400,
          });
        }
        const res = await ctx.state.runtime.invoke(fn.name, payload);
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          'x-amz-executed-version': res.executedVersion,
        };
        if (res.functionError) headers['x-amz-function-error'] = res.functionError;
        return new RawResponse(200, headers, JSON.stringify(res.payload ?? null));
      } catch (err) {
        return serviceError(err);
      }
    },
    GetFunction(input: RestInput, ctx) {
      try {
        const fn = ctx.state.runtime.get(input.path.FunctionName as string);
        return { Configuration: configuration(fn) };
      } catch (err) {
        return serviceError(err);
      }
    },
    /**
     * Deletes the function with its versions (the local runtime publishes none: only $LATEST) and
     * its sandboxes; its event source mappings stay, as in Lambda (DeleteEventSourceMapping).
     */
    DeleteFunction(input: RestInput, ctx) {
      try {
        const fn = ctx.state.runtime.get(input.path.FunctionName as string);
        const qualifier = input.query.Qualifier;
        if (qualifier === '$LATEST')
          throw new AwsError(
            'InvalidParameterValueException',
            '$LATEST version cannot be deleted without deleting the function.',
            { status: 400 },
          );
        if (qualifier !== undefined)
          throw new AwsError(
            'ResourceNotFoundException',
            `Function not found: ${fn.arn}:${String(qualifier)}`,
            { status: 404 },
          );
        ctx.state.runtime.remove(fn.name);
        return new RawResponse(204, {}, '');
      } catch (err) {
        return serviceError(err);
      }
    },
    AddPermission(input: RestInput, ctx) {
      try {
        const fn = ctx.state.runtime.get(input.path.FunctionName as string);
        const body = (
          typeof input.body === 'string' ? JSON.parse(input.body || '{}') : input.body
        ) as PermissionInput;
        return new RawResponse(
          201,
          { 'content-type': 'application/json' },
          JSON.stringify({ Statement: JSON.stringify(addPermission(fn, body)) }),
        );
      } catch (err) {
        return serviceError(err);
      }
    },
    GetPolicy(input: RestInput, ctx) {
      try {
        const fn = ctx.state.runtime.get(input.path.FunctionName as string);
        const policy = functionPolicyText(fn);
        if (!policy)
          throw new AwsError('ResourceNotFoundException', 'The resource you requested does not exist.', {
            status: 404,
          });
        return { Policy: policy, RevisionId: String(fn.lastModified) };
      } catch (err) {
        return serviceError(err);
      }
    },
    RemovePermission(input: RestInput, ctx) {
      try {
        const fn = ctx.state.runtime.get(input.path.FunctionName as string);
        const sid = input.path.StatementId as string;
        if (!fn.permissions?.has(sid))
          throw new AwsError('ResourceNotFoundException', 'The resource you requested does not exist.', {
            status: 404,
          });
        fn.permissions.delete(sid);
        return new RawResponse(204, {}, '');
      } catch (err) {
        return serviceError(err);
      }
    },
    ListFunctions(_input: RestInput, ctx) {
      return { Functions: [...ctx.state.runtime.functions.values()].map(configuration) };
    },
  },
  createState: ({ accountId, region }, world) => ({
    runtime: new LambdaRuntime({
      clock: world.clock,
      accountId,
      region,
      deliver: (arn, payload) => world.deliver(arn, payload),
      queue: (arn) => queuesOf(world, arn),
      faults: world.faults,
      baseEnvironment: () => ({ ...world.settings<LambdaSettings>('lambda').environment }),
      roleCredentials: roleSessions(world),
      authorizeDestination: (fn, arn) => {
        if (!fn.role) return;
        const action = DESTINATION_ACTIONS[arn.split(':')[2] as string];
        if (action) authorizeEngineCall(world, functionSession(fn), action, arn);
      },
      authorizeLogs: (fn, stream) => {
        if (!fn.role) return true;
        const group = `arn:aws:logs:${region}:${accountId}:log-group:/aws/lambda/${fn.name}`;
        try {
          authorizeEngineCall(
            world,
            functionSession(fn),
            'logs:CreateLogStream',
            `${group}:log-stream:${stream}`,
          );
          authorizeEngineCall(
            world,
            functionSession(fn),
            'logs:PutLogEvents',
            `${group}:log-stream:${stream}`,
          );
          return true;
        } catch (refusal) {
          world.log(`lambda ${fn.name}: its logs are not kept: ${(refusal as Error).message}`);
          return false;
        }
      },
      authorizeSource: (fn, queueArn) => {
        if (!fn.role) return;
        for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'])
          authorizeEngineCall(world, functionSession(fn), action, queueArn);
      },
      log: (m) => world.log(m),
    }),
  }),
  status: (state) => ({
    functions: [...state.runtime.functions.keys()],
    eventSourceMappings: [...state.runtime.mappings.values()].map((m) => ({
      source: m.eventSourceArn,
      function: m.functionArn,
    })),
    invocations: state.runtime.invocations.length,
    asyncPending: state.runtime.asyncPending,
  }),
  admin: {
    /** `{name, handler: "<file>#<export>" | "<file>.<export>", timeout?, environment?, onFailure?}` */
    register(body, world) {
      const { accountId, region } = scopeOf(body, world);
      const spec = String(body.handler ?? '');
      const m = /^(.*)[#.]([A-Za-z_$][\w$]*)$/.exec(spec);
      if (!body.name || !m)
        throw new AwsError(
          'InvalidParameterValueException',
          'name and handler "<file>#<export>" are required',
        );
      try {
        const fn = lambdaRuntime(world, accountId, region).register({
          name: String(body.name),
          handler: { file: m[1] as string, export: m[2] as string },
          timeout: body.timeout,
          environment: body.environment,
          onFailure: body.onFailure,
        });
        return { functionArn: fn.arn };
      } catch (err) {
        // A reserved variable name: InvalidParameterValueException, 400.
        return serviceError(err);
      }
    },
    /**
     * `{function, enabled}`: stops (or resumes) every SQS event source mapping of the function, as
     * `aws lambda update-event-source-mapping --no-enabled` would; answers the mappings changed.
     */
    'set-mappings'(body, world) {
      const { accountId, region } = scopeOf(body, world);
      if (typeof body.enabled !== 'boolean')
        throw new AwsError('InvalidParameterValueException', 'enabled must be true or false');
      const runtime = lambdaRuntime(world, accountId, region);
      let fn: LambdaFunction;
      try {
        fn = runtime.get(String(body.function ?? ''));
      } catch (err) {
        return serviceError(err);
      }
      const changed = [...runtime.mappings.values()]
        .filter((m) => m.functionArn === fn.arn)
        .map((m) => runtime.setEventSourceMappingEnabled(m.uuid, body.enabled));
      return {
        mappings: changed.map((m) => ({ uuid: m.uuid, source: m.eventSourceArn, enabled: m.enabled })),
      };
    },
    async invoke(body, world) {
      const { accountId, region } = scopeOf(body, world);
      const res = await lambdaRuntime(world, accountId, region).invoke(String(body.name), body.payload);
      return res;
    },
  },
});
