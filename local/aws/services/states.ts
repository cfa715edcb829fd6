/**
 * AWS Step Functions on the edge (JSON 1.0, `AWSStepFunctions.<Op>`), so `@aws-sdk/client-sfn`
 * works unchanged: state machines (Standard, the JSONPath subset of local/aws/sfn/definition.ts),
 * executions with AWS's name idempotency, history, stop, and task tokens. Lambda tasks invoke the
 * functions of local/aws/services/lambda.ts in the account and region of their ARN.
 */
import { randomUUID } from 'node:crypto';
import { AwsError, errorClass } from '../errors.ts';
import { authorizeEngineCall, sessionOf } from '../iam/enforce.ts';
import { functionNameOf } from '../lambda/functions.ts';
import { defineService, type World } from '../service.ts';
import { InvalidDefinitionError, type MachineDef, validateDefinition } from '../sfn/definition.ts';
import { type Execution, MAX_PAYLOAD_BYTES, type MachineRef, TaskTokenError } from '../sfn/execution.ts';
import { StepFunctionsEngine } from '../sfn/interpreter.ts';
import { lambdaRuntime } from './lambda.ts';

const InvalidArn = errorClass('InvalidArn', 400);
const InvalidName = errorClass('InvalidName', 400);
const InvalidDefinition = errorClass('InvalidDefinition', 400);
const StateMachineDoesNotExist = errorClass('StateMachineDoesNotExist', 400);
const StateMachineAlreadyExists = errorClass('StateMachineAlreadyExists', 400);
const ExecutionDoesNotExist = errorClass('ExecutionDoesNotExist', 400);
const ExecutionAlreadyExists = errorClass('ExecutionAlreadyExists', 400);
const InvalidExecutionInput = errorClass('InvalidExecutionInput', 400);
const InvalidOutput = errorClass('InvalidOutput', 400);
const Validation = errorClass('ValidationException', 400);

interface StateMachine extends MachineRef {
  definitionText: string;
  type: 'STANDARD';
  creationDate: Date;
  updateDate?: Date;
}

export interface StatesState {
  engine: StepFunctionsEngine;
  machines: Map<string, StateMachine>;
  /** By execution ARN, in start order. */
  executions: Map<string, Execution>;
  accountId: string;
  region: string;
}

const NAME = /^[A-Za-z0-9_-]{1,80}$/;

function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw InvalidName(
      `Invalid Name: '${String(name)}' (${what} names are 1-80 characters of A-Z a-z 0-9 - _)`,
    );
  }
  return name;
}

function machineOf(state: StatesState, arn: unknown): StateMachine {
  if (typeof arn !== 'string' || !arn.startsWith('arn:aws:states:'))
    throw InvalidArn(`Invalid Arn: '${String(arn)}'`);
  const m = state.machines.get(arn);
  if (!m) throw StateMachineDoesNotExist(`State Machine Does Not Exist: '${arn}'`);
  return m;
}

function executionOf(state: StatesState, arn: unknown): Execution {
  if (typeof arn !== 'string' || !arn.startsWith('arn:aws:states:'))
    throw InvalidArn(`Invalid Arn: '${String(arn)}'`);
  const e = state.executions.get(arn);
  if (!e) throw ExecutionDoesNotExist(`Execution Does Not Exist: '${arn}'`);
  return e;
}

function parseDefinition(text: unknown): MachineDef {
  if (typeof text !== 'string')
    throw InvalidDefinition('Invalid State Machine Definition: the definition is required');
  try {
    return validateDefinition(text);
  } catch (err) {
    if (err instanceof InvalidDefinitionError) {
      throw InvalidDefinition(`Invalid State Machine Definition: '${err.problems.join("', '")}'`);
    }
    throw err;
  }
}

/** Starts an execution with AWS's name rules; used by StartExecution and EventBridge targets. */
export function startExecution(
  state: StatesState,
  machineArn: string,
  input: string | undefined,
  name?: string,
): Execution {
  const machine = machineOf(state, machineArn);
  const text = input ?? '{}';
  if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) {
    throw InvalidExecutionInput(
      `Invalid Execution Input: the input is larger than ${MAX_PAYLOAD_BYTES} bytes`,
    );
  }
  try {
    JSON.parse(text);
  } catch {
    throw InvalidExecutionInput(`Invalid Execution Input: '${text.slice(0, 100)}' is not JSON`);
  }
  const execName = name === undefined ? randomUUID() : checkName(name, 'execution');
  const arn = `arn:aws:states:${state.region}:${state.accountId}:execution:${machine.name}:${execName}`;
  const existing = state.executions.get(arn);
  if (existing) {
    // AWS: the same name and input while the execution is open returns it; anything else conflicts.
    if (existing.status === 'RUNNING' && existing.input === text) return existing;
    throw ExecutionAlreadyExists(`Execution Already Exists: '${arn}'`);
  }
  // A running execution keeps the definition it started with, even if the machine is updated.
  const snapshot: MachineRef = {
    arn: machine.arn,
    name: machine.name,
    definition: machine.definition,
    roleArn: machine.roleArn,
  };
  const exec = state.engine.start(snapshot, execName, text, arn);
  state.executions.set(arn, exec);
  return exec;
}

