/**
 * Lambda `relayToGoogle`: the AWS -> Google relay (SQS event source, ReportBatchItemFailures), or
 * the self-test `crosslink doctor` invokes (`{"crosslinkSelfTest": true}`, relay-self-test.ts),
 * which runs with the relay's own role. Only `batchItemFailures` goes back to Lambda; the counts
 * are logged (ids and types only, never a body).
 */
import { relayToGoogle, type SqsRecord } from '#aws/relay-to-google.ts';
import { federatedClient } from '../google-relay.ts';
import { selfTestInput, sqsInput } from '../input-parser.ts';
import { relayDepsFromEnv } from '../relay-runtime.ts';
import { isSelfTest, relaySelfTest } from '../relay-self-test.ts';
import { logger, wrap } from './wrap.ts';

const relayBatch = wrap(
  'relayToGoogle',
  async (event: { Records: SqsRecord[] }) => {
    const report = await relayToGoogle(event.Records, relayDepsFromEnv(logger));
    logger.info('relay batch', {
      records: event.Records.length,
      relayed: report.relayed,
      notOurs: report.notOurs,
      deadLettered: report.deadLettered,
      failed: report.batchItemFailures.length,
    });
    return { batchItemFailures: report.batchItemFailures };
  },
  { input: sqsInput },
);

const selfTest = wrap(
  'relaySelfTest',
  async () => {
    const report = await relaySelfTest(process.env, { client: (c) => federatedClient(c.externalAccount) });
    logger.info('relay self-test', { ok: report.ok, steps: report.steps.map((s) => `${s.step}: ${s.ok}`) });
    return report;
  },
  { input: selfTestInput },
);

export const handler = (event: unknown, context: unknown) =>
  isSelfTest(event) ? selfTest(event, context) : relayBatch(event, context);
