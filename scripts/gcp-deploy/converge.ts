/**
 * Converges a Google project to a gcp.yml through gcloud (docs/deploy-gcp.md). Each phase reads
 * what exists (`list` / `describe` / `get-iam-policy --format=json`), then issues the commands that
 * create what is missing and update what changed; `prune` ends with deleting what this script
 * manages and the file no longer lists. Phases run in dependency order, and each reads the project
 * after the previous one ran, so a second run finds nothing to do. A dry run prints the same
 * commands without running them (later phases then see the project as it is: a resource a dry run
 * would create reads as absent, which is what the real run will find before creating it).
 *
 * What "managed" means (only managed resources are ever pruned): the label `crosslink-managed=true`
 * on topics, subscriptions, functions, workflows and alert policies (`userLabels`); a description
 * ending in `(managed by crosslink)` on service accounts, custom roles, log sinks and scheduler
 * jobs, which have no labels. KMS key rings and keys and workload identity pools are never pruned:
 * grants name them, and they must exist first (made by bootstrap.ts when gcp.yml has a `bootstrap`
 * section, by their owners otherwise). The IAM phases are in
 * deployment/gcp-grants.ts; each other kind's phases are in a module of their own beside this one
 * (pubsub.ts, functions.ts, logging.ts, scheduling.ts, alerts.ts, prune.ts).
 */

import { ValidationError } from '#core/errors.ts';
import { drExecutorRegionIssues } from '#deployment/dr-executor-region.ts';
import { serviceAccountEmail } from '#deployment/gcp-config.ts';
import {
  checkIamPrerequisites,
  convergeAccountGrants,
  convergeCustomRoles,
  type IamContext,
} from '#deployment/gcp-grants.ts';
import { convergeAlertPolicies } from './alerts.ts';
import { bootstrapProject } from './bootstrap.ts';
import {
  type Converge,
  type DeployOptions,
  type DeployResult,
  isMarked,
  MANAGED_MARK,
  marked,
} from './converge-context.ts';
import { convergeFunctions } from './functions.ts';
import { gcloudSession } from './gcloud.ts';
import { convergeLogMetrics, convergeLogSinks } from './logging.ts';
import { pruneUnlisted } from './prune.ts';
import { convergeSubscriptions, convergeTopics } from './pubsub.ts';
import { convergeSchedulerJobs, convergeWorkflows } from './scheduling.ts';