/** EventBridge / destinations: start an execution of the machine with this ARN. */
export function startExecutionFor(world: World, machineArn: string, input: string, name?: string): Execution {
  const [, , , region, accountId] = machineArn.split(':');
  return startExecution(
    world.stateOf<StatesState>('states', accountId as string, region as string),
    machineArn,
    input,
    name,
  );
}

/** The state of Step Functions in (account, region): tests and the CLI reach executions here. */
export function statesOf(world: World, accountId: string, region: string): StatesState {
  return world.stateOf<StatesState>('states', accountId, region);
}

function describeExecution(e: Execution) {
  return {
    executionArn: e.arn,
    stateMachineArn: e.machine.arn,
    name: e.name,
    status: e.status,
    startDate: e.startDate,
    stopDate: e.stopDate,
    input: e.input,
    inputDetails: { included: true },
    output: e.output,
    outputDetails: e.output === undefined ? undefined : { included: true },
    error: e.error,
    cause: e.cause,
    redriveCount: 0,
  };
}

function tokenCall(fn: () => void): Record<string, never> {
  try {
    fn();
    return {};
  } catch (err) {
    if (err instanceof TaskTokenError) throw new AwsError(err.code, err.message, { status: 400 });
    throw err;
  }
}

function page<T>(
  items: T[],
  maxResults: unknown,
  nextToken: unknown,
  limit = 1000,
): { items: T[]; nextToken?: string } {
  const max = typeof maxResults === 'number' && maxResults > 0 ? Math.min(maxResults, limit) : limit;
  let start = 0;
  if (nextToken !== undefined) {
    const n = Number(Buffer.from(String(nextToken), 'base64url').toString('utf8'));
    if (!Number.isInteger(n) || n < 0) throw Validation('Invalid Token: the nextToken is not valid');
    start = n;
  }
  const slice = items.slice(start, start + max);
  const out: { items: T[]; nextToken?: string } = { items: slice };
  if (start + max < items.length) out.nextToken = Buffer.from(String(start + max)).toString('base64url');
  return out;
}

