/**
 * A step Lambda that crashes after its effect, in one local cloud running both halves: the AWS
 * half's `stepActivateInitiate` (CreateConnection with its client token) crashes once, answering
 * `Runtime.ExitError` as Lambda does when a runtime dies. link-provisioning.asl.json retries it (the
 * step is idempotent: docs/aws-half.md, "Retrying a lost answer"); the second run finds the
 * connection the first made. The link reaches ACTIVE with one connection and one transport, in the
 * first provisioning execution, which never entered `Compensate`.
 */
import {
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BothHalves, dumpOnFailure, startBothHalves, waitFor } from '../support/both-halves.ts';
import { linkFlows } from '../support/link-flows.ts';
import { ADMIN_CREDENTIALS } from '../support/local-cloud.ts';

const STEP = 'crosslink-dev-stepActivateInitiate';

let both: BothHalves;

beforeAll(async () => {
  both = await startBothHalves({}, { busyRate: 30 });
}, 120_000);

afterAll(async () => {
  await both?.stop();
});

const { awsFirst, expectActive } = linkFlows(() => both);

/** Every event of an execution's history, all pages. */
async function historyOf(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

describe('a step Lambda crashing once after its effect', () => {
  it('is retried: the link reaches ACTIVE in its first execution, with no compensation', async (ctx) => {
    dumpOnFailure(ctx, both, 'step-crash');
    // Prepare
    const added = await both.json<{ id: string }>(
      'sim',
      'fault',
      'crash',
      '--service',
      'lambda',
      '--operation',
      STEP,
      '--count',
      '1',
    );
    // Act
    const id = await awsFirst();
    // Assess
    await expectActive(id);
    const { faults } = await both.json<{ faults: { id: string }[] }>('sim', 'fault', 'list');
    expect(
      faults.map((f) => f.id),
      'the crash fault fired, so it is spent',
    ).not.toContain(added.id);
    const sfn = new SFNClient({
      region: both.cloud.aws.region,
      endpoint: both.cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    const machines = await sfn.send(new ListStateMachinesCommand({}));
    const provisioning = machines.stateMachines?.find((m) =>
      m.name?.startsWith('crosslink-link-provisioning'),
    );
    expect(provisioning?.stateMachineArn).toBeDefined();
    // ACTIVE on both sides comes before the execution's Report step ends it.
    const ofLink = await waitFor(`${id}'s provisioning execution ended`, async () => {
      const runs = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn: provisioning?.stateMachineArn }),
      );
      const mine = (runs.executions ?? []).filter((e) => e.name?.startsWith(`${id}-provisioning-`));
      return mine.every((e) => e.status !== 'RUNNING') ? mine : undefined;
    });
    expect(ofLink.map((e) => `${e.name} ${e.status}`)).toEqual([`${id}-provisioning-1 SUCCEEDED`]);
    const history = await historyOf(sfn, ofLink[0]?.executionArn as string);
    // The step's Resource is the function's ARN: its failures are LambdaFunctionFailed events.
    const failures = history
      .filter((e) => e.type === 'LambdaFunctionFailed' || e.type === 'TaskFailed')
      .map((e) => e.lambdaFunctionFailedEventDetails?.error ?? e.taskFailedEventDetails?.error);
    expect(failures).toEqual(['Runtime.ExitError']);
    const entered = history
      .filter((e) => e.type === 'TaskStateEntered')
      .map((e) => e.stateEnteredEventDetails?.name);
    expect(entered).toContain('ActivateInitiate');
    expect(entered).not.toContain('Compensate');
  }, 120_000);
});