/** Runs (or prints) converge phases for one project; see the module comment. */
export async function deployGcp(o: DeployOptions): Promise<DeployResult> {
  const { config, project: P, gcloud } = o;
  const region = o.region ?? config.region;
  if (region === undefined)
    throw new ValidationError(
      [
        {
          path: 'region',
          reason:
            'is required to deploy (or pass --region): functions, workflows and scheduler jobs live in one',
        },
      ],
      config.file ?? 'gcp.yml',
    );
  // Google's DR executor in the region its plan refuses: refused before any call to the project.
  const misplaced = drExecutorRegionIssues(config, region);
  if (misplaced.length > 0) throw new ValidationError(misplaced, config.file ?? 'gcp.yml');
  const note = o.note ?? (() => {});
  const email = (ref: string) => serviceAccountEmail(ref, P);
  const session = gcloudSession({ gcloud, project: P, dryRun: o.dryRun, out: o.out });
  const { commands, enabling, readJson, readOrNull, exec, mut } = session;

  const projectInfo = await readJson<{ projectNumber: string }>(['projects', 'describe', P], false);
  const PN = projectInfo.projectNumber;
  // Each network project is described first: one the caller cannot reach stops the run before
  // anything changed.
  const networkNumbers = new Map<string, string>();
  for (const n of config.networkProjects)
    networkNumbers.set(
      n.project,
      (await readJson<{ projectNumber: string }>(['projects', 'describe', n.project], false)).projectNumber,
    );
  const iam: IamContext = {
    config,
    project: P,
    projectNumber: PN,
    region,
    prune: o.prune,
    readJson: (args) => readJson(args),
    readOrNull: (args) => readOrNull(args),
    exec: (cmds) => exec(cmds),
    mut,
    marked,
    isMarked,
  };
  // 0. What the project needs first (gcp.yml `bootstrap`): APIs, Firestore, KMS keys, pools.
  const planned = await bootstrapProject({
    config,
    project: P,
    region,
    dryRun: o.dryRun,
    enabling,
    readJson: (args) => readJson(args),
    readOrNull: (args) => readOrNull(args),
    exec: (cmds) => exec(cmds),
    mut,
  });
  // The KMS keys and workload identity pools the grants name must exist (or, in a dry run, be
  // planned by the bootstrap).
  await checkIamPrerequisites(iam, planned);
  const c: Converge = {
    o,
    config,
    project: P,
    projectNumber: PN,
    region,
    networkNumbers,
    iam,
    note,
    email,
    functionUrls: new Map(),
    readJson: (args, project) => readJson(args, project),
    readOrNull: (args, project) => readOrNull(args, project),
    exec: (cmds, before) => exec(cmds, before),
    mut,
  };

  // 1. Service accounts, custom roles, then the accounts' project roles and narrowed grants.
  await convergeServiceAccounts(c);
  await convergeCustomRoles(iam);
  await convergeAccountGrants(iam);
  // 2. Topics, with their publishers.
  await convergeTopics(c);
  // 3. Subscriptions that do not push to a function (dead-letter topics and their subscriptions
  //    included) with the Pub/Sub service agent's dead-letter grants; 5 repeats this after functions.
  const pushesToFunction = (s: { push?: { function?: string } }) => s.push?.function !== undefined;
  await convergeSubscriptions(
    c,
    config.subscriptions.filter((s) => !pushesToFunction(s)),
  );
  // 4. Functions (packaged first: the package hash is the `crosslink-source` label) and invokers.
  await convergeFunctions(c);
  // 5. Push subscriptions pointing at function URLs.
  await convergeSubscriptions(c, config.subscriptions.filter(pushesToFunction));
  // 6. Log sinks, then their writer identities' publisher grant on the destination topic: this
  //    project's, then each network project's copy of its sink (destination: this project's topic)
  //    and the impersonators' token-creator grants on the network project's service account.
  await convergeLogSinks(c);
  // 7. Workflows, then 8. scheduler jobs (which may start them).
  await convergeWorkflows(c);
  await convergeSchedulerJobs(c);
  // 9. Log-based metrics, then 10. the alert policies that read them.
  await convergeLogMetrics(c);
  await convergeAlertPolicies(c);
  // 11. Prune: what this script manages and the file no longer lists, dependents first.
  if (o.prune) await pruneUnlisted(c);
  return { commands };
}

/** Service accounts: created, or updated when their display name or managed mark differs. */
async function convergeServiceAccounts(c: Converge): Promise<void> {
  const { config, email, readJson, exec, mut } = c;
  const accounts = await readJson<{ email: string; displayName?: string; description?: string }[]>([
    'iam',
    'service-accounts',
    'list',
  ]);
  const have = new Map(accounts.map((a) => [a.email, a]));
  const cmds: string[][] = [];
  for (const sa of config.serviceAccounts) {
    const a = have.get(email(sa.id));
    const display = sa.displayName ? [`--display-name=${sa.displayName}`] : [];
    if (!a)
      cmds.push(mut('iam', 'service-accounts', 'create', sa.id, ...display, `--description=${MANAGED_MARK}`));
    else if ((a.displayName ?? '') !== (sa.displayName ?? '') || a.description !== MANAGED_MARK)
      cmds.push(
        mut(
          'iam',
          'service-accounts',
          'update',
          email(sa.id),
          `--display-name=${sa.displayName ?? ''}`,
          `--description=${MANAGED_MARK}`,
        ),
      );
  }
  await exec(cmds);
}
