/**
 * Delivering a payload to a resource named by ARN, for the engines that have targets: EventBridge
 * rules (Lambda, Step Functions, SQS, another bus), Lambda on-failure destinations and DLQs.
 * Resolves when the target accepted it; rejects with the reason otherwise.
 */
import type { World } from '../service.ts';

export async function deliverToArn(
  world: World,
  arn: string,
  payload: unknown,
  options: { executionName?: string } = {},
): Promise<void> {
  const parts = arn.split(':');
  const service = parts[2];
  const region = parts[3] as string;
  const accountId = parts[4] as string;
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  switch (service) {
    case 'sqs': {
      const { queuesOf } = await import('./sqs.ts');
      const q = queuesOf(world, arn);
      if (!q) throw new Error(`no queue ${arn}`);
      q.send(text);
      return;
    }
    case 'lambda': {
      const { lambdaRuntime } = await import('./lambda.ts');
      lambdaRuntime(world, accountId, region).invokeAsync(
        arn,
        typeof payload === 'string' ? JSON.parse(payload) : payload,
      );
      return;
    }
    case 'states': {
      const { startExecutionFor } = await import('./states.ts');
      startExecutionFor(world, arn, text, options.executionName);
      return;
    }
    case 'events': {
      const { putEventsFor } = await import('./events.ts');
      // A rule's target gets the event as text (targetInput): bus to bus, it keeps its source,
      // detail-type and detail, as EventBridge forwards it.
      let parsed: unknown = payload;
      if (typeof payload === 'string') {
        try {
          parsed = JSON.parse(payload);
        } catch {
          parsed = undefined;
        }
      }
      const entry = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
      await putEventsFor(world, accountId, region, [
        {
          Source: String(entry.source ?? 'lambda'),
          DetailType: String(entry['detail-type'] ?? 'Lambda Function Invocation Result - Failure'),
          Detail: JSON.stringify(entry.detail ?? entry),
          EventBusName: arn,
        },
      ]);
      return;
    }
  }
  throw new Error(`unsupported target ${arn}`);
}
