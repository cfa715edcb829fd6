/**
 * Lambda in the local cloud: the function runtime of one (account, region) (local/aws/lambda/
 * runtime.ts), reached by Step Functions tasks, EventBridge targets, SQS event source mappings,
 * on-failure destinations and the HTTP API. Lambda's own API is REST-JSON, which the edge does not
 * route; functions are registered from the CloudFormation wiring (local/aws/wiring.ts), from code
 * (`lambdaRuntime(world, ...)`) or with the admin action `register`.
 */
import { AwsError } from '../errors.ts';
import { LambdaRuntime } from '../lambda/runtime.ts';
import { defineService, type World } from '../service.ts';
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

export default defineService<LambdaState>({
  name: 'lambda',
  signingName: 'lambda',
  protocol: 'json1.1',
  operations: {},
  createState: ({ accountId, region }, world) => ({
    runtime: new LambdaRuntime({
      clock: world.clock,
      accountId,
      region,
      deliver: (arn, payload) => deliverToArn(world, arn, payload),
      queue: (arn) => queuesOf(world, arn),
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
      const fn = lambdaRuntime(world, accountId, region).register({
        name: String(body.name),
        handler: { file: m[1] as string, export: m[2] as string },
        timeout: body.timeout,
        environment: body.environment,
        onFailure: body.onFailure,
      });
      return { functionArn: fn.arn };
    },
    async invoke(body, world) {
      const { accountId, region } = scopeOf(body, world);
      const res = await lambdaRuntime(world, accountId, region).invoke(String(body.name), body.payload);
      return res;
    },
  },
});
