/**
 * Starting a stage's Workflows execution at most once (docs/architecture.md, "Execution names"). Step Functions
 * refuses a second execution of one name; Workflows executions cannot be named, so the start is
 * guarded by a create-if-absent record `starts/<linkId>-<stage>-<attempt>` (the "key"):
 *
 * 1. Create the record. The starter that created it calls `executions.create` with the labels
 *    `crosslink-key=<key>` and `crosslink-link-id=<linkId>`, then stores the execution's name.
 * 2. A starter that finds the record with a name has nothing to do (`started: false`).
 * 3. A starter that finds it without a name lists the workflow's executions by the label and adopts
 *    the oldest it finds (the first starter crashed after creating it, before storing its name).
 * 4. None listed: the first starter crashed before creating it, or is creating it right now. Within
 *    `leaseMs` of the record it is presumed alive (`StartInProgressError`, a ConflictError: the
 *    intake answers 409, an event consumer is redelivered); after that this starter creates it.
 * 5. The name is stored first-writer-wins: a starter whose own execution lost (two starters created
 *    one each, the first after its lease ran out) cancels its own, so one execution carries the stage.
 *
 * `create` is never retried blindly (it has no request id): any failure goes back to the caller, and
 * the caller's retry comes through this guard, which lists before it creates.
 */
import type { Clock } from '#core/clock.ts';
import { ConflictError } from '#core/errors.ts';
import { executionName, type Stage } from '#core/ids.ts';
import { toLabels } from './labels.ts';
import type { StartRecord, StartRecords } from './link-store.ts';
import type { ExecutionSummary } from './workflow-executions.ts';

export const START_KEY_LABEL = 'crosslink-key';

/** Another starter holds the record and may be creating the execution now: try again later. */
export class StartInProgressError extends ConflictError {
  override name = 'StartInProgressError';
}

export interface StageExecutions {
  create(
    workflow: string,
    body: { argument: unknown; labels?: Record<string, string> },
  ): Promise<ExecutionSummary>;
  list(workflow: string, filter: string): Promise<ExecutionSummary[]>;
  cancel(name: string): Promise<unknown>;
}

export interface StarterDeps {
  starts: StartRecords;
  executions: StageExecutions;
  /** Full workflow names, `projects/{p}/locations/{l}/workflows/{id}`. */
  workflows: { provisioning: string; decommissioning: string };
  clock: Clock;
  /** How long a record without an execution counts as a start in flight (default 2 min). */
  leaseMs?: number;
  /** Cost labels put on every execution beside the two above (made valid Google labels). */
  labels?: Record<string, string>;
}

export const DEFAULT_START_LEASE_MS = 120_000;

/**
 * Starts the stage's execution unless one exists for `(linkId, stage, attempt)`. `executionName` is
 * the key (`<linkId>-<stage>-<attempt>`, as on AWS); `execution` the Workflows execution's name.
 */
export async function startStage(
  deps: StarterDeps,
  stage: Stage,
  input: { linkId: string },
  attempt = 1,
): Promise<{ executionName: string; started: boolean; execution: string }> {
  const key = executionName(input.linkId, stage, attempt);
  const workflow = stage === 'provisioning' ? deps.workflows.provisioning : deps.workflows.decommissioning;
  const out = await startOnce(
    { ...deps, record: startRecordOf(deps.starts, input.linkId, stage, attempt) },
    workflow,
    key,
    { argument: input, labels: toLabels(deps.labels ?? {}, input.linkId) },
  );
  return { executionName: key, ...out };
}

/** One start's create-if-absent record (the guard's step 1 and 5). */
export interface StartRecordPort {
  claim(): Promise<{ created: boolean; record: StartRecord }>;
  /** Stores the execution's name, first writer wins; answers the record as stored. */
  setExecution(name: string): Promise<StartRecord>;
}

const startRecordOf = (
  starts: StartRecords,
  linkId: string,
  stage: Stage,
  attempt: number,
): StartRecordPort => ({
  claim: () => starts.claimStart(linkId, stage, attempt),
  setExecution: (name) => starts.setStartExecution(linkId, stage, attempt, name),
});

/**
 * Starts an execution of `workflow` at most once for `key` (the guard above): labelled
 * `crosslink-key=<key>` beside `body.labels`, its name kept in `deps.record`.
 */
export async function startOnce(
  deps: Pick<StarterDeps, 'executions' | 'clock' | 'leaseMs'> & { record: StartRecordPort },
  workflow: string,
  key: string,
  body: { argument: unknown; labels?: Record<string, string> },
): Promise<{ started: boolean; execution: string }> {
  const { created, record } = await deps.record.claim();
  if (record.executionName) return { started: false, execution: record.executionName };

  if (!created) {
    const existing = await findByKey(deps, workflow, key);
    if (existing) {
      const stored = await deps.record.setExecution(existing.name);
      return { started: false, execution: stored.executionName ?? existing.name };
    }
    const age = deps.clock.now() - record.createdAt;
    if (age < (deps.leaseMs ?? DEFAULT_START_LEASE_MS))
      throw new StartInProgressError(
        `the execution ${key} is being started by another starter (${Math.round(age / 1000)} s ago); retry later`,
      );
  }

  const execution = await deps.executions.create(workflow, {
    argument: body.argument,
    labels: { ...(body.labels ?? {}), [START_KEY_LABEL]: key },
  });
  const stored = await deps.record.setExecution(execution.name);
  if (stored.executionName !== execution.name) {
    // Another starter stored its execution first: ours is the duplicate.
    await deps.executions.cancel(execution.name).catch(() => undefined);
    return { started: false, execution: stored.executionName as string };
  }
  return { started: true, execution: execution.name };
}

/**
 * Whether the execution of `(linkId, stage, attempt)` is still running (ACTIVE or QUEUED): the
 * intake raises a decommission's attempt only past a run that has ended.
 */
export async function isStageRunning(
  deps: StarterDeps,
  stage: Stage,
  linkId: string,
  attempt: number,
): Promise<boolean> {
  const key = executionName(linkId, stage, attempt);
  const workflow = stage === 'provisioning' ? deps.workflows.provisioning : deps.workflows.decommissioning;
  const listed = await deps.executions.list(workflow, `labels.${START_KEY_LABEL}="${key}"`);
  return listed.some(
    (e) => e.labels?.[START_KEY_LABEL] === key && (e.state === 'ACTIVE' || e.state === 'QUEUED'),
  );
}

/** The oldest execution labelled with `key` (the list is newest first). */
async function findByKey(
  deps: Pick<StarterDeps, 'executions'>,
  workflow: string,
  key: string,
): Promise<ExecutionSummary | undefined> {
  const listed = await deps.executions.list(workflow, `labels.${START_KEY_LABEL}="${key}"`);
  // The filter does the work; the check keeps a server that ignored it from adopting a stranger.
  return listed.filter((e) => e.labels?.[START_KEY_LABEL] === key).at(-1);
}
