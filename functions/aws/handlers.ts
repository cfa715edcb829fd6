/**
 * The Lambda entry points of the AWS half (serverless.yml names them `functions/aws/handlers.<export>`).
 * Each is middy with the Powertools logger: the link id is appended to every line, whole events and
 * keys are never logged. The work is in link-intake.ts, link-steps.ts and watcher.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { EventBridgeEvent } from '#core/envelope.ts';
import { LINK_ID_SCHEMA } from '#core/link/step-input.ts';
import { relayToGoogle as relay, type SqsRecord } from '#core/relay/to-google.ts';
import { metrics } from './approval-metrics.ts';
import { federatedClient } from './google-relay.ts';
import { type InputKind, parseInput } from './input-parser.ts';
import {
  type HttpApiEvent,
  intake as intakeRoutes,
  peerEventBatch,
  startFromEvent,
  startStage,
} from './link-intake.ts';
import * as steps from './link-steps.ts';
import {
  type RelayHttpEvent,
  relayDepsFromEnv as relayFromGoogleDeps,
  relayHttp,
} from './relay-from-google.ts';
import { relayDepsFromEnv } from './relay-runtime.ts';
import { isSelfTest, relaySelfTest } from './relay-self-test.ts';
import { depsFromEnv } from './runtime.ts';
import { watch } from './watcher.ts';

const logger = new Logger({ serviceName: 'crosslink-aws' });

function wrap<E, R>(
  name: string,
  fn: (event: E) => Promise<R>,
  options: { metrics?: boolean; input?: InputKind } = {},
  // biome-ignore lint/suspicious/noExplicitAny: middy's handler type is generic over any event.
): any {
  const base = middy()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(parseInput(options.input ?? { kind: 'step', step: name }));
  // Only the approval deadlines and the watcher publish metrics: flushing elsewhere would log empty EMF warnings.
  return (options.metrics ? base.use(logMetrics(metrics)) : base).handler(async (raw: unknown) => {
    const event = raw as E;
    const linkId =
      (event as { linkId?: unknown; pathParameters?: { id?: string } })?.linkId ??
      (event as { pathParameters?: { id?: string } })?.pathParameters?.id;
    if (typeof linkId === 'string') logger.appendKeys({ linkId });
    try {
      const out = await fn(event);
      logger.info(`${name} done`);
      return out;
    } catch (e) {
      // The name and message only: a Lambda error's cause lands in the execution history.
      logger.error(`${name} failed`, { error: { name: (e as Error).name, message: (e as Error).message } });
      throw e;
    }
  });
}

export const intake = wrap('intake', (event: HttpApiEvent) => intakeRoutes(depsFromEnv(), event), {
  input: { kind: 'http' },
});

type StartRequest = {
  linkId: string;
  stage: 'provisioning' | 'decommissioning';
  input?: steps.ExecutionInput;
};

/**
 * Starts (or finds started) a stage's execution: from the starter rule's events (stage, mode and
 * input derived from the event), or from a direct `{linkId, stage, input?}` invocation.
 */
export const starter = wrap(
  'starter',
  async (event: EventBridgeEvent | StartRequest): Promise<unknown> =>
    'detail-type' in event
      ? startFromEvent(depsFromEnv(), event)
      : startStage(depsFromEnv(), event.stage, event.input ?? { linkId: event.linkId }),
  {
    input: {
      kind: 'eventbridge-or',
      otherwise: {
        type: 'object',
        required: ['linkId', 'stage'],
        properties: {
          linkId: LINK_ID_SCHEMA,
          stage: { enum: ['provisioning', 'decommissioning'] },
          input: { type: 'object' },
        },
      },
    },
  },
);

// The peer's events through PeerEventsQueue: partial batch failures, each retried on its own.
export const peerEvents = wrap(
  'peerEvents',
  (event: { Records: { messageId: string; body: string }[] }) =>
    peerEventBatch(depsFromEnv(), event.Records, logger),
  { input: { kind: 'sqs' } },
);

