/** Function `steps`: `POST /<stepName>`, one step of the workflows (OIDC), ../steps.ts. */
import { stepsHandler } from '../steps.ts';
import { type Deps, health, type Request, type Response } from './wrap.ts';

export function steps(deps: Deps) {
  const run = stepsHandler(() => deps());
  return async (req: Request, res: Response) => {
    if (health('steps', req, res)) return;
    await run(req, res);
  };
}
