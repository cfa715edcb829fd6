/**
 * Function `drControl`: an operator's pause, resume or approval of the DR plan Google executes,
 * `POST /dr/{service}/controls` (../dr-control.ts, docs/dr-executor.md "Operations"), for the
 * plan's operators (IAM invoker auth: gcp.yml names them).
 */

import { handleDrControl } from '../dr-control.ts';
import type { IntakeHttpRequest } from '../intake.ts';
import { type Deps, health, logLine, type Request, type Response } from './wrap.ts';

export function drControl(deps: Deps) {
  return async (req: Request, res: Response) => {
    if (health('drControl', req, res)) return;
    const answer = await handleDrControl((await deps()).drControl(), req as unknown as IntakeHttpRequest);
    if (answer.statusCode < 300)
      logLine({
        severity: 'NOTICE',
        function: 'drControl',
        message: 'dr control taken',
        answer: answer.body,
      });
    res.status(answer.statusCode).set(answer.headers).send(answer.body);
  };
}
