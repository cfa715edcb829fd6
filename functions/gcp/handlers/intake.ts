/** Function `intake`: the link routes of the core intake, for people (IAM invoker auth), as on AWS (../intake.ts). */
import { handleIntake, type IntakeHttpRequest } from '../intake.ts';
import { type Deps, health, type Request, type Response } from './wrap.ts';

export function intake(deps: Deps) {
  return async (req: Request, res: Response) => {
    if (health('intake', req, res)) return;
    const answer = await handleIntake(await deps(), req as unknown as IntakeHttpRequest);
    res.status(answer.statusCode).set(answer.headers).send(answer.body);
  };
}
