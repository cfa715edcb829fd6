/**
 * Lambda in the local cloud: the function runtime of one (account, region) (local/aws/lambda/
 * runtime.ts), reached by Step Functions tasks, EventBridge targets, SQS event source mappings,
 * on-failure destinations and the HTTP API. On the edge, Lambda's REST-JSON API answers `Invoke`
 * (RequestResponse, Event, DryRun), `GetFunction` and `ListFunctions` for `@aws-sdk/client-lambda`.
 * Functions are registered from the CloudFormation wiring (local/aws/wiring.ts), from code
 * (`lambdaRuntime(world, ...)`) or with the admin action `register`.
 */
import { AwsError } from '../errors.ts';
import { type LambdaFunction, LambdaRuntime, LambdaServiceError } from '../lambda/runtime.ts';
import { RawResponse } from '../protocols.ts';
import { defineService, type RestInput, type World } from '../service.ts';
import { deliverToArn } from './delivery.ts';
import { queuesOf } from './sqs.ts';

export interface LambdaSettings {
  /** Environment every module function gets (e.g. AWS_ENDPOINT_URL of the local edge, credentials). */
  environment: Record<string, string>;
}

export interface LambdaState {
  runtime: LambdaRuntime;
}

/** The Lambda runtime of (account, region). */
export function lambdaRuntime(world: World, accountId: string, region: string): LambdaRuntime {
  return world.stateOf<LambdaState>('lambda', accountId, region).runtime;
}

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
      status: err.name === 'ResourceNotFoundException' ? 404 : 400,
    });
  }
  throw err;
}

export default defineService<LambdaState>({
  name: 'lambda',
  signingName: 'lambda',
  protocol: 'rest-json',
  routes: [
    { method: 'POST', path: '/2015-03-31/functions/{FunctionName}/invocations', operation: 'Invoke' },
    { method: 'GET', path: '/2015-03-31/functions/{FunctionName}', operation: 'GetFunction' },
    { method: 'GET', path: '/2015-03-31/functions', operation: 'ListFunctions' },
    { method: 'GET', path: '/2015-03-31/functions/', operation: 'ListFunctions' },
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
    ListFunctions(_input: RestInput, ctx) {
      return { Functions: [...ctx.state.runtime.functions.values()].map(configuration) };
    },
  },
  createState: ({ accountId, region }, world) => ({
    runtime: new LambdaRuntime({
      clock: world.clock,
      accountId,
      region,
      deliver: (arn, payload) => deliverToArn(world, arn, payload),
      queue: (arn) => queuesOf(world, arn),
      faults: world.faults,
      baseEnvironment: () => ({ ...world.settings<LambdaSettings>('lambda').environment }),
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
    async invoke(body, world) {
      const { accountId, region } = scopeOf(body, world);
      const res = await lambdaRuntime(world, accountId, region).invoke(String(body.name), body.payload);
      return res;
    },
  },
});
