/**
 * Lambda `drControl` (functions/aws/dr-control.ts): `POST /dr/{service}/controls`, an operator's
 * pause, resume or approval of the deployed DR plan, by the IAM principal API Gateway verified;
 * a malformed API Gateway event gets the 400 of the intake's routes.
 */
import { drControlDepsFromEnv, drControlRoute } from '../dr-control.ts';
import { httpInput } from '../input-parser.ts';
import type { HttpApiEvent } from '../intake.ts';
import { wrap } from './wrap.ts';

export const handler = wrap(
  'drControl',
  (event: HttpApiEvent) => drControlRoute(drControlDepsFromEnv(), event),
  { input: httpInput },
);
