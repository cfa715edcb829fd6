/**
 * What a Workflows execution yields and how its failures are told: the outcome and error shapes
 * of the Executions API, the step records it bills, the limits it runs under, and the trace of
 * where an error was raised. Shared by the interpreter and the API layer (local/gcp/workflows-api.ts).
 */
import type { Step } from './definition.ts';
import type { ExecutionIdentity } from './ports.ts';
import { isMap, safeStringify, type Value, WorkflowsError } from './values.ts';

/** Workflows caps the memory of all variables of an execution at 512 KB. */
export const MEMORY_LIMIT_BYTES = 512 * 1024;
/** Workflows stops an execution after 100,000 steps. */
export const MAX_STEPS = 100_000;

export type StepBilling = 'internal' | 'external';

export interface StepRecord {
  step: string;
  routine: string;
  billing: StepBilling;
}

export interface StackElement {
  step: string;
  routine: string;
  position: { line: number; column: number; length: number };
}

/** The error of a failed execution, shaped like the Executions API's `error`. */
export interface ExecutionError {
  payload: string;
  context: string;
  stackTrace: { elements: StackElement[] };
}

export type ExecutionState = 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export interface ExecutionOutcome {
  state: ExecutionState;
  result?: Value;
  error?: ExecutionError;
  /** The raised value (what `except: as: e` would have seen). */
  errorValue?: Value;
  /** Steps taken in order (the first 10,000). */
  steps: StepRecord[];
  stepCount: { internal: number; external: number; total: number };
}

export interface RunOptions {
  argument?: Value;
  identity?: Partial<ExecutionIdentity>;
  signal?: AbortSignal;
  memoryLimitBytes?: number;
  maxSteps?: number;
  /** Called as each step starts (the Executions API shows progress with it). */
  onStep?: (record: StepRecord) => void;
}

/** The execution was cancelled: not a workflow error, so `except` never sees it. */
export class CancelledError extends Error {
  constructor() {
    super('the execution was cancelled');
    this.name = 'CancelledError';
  }
}

/** A definition that cannot run (the linter lists why). */
export class InvalidWorkflowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidWorkflowError';
  }
}

export type Signal =
  | { k: 'end' }
  | { k: 'return'; value: Value }
  | { k: 'break' }
  | { k: 'continue' }
  | { k: 'jump'; target: string; from: Step };

export interface Frame {
  routine: string;
  depth: number;
}

/** Where an error was raised, per routine frame, innermost first. */
export const traces = new WeakMap<WorkflowsError, { frame: Frame; step: Step }[]>();
export const retryNotes = new WeakMap<WorkflowsError, string>();

/** A failed execution's error as the Executions API reports it: payload, context lines, stack. */
export function errorReport(err: WorkflowsError): ExecutionError {
  const trace = traces.get(err) ?? [];
  const elements: StackElement[] = trace.map(({ step }) => ({
    step: step.name,
    routine: step.routine,
    position: { line: step.pos.line, column: step.pos.col, length: step.name.length },
  }));
  const v = err.value;
  const head =
    typeof v === 'string'
      ? `raised: ${v}`
      : isMap(v) && typeof v.message === 'string'
        ? `${Array.isArray(v.tags) && v.tags.length > 0 ? `${v.tags.join(', ')}: ` : ''}${v.message}`
        : `raised: ${safeStringify(v)}`;
  const lines = [head];
  for (const el of elements)
    lines.push(`in step "${el.step}", routine "${el.routine}", line: ${el.position.line}`);
  const note = retryNotes.get(err);
  if (note) lines.push(note);
  return { payload: safeStringify(v), context: lines.join('\n'), stackTrace: { elements } };
}

/**
 * The error of a parallel step whose branches or iterations raised: UnhandledBranchError with
 * each failure, in the order the branches are written, the first one's message in its own.
 */
export function unhandledBranchError(
  stepName: string,
  failures: { id: string; error: Value }[],
  tasks: { id: string }[],
): WorkflowsError {
  failures.sort((a, b) => tasks.findIndex((t) => t.id === a.id) - tasks.findIndex((t) => t.id === b.id));
  const first = failures[0]!;
  const firstMsg =
    typeof first.error === 'string'
      ? first.error
      : isMap(first.error) && typeof first.error.message === 'string'
        ? first.error.message
        : safeStringify(first.error);
  return new WorkflowsError({
    message: `UnhandledBranchError: ${failures.length} branch(es) or iteration(s) of parallel step "${stepName}" raised an unhandled error; first (${first.id}): ${firstMsg}`,
    tags: ['UnhandledBranchError'],
    branches: failures.map((f) => ({ id: f.id, error: f.error })),
    truncated: false,
  });
}