// Scheduled or CloudTrail-triggered: whatever the event, the watcher polls; only an object is required.
export const watcher = wrap(
  'watcher',
  async () => {
    const report = await watch(depsFromEnv());
    // Billing with nobody watching: the OrphanedHalves metric alarms; the line says which.
    if (report.orphans.length || report.failedWithHalf.length)
      logger.warn('orphaned halves', { unknown: report.orphans, failedWithHalf: report.failedWithHalf });
    return report;
  },
  { metrics: true, input: { kind: 'eventbridge-or', otherwise: { type: 'object' } } },
);

const step =
  <I, R>(fn: (deps: steps.StepDeps, input: I) => Promise<R>) =>
  (input: I) =>
    fn(depsFromEnv(), input);

export const stepRequest = wrap('request', step(steps.request));
export const stepPark = wrap('park', step(steps.park));
export const stepApprovalDeadline = wrap('approvalDeadline', step(steps.approvalDeadline), { metrics: true });
export const stepKeyDeadline = wrap('keyDeadline', step(steps.keyDeadline));
export const stepActivateInitiate = wrap('activateInitiate', step(steps.activateInitiate));
export const stepActivateAccept = wrap('activateAccept', step(steps.activateAccept));
export const stepPollHalf = wrap('pollHalf', step(steps.pollHalf));
export const stepVerifyPrefixes = wrap('verifyPrefixes', step(steps.verifyPrefixes));
export const stepReport = wrap('report', step(steps.report));
export const stepCompensate = wrap('compensate', step(steps.compensate));
export const stepDecommissionRequest = wrap('decommissionRequest', step(steps.decommissionRequest));
export const stepDecommissionDeadline = wrap('decommissionDeadline', step(steps.decommissionDeadline), {
  metrics: true,
});
export const stepDrainCheck = wrap('drainCheck', step(steps.drainCheck));
export const stepDeleteOwnHalf = wrap('deleteOwnHalf', step(steps.deleteOwnHalf));
export const stepConfirmDeleted = wrap('confirmDeleted', step(steps.confirmDeleted));

/**
 * The AWS -> Google relay (SQS event source, ReportBatchItemFailures): only `batchItemFailures` goes
 * back to Lambda; the counts are logged (ids and types only, never a body).
 */
const relayBatch = wrap(
  'relayToGoogle',
  async (event: { Records: SqsRecord[] }) => {
    const report = await relay(event.Records, relayDepsFromEnv(logger));
    logger.info('relay batch', {
      records: event.Records.length,
      relayed: report.relayed,
      notOurs: report.notOurs,
      deadLettered: report.deadLettered,
      failed: report.batchItemFailures.length,
    });
    return { batchItemFailures: report.batchItemFailures };
  },
  { input: { kind: 'sqs' } },
);

/** The relay's self-test (`{"crosslinkSelfTest": true}`, relay-self-test.ts), with the relay's own role. */
const relaySelfTestHandler = wrap(
  'relaySelfTest',
  async () => {
    const report = await relaySelfTest(process.env, { client: (c) => federatedClient(c.externalAccount) });
    logger.info('relay self-test', { ok: report.ok, steps: report.steps.map((s) => `${s.step}: ${s.ok}`) });
    return report;
  },
  { input: { kind: 'self-test' } },
);

/**
 * The AWS -> Google relay: an SQS batch (the event source mapping), or the self-test `crosslink
 * doctor` invokes.
 */
export const relayToGoogle = (event: unknown, context: unknown) =>
  isSelfTest(event) ? relaySelfTestHandler(event, context) : relayBatch(event, context);

/**
 * `POST /relay/google` (JWT authorizer: Google-signed OIDC tokens of the relay's push subscription):
 * one pushed Google event onto the crosslink bus (functions/aws/relay-from-google.ts). Logs ids and
 * types only, never the event; the refusals it counts are EMF metrics.
 */
export const relayFromGoogle = middy<RelayHttpEvent>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async (event: RelayHttpEvent) =>
    relayHttp(
      {
        ...relayFromGoogleDeps(metrics),
        log: { info: (m, f) => logger.info(m, f ?? {}), warn: (m, f) => logger.warn(m, f ?? {}) },
      },
      event,
    ),
  );
