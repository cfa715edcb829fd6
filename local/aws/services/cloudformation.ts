/**
 * CloudFormation subset (awsQuery, API 2010-05-15) over the stacks the local cloud deployed from a
 * serverless package (local/aws/wiring.ts registers each with `putStack`, resource by resource):
 * `DescribeStacks` with the Outputs a deployed stack shows (what `scripts/deploy-gcp
 * --from-aws-stack` reads), `DescribeStackResource`, `DescribeStackEvents` and `DeleteStack`, the
 * calls `osls remove` makes.
 *
 * Deletion is CloudFormation's: resources go in the reverse of their dependency order (`Ref`,
 * `Fn::GetAtt`, `Fn::Sub`, `DependsOn`), each wave of independent resources in parallel and taking
 * DELETE_STEP_MS on the virtual clock; each is deleted by its own local service (the remover the
 * wiring registered), a `DeletionPolicy: Retain` resource is kept (DELETE_SKIPPED), and a resource
 * the local cloud holds but cannot delete, or whose deletion throws, fails the stack (DELETE_FAILED,
 * naming it). A deleted stack answers by its stack id (DELETE_COMPLETE), not by its name.
 * Simplification: no CreateStack / UpdateStack (the local cloud deploys from the package itself);
 * a stack is CREATE_COMPLETE once loaded.
 */
import { AwsError } from '../errors.ts';
import { defineService, type World } from '../service.ts';

/** How long one wave of resource deletions takes on the virtual clock. */
export const DELETE_STEP_MS = 2_000;

type ResourceStatus =
  | 'CREATE_COMPLETE'
  | 'DELETE_IN_PROGRESS'
  | 'DELETE_COMPLETE'
  | 'DELETE_FAILED'
  | 'DELETE_SKIPPED';
type StackStatus = 'CREATE_COMPLETE' | 'DELETE_IN_PROGRESS' | 'DELETE_COMPLETE' | 'DELETE_FAILED';

/** One resource of a stack as the wiring created it. */
export interface StackResourceSpec {
  logicalId: string;
  type: string;
  physicalId: string;
  /** `DeletionPolicy` of the template (default Delete). */
  deletionPolicy?: string;
  /** Logical ids this resource refers to (Ref, Fn::GetAtt, Fn::Sub, DependsOn). */
  dependsOn: readonly string[];
  /**
   * Deletes the resource through its local service. `'not-created'`: the local cloud never created
   * it (a type it does not simulate), so there is nothing to delete. Absent: the local cloud holds
   * it and cannot delete it, so the stack's deletion fails on it.
   */
  remove?: (() => unknown) | 'not-created';
}

interface StackResource extends StackResourceSpec {
  status: ResourceStatus;
  reason?: string;
  updated: Date;
}

interface StackEvent {
  StackId: string;
  EventId: string;
  StackName: string;
  LogicalResourceId: string;
  PhysicalResourceId: string;
  ResourceType: string;
  Timestamp: Date;
  ResourceStatus: string;
  ResourceStatusReason?: string;
}

export interface LocalStack {
  stackName: string;
  stackId: string;
  outputs: { OutputKey: string; OutputValue: string; Description?: string; ExportName?: string }[];
  creationTime: Date;
  status: StackStatus;
  reason?: string;
  deletionTime?: Date;
  terminationProtection: boolean;
  resources: Map<string, StackResource>;
  /** Oldest first (DescribeStackEvents answers newest first). */
  events: StackEvent[];
}

interface CfnState {
  /** Live stacks by name. */
  stacks: Map<string, LocalStack>;
  /** Deleted stacks by stack id. */
  deleted: Map<string, LocalStack>;
}

/** Registers (or replaces) a deployed stack in `accountId`/`region`, with its resources. */
export function putStack(
  world: World,
  accountId: string,
  region: string,
  stack: {
    stackName: string;
    outputs: LocalStack['outputs'];
    resources?: readonly StackResourceSpec[];
    terminationProtection?: boolean;
  },
): LocalStack {
  const state = world.stateOf<CfnState>('cloudformation', accountId, region);
  const had = state.stacks.get(stack.stackName);
  const id =
    had?.stackId ??
    `arn:aws:cloudformation:${region}:${accountId}:stack/${stack.stackName}/${world.random.uuid()}`;
  const now = new Date(world.clock.now());
  const s: LocalStack = {
    stackName: stack.stackName,
    outputs: stack.outputs,
    stackId: id,
    creationTime: had?.creationTime ?? now,
    status: 'CREATE_COMPLETE',
    terminationProtection: stack.terminationProtection ?? false,
    resources: new Map(
      (stack.resources ?? []).map((r) => [r.logicalId, { ...r, status: 'CREATE_COMPLETE', updated: now }]),
    ),
    events: had?.events ?? [],
  };
  state.stacks.set(stack.stackName, s);
  return s;
}