export default defineService<StatesState>({
  name: 'states',
  deliver(world, { arn }, payload) {
    startExecutionFor(world, arn, typeof payload === 'string' ? payload : JSON.stringify(payload));
  },
  signingName: 'states',
  protocol: 'json1.0',
  targetPrefix: 'AWSStepFunctions',
  errors: {
    throttling: { code: 'ThrottlingException', status: 400 },
    server: { code: 'InternalFailure', status: 500 },
  },
  createState: ({ accountId, region }, world) => ({
    accountId,
    region,
    machines: new Map(),
    executions: new Map(),
    engine: new StepFunctionsEngine({
      clock: world.clock,
      region,
      random: () => world.random.next(),
      invokeLambda: async (req) => {
        const arnParts = req.functionName.startsWith('arn:') ? req.functionName.split(':') : [];
        const runtime = lambdaRuntime(world, arnParts[4] ?? accountId, arnParts[3] ?? region);
        const name = functionNameOf(req.functionName);
        if (req.caller) {
          // Step Functions invokes with a session of the state machine's role.
          const fnArn = `arn:aws:lambda:${arnParts[3] ?? region}:${arnParts[4] ?? accountId}:function:${name}`;
          try {
            authorizeEngineCall(
              world,
              { session: sessionOf(req.caller.roleArn, req.caller.execution.slice(0, 64)) },
              'lambda:InvokeFunction',
              fnArn,
            );
          } catch (err) {
            // The task's error as Step Functions reports a refused Lambda call.
            throw {
              name: 'AWSLambdaException',
              message: `${(err as Error).message} (Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException)`,
            };
          }
        }
        if (req.invocationType === 'Event') {
          runtime.invokeAsync(name, req.payload);
          return { payload: '', executedVersion: '$LATEST' };
        }
        return runtime.invoke(name, req.payload);
      },
    }),
  }),
  status: (state) => ({
    stateMachines: [...state.machines.values()].map((m) => m.name),
    executions: [...state.executions.values()].map((e) => ({
      name: e.name,
      machine: e.machine.name,
      status: e.status,
    })),
  }),
  operations: {
    CreateStateMachine(input, ctx) {
      const name = checkName(input.name, 'state machine');
      if (input.type !== undefined && input.type !== 'STANDARD') {
        throw Validation(
          `Only STANDARD state machines run locally (got ${String(input.type)}); Express workflows have no task tokens`,
        );
      }
      if (typeof input.roleArn !== 'string' || !input.roleArn.startsWith('arn:aws:iam::')) {
        throw InvalidArn(`Invalid Arn: '${String(input.roleArn)}'`);
      }
      const definition = parseDefinition(input.definition);
      const arn = `arn:aws:states:${ctx.region}:${ctx.accountId}:stateMachine:${name}`;
      const existing = ctx.state.machines.get(arn);
      if (existing) {
        if (existing.definitionText === input.definition && existing.roleArn === input.roleArn) {
          return { stateMachineArn: arn, creationDate: existing.creationDate };
        }
        throw StateMachineAlreadyExists(`State Machine Already Exists: '${arn}'`);
      }
      const machine: StateMachine = {
        arn,
        name,
        definition,
        definitionText: input.definition,
        roleArn: input.roleArn,
        type: 'STANDARD',
        creationDate: new Date(ctx.clock.now()),
      };
      ctx.state.machines.set(arn, machine);
      return { stateMachineArn: arn, creationDate: machine.creationDate };
    },
    UpdateStateMachine(input, ctx) {
      const m = machineOf(ctx.state, input.stateMachineArn);
      if (input.definition === undefined && input.roleArn === undefined) {
        throw Validation('Either the definition or the roleArn must be specified');
      }
      if (input.definition !== undefined) {
        m.definition = parseDefinition(input.definition);
        m.definitionText = input.definition;
      }
      if (input.roleArn !== undefined) m.roleArn = input.roleArn;
      m.updateDate = new Date(ctx.clock.now());
      return { updateDate: m.updateDate };
    },
    DescribeStateMachine(input, ctx) {
      const m = machineOf(ctx.state, input.stateMachineArn);
      return {
        stateMachineArn: m.arn,
        name: m.name,
        status: 'ACTIVE',
        definition: m.definitionText,
        roleArn: m.roleArn,
        type: m.type,
        creationDate: m.creationDate,
        loggingConfiguration: { level: 'OFF', includeExecutionData: false },
      };
    },
    ListStateMachines(input, ctx) {
      const all = [...ctx.state.machines.values()].map((m) => ({
        stateMachineArn: m.arn,
        name: m.name,
        type: m.type,
        creationDate: m.creationDate,
      }));
      const p = page(all, input.maxResults, input.nextToken);
      return { stateMachines: p.items, nextToken: p.nextToken };
    },
    DeleteStateMachine(input, ctx) {
      const m = machineOf(ctx.state, input.stateMachineArn);
      ctx.state.machines.delete(m.arn);
      return {};
    },
    StartExecution(input, ctx) {
      const e = startExecution(ctx.state, input.stateMachineArn, input.input, input.name);
      return { executionArn: e.arn, startDate: e.startDate };
    },
    DescribeExecution(input, ctx) {
      return describeExecution(executionOf(ctx.state, input.executionArn));
    },
    ListExecutions(input, ctx) {
      const m = machineOf(ctx.state, input.stateMachineArn);
      const all = [...ctx.state.executions.values()]
        .filter(
          (e) =>
            e.machine.arn === m.arn && (input.statusFilter === undefined || e.status === input.statusFilter),
        )
        .reverse()
        .map((e) => ({
          executionArn: e.arn,
          stateMachineArn: m.arn,
          name: e.name,
          status: e.status,
          startDate: e.startDate,
          stopDate: e.stopDate,
        }));
      const p = page(all, input.maxResults, input.nextToken);
      return { executions: p.items, nextToken: p.nextToken };
    },
    GetExecutionHistory(input, ctx) {
      const e = executionOf(ctx.state, input.executionArn);
      let events = [...e.history];
      if (input.reverseOrder === true) events.reverse();
      if (input.includeExecutionData === false) {
        events = events.map((ev) => {
          const copy = { ...ev };
          for (const [k, v] of Object.entries(copy)) {
            if (k.endsWith('EventDetails') && v && typeof v === 'object') {
              const { input: _i, output: _o, ...rest } = v as Record<string, unknown>;
              copy[k] = rest;
            }
          }
          return copy;
        });
      }
      const p = page(events, input.maxResults, input.nextToken);
      return { events: p.items, nextToken: p.nextToken };
    },
    StopExecution(input, ctx) {
      const e = executionOf(ctx.state, input.executionArn);
      ctx.state.engine.stop(e, input.error, input.cause);
      return { stopDate: e.stopDate ?? new Date(ctx.clock.now()) };
    },
    SendTaskSuccess(input, ctx) {
      if (typeof input.output !== 'string') throw InvalidOutput('Invalid Output: output is required');
      try {
        JSON.parse(input.output);
      } catch {
        throw InvalidOutput(`Invalid Output: '${input.output.slice(0, 100)}' is not JSON`);
      }
      return tokenCall(() => ctx.state.engine.sendTaskSuccess(String(input.taskToken), input.output));
    },
    SendTaskFailure(input, ctx) {
      return tokenCall(() =>
        ctx.state.engine.sendTaskFailure(String(input.taskToken), input.error ?? '', input.cause ?? ''),
      );
    },
    SendTaskHeartbeat(input, ctx) {
      return tokenCall(() => ctx.state.engine.sendTaskHeartbeat(String(input.taskToken)));
    },
  },
});
