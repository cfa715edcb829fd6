/**
 * Function `watcher`: Cloud Scheduler every minute (OIDC, POST) polls this side's transports
 * (../watcher.ts); billing with nobody watching is logged and counted.
 */
import { logOrphans } from '../approval-metrics.ts';
import { watchTransports } from '../watcher.ts';
import { type Deps, health, logLine, type Request, type Response } from './wrap.ts';

export function watcher(deps: Deps) {
  return async (req: Request, res: Response) => {
    if (health('watcher', req, res)) return;
    const report = await watchTransports((await deps()).watch);
    // A project it could not list (e.g. impersonation refused) needs a person: logged as an error.
    logLine({ severity: report.projectErrors.length > 0 ? 'ERROR' : 'INFO', function: 'watcher', report });
    logOrphans(report);
    res.status(200).json(report);
  };
}
