/**
 * Lambda `relayFromGoogle`: `POST /relay/google` (JWT authorizer: Google-signed OIDC tokens of the
 * relay's push subscription), one pushed Google event onto the crosslink bus
 * (functions/aws/relay-from-google.ts). Logs ids and types only, never the event; the refusals it
 * counts are EMF metrics.
 */
import middy from '@middy/core';
import { metrics } from '../approval-metrics.ts';
import { logMetrics } from '../emf.ts';
import { logInvocation } from '../lambda-logger.ts';
import { type RelayHttpEvent, relayDepsFromEnv, relayHttp } from '../relay-from-google.ts';
import { logger } from './wrap.ts';

export const handler = middy<RelayHttpEvent>()
  .use(logInvocation(logger))
  .use(logMetrics(metrics))
  .handler(async (event: RelayHttpEvent) =>
    relayHttp(
      {
        ...relayDepsFromEnv(metrics),
        log: { info: (m, f) => logger.info(m, f ?? {}), warn: (m, f) => logger.warn(m, f ?? {}) },
      },
      event,
    ),
  );
