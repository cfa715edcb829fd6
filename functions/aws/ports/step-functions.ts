/**
 * The Step Functions ports: the task tokens (SendTaskSuccess / SendTaskFailure) that answer a
 * waiting stage, and the executions (StartExecution, DescribeExecution) the intake starts, on one
 * client per process.
 */
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { Executions } from '../intake.ts';
import { type Env, type PortFactory, region } from '../runtime.ts';

let client: SFNClient | undefined;
const sfnClient = (env: Env) => {
  client ??= new SFNClient({ region: region(env) });
  return client;
};

export const tokens: PortFactory<'tokens'> = (env) => {
  const sfn = sfnClient(env);
  return {
    success: async (taskToken, output) => {
      await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    },
    failure: async (taskToken, error, cause) => {
      await sfn.send(new SendTaskFailureCommand({ taskToken, error, cause }));
    },
  };
};

export const executions: PortFactory<'executions'> = (env) => sfnExecutions(sfnClient(env));

/** Step Functions as the intake's `Executions`: StartExecution (exists -> false) and DescribeExecution. */
export function sfnExecutions(sfn: SFNClient): Executions {
  return {
    start: async (stateMachineArn, name, input) => {
      try {
        await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
        return true;
      } catch (e) {
        if (e instanceof ExecutionAlreadyExists || (e as Error).name === 'ExecutionAlreadyExists')
          return false;
        throw e;
      }
    },
    running: async (stateMachineArn, name) => {
      const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
      try {
        const out = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        return out.status === 'RUNNING';
      } catch (e) {
        if ((e as Error).name === 'ExecutionDoesNotExist') return false;
        throw e;
      }
    },
  };
}
