/**
 * Function `drControl`: an operator's pause, resume or approval of the DR plan Google executes,
 * `POST /dr/{service}/controls` (../dr-control.ts, docs/dr-executor.md "Operations"), for the
 * plan's operators (IAM invoker auth: gcp.yml names them). Dependencies that refuse to build (a plan
 * that is not valid, the function in the region the executor may not run in) answer with the error
 * naming the field, logged at ERROR: a person must fix the deployment.
 */
import { errorToHttp, type HttpAnswer } from '#core/link/http-errors.ts';
import type { GcpDrControlDeps } from '../dr-control.ts';
import { handleDrControl } from '../dr-control.ts';
import type { IntakeHttpRequest } from '../intake.ts';
import { type Deps, health, logLine, type Request, type Response } from './wrap.ts';

export function drControl(deps: Deps) {
  return async (req: Request, res: Response) => {
    if (health('drControl', req, res)) return;
    let built: GcpDrControlDeps;
    let answer: HttpAnswer;
    try {
      built = (await deps()).drControl();
    } catch (e) {
      answer = errorToHttp(e);
      logLine({ severity: 'ERROR', function: 'drControl', message: `refused: ${(e as Error).message}` });
      res.status(answer.statusCode).set(answer.headers).send(answer.body);
      return;
    }
    answer = await handleDrControl(built, req as unknown as IntakeHttpRequest);
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
