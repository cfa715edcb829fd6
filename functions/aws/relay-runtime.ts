/**
 * The relay's dependencies from the Lambda environment, once per cold start (the external-account
 * client caches its Google token until it expires, so warm invocations exchange only when needed).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { federatedClient, federatedPublisher, googleRelayConfig, sqsDeadLetters } from './google-relay.ts';
import type { LambdaLogger } from './lambda-logger.ts';
import type { RelayDeps } from './relay-to-google.ts';

let cached: Omit<RelayDeps, 'log'> | undefined;

export function relayDepsFromEnv(
  logger: Pick<LambdaLogger, 'info' | 'warn' | 'error'>,
  env = process.env,
): RelayDeps {
  if (!cached) {
    const config = googleRelayConfig(env);
    cached = {
      publisher: federatedPublisher({
        client: federatedClient(config.externalAccount),
        pubsubEndpoint: config.pubsubEndpoint,
        project: config.project,
        topic: config.topic,
      }),
      deadLetters: sqsDeadLetters(new SQSClient({ region: env.AWS_REGION }), config.deadLetterQueueUrl),
      maxReceives: config.maxReceives,
    };
  }
  return {
    ...cached,
    log: {
      info: (m, f) => logger.info(m, { ...f }),
      warn: (m, f) => logger.warn(m, { ...f }),
      error: (m, f) => logger.error(m, { ...f }),
    },
  };
}
