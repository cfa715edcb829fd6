/** The local Workflows engine: load a definition, run it against injected ports. */
import { loadWorkflow, type Workflow } from './definition.ts';
import { Execution } from './interpreter.ts';
import type { ExecutionOutcome, RunOptions } from './outcome.ts';
import type { WorkflowPorts } from './ports.ts';
import type { Value } from './values.ts';

export { CallbackHub } from './callbacks.ts';
export { loadWorkflow, type Workflow } from './definition.ts';
export { Execution } from './interpreter.ts';
export { errorsOf, formatProblem, type LintResult, lintWorkflow } from './lint.ts';
export {
  CancelledError,
  type ExecutionError,
  type ExecutionOutcome,
  InvalidWorkflowError,
  MEMORY_LIMIT_BYTES,
  type RunOptions,
  type StepRecord,
} from './outcome.ts';
export * from './ports.ts';
export { runFile } from './runner.ts';
export { fromJson, toJson, type Value, WorkflowsError } from './values.ts';

/** Runs a compiled workflow once. */
export function runWorkflow(
  wf: Workflow,
  ports: WorkflowPorts,
  argument?: Value,
  options: RunOptions = {},
): Promise<ExecutionOutcome> {
  return new Execution(wf, ports, options).run(argument);
}

/** Parses, compiles and runs a definition text (tests and the CLI). */
export function runDefinition(
  text: string,
  ports: WorkflowPorts,
  argument?: Value,
  options: RunOptions = {},
): Promise<ExecutionOutcome> {
  return runWorkflow(loadWorkflow(text), ports, argument, options);
}
