/**
 * Lambda `relayToGoogle`: the AWS -> Google relay (SQS event source, ReportBatchItemFailures). Only
 * `batchItemFailures` goes back to Lambda; the counts are logged (ids and types only, never a body).
 */
import { relayToGoogle, type SqsRecord } from '#core/relay/to-google.ts';
import { relayDepsFromEnv } from '../relay-runtime.ts';
import { logger, wrap } from './wrap.ts';

export const handler = wrap(
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
  { input: { kind: 'sqs' } },
);