function findStack(state: CfnState, nameOrId: string): LocalStack | undefined {
  return (
    state.stacks.get(nameOrId) ??
    [...state.stacks.values()].find((s) => s.stackId === nameOrId) ??
    state.deleted.get(nameOrId)
  );
}

function validation(message: string): AwsError {
  return new AwsError('ValidationError', message, { status: 400 });
}

function requireName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '')
    throw validation(
      `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  return value;
}

function record(
  world: World,
  stack: LocalStack,
  r: { logicalId: string; physicalId: string; type: string },
  status: string,
  reason?: string,
) {
  stack.events.push({
    StackId: stack.stackId,
    EventId: world.random.uuid(),
    StackName: stack.stackName,
    LogicalResourceId: r.logicalId,
    PhysicalResourceId: r.physicalId,
    ResourceType: r.type,
    Timestamp: new Date(world.clock.now()),
    ResourceStatus: status,
    ...(reason ? { ResourceStatusReason: reason } : {}),
  });
}

/**
 * Deletes `stack`'s resources wave by wave on the virtual clock: a resource goes once every
 * resource that refers to it is gone (or skipped); the stack ends DELETE_COMPLETE, or DELETE_FAILED
 * at the first wave with a failure (the resources not reached yet stay).
 */
function startDeletion(world: World, state: CfnState, stack: LocalStack): void {
  const self = { logicalId: stack.stackName, physicalId: stack.stackId, type: 'AWS::CloudFormation::Stack' };
  stack.status = 'DELETE_IN_PROGRESS';
  record(world, stack, self, 'DELETE_IN_PROGRESS', 'User Initiated');
  const done = (r: StackResource) => r.status === 'DELETE_COMPLETE' || r.status === 'DELETE_SKIPPED';
  const wave = async () => {
    const all = [...stack.resources.values()];
    const ready = all.filter(
      (r) =>
        r.status === 'CREATE_COMPLETE' &&
        all.every((other) => other === r || done(other) || !other.dependsOn.includes(r.logicalId)),
    );
    if (ready.length === 0) {
      const left = all.filter((r) => !done(r));
      if (left.length > 0) {
        // A dependency cycle: CloudFormation refuses such a template; never reached from a deploy.
        return fail(left.map((r) => r.logicalId));
      }
      stack.status = 'DELETE_COMPLETE';
      stack.deletionTime = new Date(world.clock.now());
      record(world, stack, self, 'DELETE_COMPLETE');
      state.stacks.delete(stack.stackName);
      state.deleted.set(stack.stackId, stack);
      return;
    }
    for (const r of ready) {
      r.status = 'DELETE_IN_PROGRESS';
      record(world, stack, r, 'DELETE_IN_PROGRESS');
    }
    await world.clock.sleep(DELETE_STEP_MS);
    const failed: string[] = [];
    for (const r of ready) {
      r.updated = new Date(world.clock.now());
      if (r.deletionPolicy === 'Retain') {
        r.status = 'DELETE_SKIPPED';
        record(world, stack, r, 'DELETE_SKIPPED');
        continue;
      }
      try {
        if (r.remove === undefined)
          throw new Error(`the local cloud cannot delete a resource of type ${r.type}`);
        if (r.remove !== 'not-created') await r.remove();
        r.status = 'DELETE_COMPLETE';
        record(
          world,
          stack,
          r,
          'DELETE_COMPLETE',
          r.remove === 'not-created' ? `${r.type} is not simulated locally: nothing was created` : undefined,
        );
      } catch (err) {
        r.status = 'DELETE_FAILED';
        r.reason = (err as Error).message;
        record(world, stack, r, 'DELETE_FAILED', r.reason);
        failed.push(r.logicalId);
      }
    }
    if (failed.length > 0) return fail(failed);
    return wave();
  };
  const fail = (ids: string[]) => {
    stack.status = 'DELETE_FAILED';
    stack.reason = `The following resource(s) failed to delete: [${ids.join(', ')}]. `;
    record(world, stack, self, 'DELETE_FAILED', stack.reason);
  };
  // Not clock.track'ed: the deletion waits on the clock, and a manual clock's driver jumps only
  // while no tracked work is in flight.
  void wave().catch((err) => {
    world.log(`cloudformation: deleting ${stack.stackName}: ${(err as Error).message}`);
    fail([]);
  });
}

export default defineService<CfnState>({
  name: 'cloudformation',
  signingName: 'cloudformation',
  protocol: 'query',
  xmlNamespace: 'http://cloudformation.amazonaws.com/doc/2010-05-15/',
  createState: () => ({ stacks: new Map(), deleted: new Map() }),
  status: (s) =>
    s.stacks.size > 0
      ? { stacks: Object.fromEntries([...s.stacks.values()].map((x) => [x.stackName, x.status])) }
      : undefined,
  operations: {
    DescribeStacks(input: { StackName?: string }, ctx) {
      const found = input.StackName
        ? [findStack(ctx.state, input.StackName)].filter((s) => s !== undefined)
        : [...ctx.state.stacks.values()];
      if (input.StackName && found.length === 0)
        throw validation(`Stack with id ${input.StackName} does not exist`);
      return {
        Stacks: found.map((s) => ({
          StackId: s.stackId,
          StackName: s.stackName,
          CreationTime: s.creationTime,
          ...(s.deletionTime ? { DeletionTime: s.deletionTime } : {}),
          StackStatus: s.status,
          ...(s.reason ? { StackStatusReason: s.reason } : {}),
          EnableTerminationProtection: s.terminationProtection,
          ...(s.status === 'DELETE_COMPLETE' ? {} : { Outputs: s.outputs }),
        })),
      };
    },
    DescribeStackResource(input: { StackName?: string; LogicalResourceId?: string }, ctx) {
      const name = requireName(input.StackName, 'stackName');
      const logical = requireName(input.LogicalResourceId, 'logicalResourceId');
      const stack = findStack(ctx.state, name);
      if (!stack) throw validation(`Stack with id ${name} does not exist`);
      const r = stack.resources.get(logical);
      if (!r || r.status === 'DELETE_COMPLETE')
        throw validation(`Resource ${logical} does not exist for stack ${stack.stackName}`);
      return {
        StackResourceDetail: {
          StackName: stack.stackName,
          StackId: stack.stackId,
          LogicalResourceId: r.logicalId,
          PhysicalResourceId: r.physicalId,
          ResourceType: r.type,
          LastUpdatedTimestamp: r.updated,
          ResourceStatus: r.status,
          ...(r.reason ? { ResourceStatusReason: r.reason } : {}),
        },
      };
    },
    DescribeStackEvents(input: { StackName?: string; NextToken?: string }, ctx) {
      const name = requireName(input.StackName, 'stackName');
      const stack = findStack(ctx.state, name);
      if (!stack || (stack.status === 'DELETE_COMPLETE' && name === stack.stackName))
        throw validation(`Stack [${name}] does not exist`);
      const events = [...stack.events].reverse();
      const PAGE = 100;
      const start = input.NextToken === undefined ? 0 : Number(input.NextToken);
      if (!Number.isInteger(start) || start < 0 || start > events.length)
        throw validation(`Invalid NextToken: ${input.NextToken}`);
      const page = events.slice(start, start + PAGE);
      return {
        StackEvents: page,
        ...(start + PAGE < events.length ? { NextToken: String(start + PAGE) } : {}),
      };
    },
    DeleteStack(input: { StackName?: string; RoleARN?: string }, ctx) {
      const name = requireName(input.StackName, 'stackName');
      const stack = findStack(ctx.state, name);
      // Deleting a stack that does not exist (or no longer does) succeeds and does nothing.
      if (!stack || stack.status === 'DELETE_COMPLETE' || stack.status === 'DELETE_IN_PROGRESS') return {};
      if (stack.terminationProtection)
        throw validation(
          `Stack [${stack.stackName}] cannot be deleted while TerminationProtection is enabled`,
        );
      // A DELETE_FAILED stack is deleted again: the resources left are retried.
      for (const r of stack.resources.values())
        if (r.status === 'DELETE_FAILED') r.status = 'CREATE_COMPLETE';
      delete stack.reason;
      startDeletion(ctx.world, ctx.state, stack);
      return {};
    },
  },
});
