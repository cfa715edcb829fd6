/**
 * The Google half's Cloud Functions (functions-framework), one source for every function of gcp.yml;
 * each function's `entryPoint` picks one. All are HTTP functions (Pub/Sub pushes to their URLs):
 *
 * | entry point    | called by                                    | does                                                      |
 * | -------------- | -------------------------------------------- | --------------------------------------------------------- |
 * | `intake`       | people, IAM invoker auth                     | the link routes of the core intake (same as AWS)          |
 * | `steps`        | the workflows (OIDC)                         | `POST /<stepName>`: one step of the workflows             |
 * | `peerEvents`   | push of `crosslink-peer-events` (OIDC)       | the peer's event: apply, store a sealed key, start, resume |
 * | `starter`      | push of `crosslink-events` (OIDC)            | this side's `LinkRequested` / `LinkDecommissionRequested` -> the stage |
 * | `watcher`      | Cloud Scheduler every 5 min (OIDC), POST     | polls this side's transports                              |
 * | `watcherAudit` | push of `crosslink-audit` (OIDC)             | a TransportManager audit entry: check that transport now  |
 * | `vpnHalf`      | the vpn-half workflow (OIDC), POST `{event}` | one VPN command applied to the Google half (vpn-half.ts)  |
 * | `vpnInventory` | push of `crosslink-peer-events` (OIDC)       | AWS's VPN inventory request answered, its pages stored (vpn-inventory.ts) |
 * | `vpnRun`       | the vpn-run workflow (OIDC), POST `{step}`   | one step of a VPN run Google coordinates (vpn-run.ts)     |
 * | `drSignals`    | Cloud Scheduler every minute (OIDC), POST; pushes of both topics | the DR plan's Google vantage point (dr-signals.ts) |
 * | `drCommanded`  | push of `crosslink-peer-events` (OIDC)       | AWS's command for a DR action on Google: fenced, the plan's hook run (dr-commanded.ts) |
 * | `drControl`    | the plan's operators, IAM invoker auth       | `POST /dr/{service}/controls`: pause, resume, approve a plan Google executes (dr-control.ts) |
 * | `vpnRunEvents` | push of both topics (OIDC)                   | a link weakening undrains its VPNs; a half's result kept (vpn-run-events.ts) |
 *
 * A VPN command (`VpnDrainRequested`, ...) on either topic starts the vpn-half workflow: `starter`
 * for this side's, `peerEvents` for the ones relayed from AWS.
 *
 * Each entry point's handler is its own module beside this one, named as the AWS half's
 * (intake.ts, peer-events.ts, starter.ts, watcher.ts, ...; what they share is in wrap.ts). This
 * module is the package's main one, which functions-framework loads and asks for the entry point
 * gcp.yml names (`--target`), so it registers them all. Every entry point answers `GET /` (the
 * function's URL itself) with 200 and its name, without building its dependencies: the health path
 * a deploy or a person checks. The module refuses to start (one line on stderr, exit 1) when gcp.yml
 * did not give a required variable. Dependencies are built once per instance (`depsFromPlatform`),
 * on first use. The intake's caller: ../intake.ts.
 */

import * as ff from '@google-cloud/functions-framework';
import { depsFromPlatform } from '../runtime.ts';
import { missingVariables } from '../variables.ts';
import { drCommanded } from './dr-commanded.ts';
import { drControl } from './dr-control.ts';
import { drSignals } from './dr-signals.ts';
import { intake } from './intake.ts';
import { peerEvents } from './peer-events.ts';
import { starter } from './starter.ts';
import { steps } from './steps.ts';
import { vpnHalf } from './vpn-half.ts';
import { vpnInventory } from './vpn-inventory.ts';
import { vpnRun } from './vpn-run.ts';
import { vpnRunEvents } from './vpn-run-events.ts';
import { watcher } from './watcher.ts';
import { watcherAudit } from './watcher-audit.ts';
import type { Deps } from './wrap.ts';

export function register(deps: Deps = () => depsFromPlatform()): void {
  ff.http('intake', intake(deps));
  ff.http('steps', steps(deps));
  ff.http('peerEvents', peerEvents(deps));
  ff.http('starter', starter(deps));
  ff.http('watcher', watcher(deps));
  ff.http('vpnHalf', vpnHalf(deps));
  ff.http('vpnInventory', vpnInventory(deps));
  ff.http('vpnRun', vpnRun(deps));
  ff.http('vpnRunEvents', vpnRunEvents(deps));
  ff.http('watcherAudit', watcherAudit(deps));
  ff.http('drSignals', drSignals(deps));
  ff.http('drCommanded', drCommanded(deps));
  ff.http('drControl', drControl(deps));
}

const missing = missingVariables(process.env);
if (missing.length > 0) {
  process.stderr.write(
    `crosslink-gcp: environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not set (gcp.yml functions[].environment, set by scripts/deploy-gcp)\n`,
  );
  process.exit(1);
}
register();
