/**
 * CloudFormation subset (awsQuery, API 2010-05-15): `DescribeStacks` of the stacks the local cloud
 * deployed from a serverless package (local/aws/wiring.ts registers each with `putStack`), with
 * their Outputs as a deployed stack shows them, so `scripts/deploy-gcp --from-aws-stack` reads the
 * AWS half's values as it does from AWS. Simplification: no CreateStack / UpdateStack (the local
 * cloud deploys from the package itself); a stack is CREATE_COMPLETE once loaded.
 */
import { AwsError } from '../errors.ts';
import { defineService, type World } from '../service.ts';

export interface LocalStack {
  stackName: string;
  stackId: string;
  outputs: { OutputKey: string; OutputValue: string; Description?: string; ExportName?: string }[];
  creationTime: Date;
}

interface CfnState {
  stacks: Map<string, LocalStack>;
}

/** Registers (or replaces) a deployed stack in `accountId`/`region`. */
export function putStack(
  world: World,
  accountId: string,
  region: string,
  stack: { stackName: string; outputs: LocalStack['outputs'] },
): LocalStack {
  const state = world.stateOf<CfnState>('cloudformation', accountId, region);
  const had = state.stacks.get(stack.stackName);
  const id =
    had?.stackId ??
    `arn:aws:cloudformation:${region}:${accountId}:stack/${stack.stackName}/${world.random.uuid()}`;
  const s: LocalStack = {
    ...stack,
    stackId: id,
    creationTime: had?.creationTime ?? new Date(world.clock.now()),
  };
  state.stacks.set(stack.stackName, s);
  return s;
}

export default defineService<CfnState>({
  name: 'cloudformation',
  signingName: 'cloudformation',
  protocol: 'query',
  xmlNamespace: 'http://cloudformation.amazonaws.com/doc/2010-05-15/',
  createState: () => ({ stacks: new Map() }),
  status: (s) => (s.stacks.size > 0 ? { stacks: [...s.stacks.keys()] } : undefined),
  operations: {
    DescribeStacks(input: { StackName?: string }, ctx) {
      const all = [...ctx.state.stacks.values()];
      const found = input.StackName
        ? all.filter((s) => s.stackName === input.StackName || s.stackId === input.StackName)
        : all;
      if (input.StackName && found.length === 0)
        throw new AwsError('ValidationError', `Stack with id ${input.StackName} does not exist`, {
          status: 400,
        });
      return {
        Stacks: found.map((s) => ({
          StackId: s.stackId,
          StackName: s.stackName,
          CreationTime: s.creationTime,
          StackStatus: 'CREATE_COMPLETE',
          Outputs: s.outputs,
        })),
      };
    },
  },
});
