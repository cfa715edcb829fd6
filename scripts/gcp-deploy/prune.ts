/**
 * The last phase of a converge with `prune`: deletes what this script manages (its label or its
 * description's mark) and gcp.yml no longer lists, dependents first, custom roles last.
 */
import type { Policy } from '#deployment/gcp-grants.ts';
import { projectBinding, pruneCustomRoles } from '#deployment/gcp-grants.ts';
import { ALERTS } from './alerts.ts';
import { type Converge, isManaged, isMarked, type Labels, last, listed } from './converge-context.ts';

/** Deletes the managed resources gcp.yml no longer lists (see the module comment). */
export async function pruneUnlisted(c: Converge): Promise<void> {
  const { config, project: P, region, email, readJson, exec, mut } = c;
  const alerts = ALERTS;
  const names = (list: { name: string }[]) => new Set(list.map((x) => x.name));
  const cmds: string[][] = [];
  // [list command, names gcp.yml keeps, is it ours, its delete command]
  type Listed = { name: string; labels?: Labels; userLabels?: Labels; description?: string };
  const kinds: [
    string[],
    Set<string>,
    (x: Listed) => string,
    (x: Listed) => boolean,
    (n: string) => string[],
  ][] = [
    [
      [...alerts, 'list'],
      new Set(config.alertPolicies.map((a) => a.name)),
      (x) => x.userLabels?.['crosslink-name'] ?? '',
      (x) => isManaged(x.userLabels),
      (n) => [...alerts, 'delete', n],
    ],
    [
      ['logging', 'metrics', 'list'],
      names(config.logMetrics),
      (x) => last(x.name),
      (x) => isMarked(x.description),
      (n) => ['logging', 'metrics', 'delete', last(n)],
    ],
    [
      ['scheduler', 'jobs', 'list', `--location=${region}`],
      names(config.schedulerJobs),
      (x) => last(x.name),
      (x) => isMarked(x.description),
      (n) => ['scheduler', 'jobs', 'delete', last(n), `--location=${region}`],
    ],
    [
      ['workflows', 'list', `--location=${region}`],
      names(config.workflows),
      (x) => last(x.name),
      (x) => isManaged(x.labels),
      (n) => ['workflows', 'delete', last(n), `--location=${region}`],
    ],
    [
      ['logging', 'sinks', 'list'],
      names(config.logSinks),
      (x) => x.name,
      (x) => isMarked(x.description),
      (n) => ['logging', 'sinks', 'delete', n],
    ],
    [
      ['pubsub', 'subscriptions', 'list'],
      names(config.subscriptions),
      (x) => last(x.name),
      (x) => isManaged(x.labels),
      (n) => ['pubsub', 'subscriptions', 'delete', last(n)],
    ],
    [
      // Every region (gcloud's default without --regions): a function's region is its own.
      ['functions', 'list', '--v2'],
      names(config.functions),
      (x) => last(x.name),
      (x) => isManaged(x.labels),
      (n) => ['functions', 'delete', last(n), `--region=${/\/locations\/([^/]+)\//.exec(n)?.[1] ?? region}`],
    ],
    [
      ['pubsub', 'topics', 'list'],
      names(config.topics),
      (x) => last(x.name),
      (x) => isManaged(x.labels),
      (n) => ['pubsub', 'topics', 'delete', last(n)],
    ],
  ];
  for (const [list, keep, key, ours, remove] of kinds)
    for (const x of listed(await readJson<Listed[]>(list)))
      if (ours(x) && !keep.has(key(x))) cmds.push(mut(...remove(x.name)));
  // A listed network project's sinks crosslink made and no longer wants (a project dropped from
  // networkProjects is not read at all: its sink stays, to be removed by its owners).
  for (const n of config.networkProjects)
    for (const x of listed(await readJson<Listed[]>(['logging', 'sinks', 'list'], n.project)))
      if (isMarked(x.description) && x.name !== n.logSink)
        cmds.push(['logging', 'sinks', 'delete', x.name, `--project=${n.project}`, '--quiet']);
  const accounts = await readJson<{ email: string; description?: string }[]>([
    'iam',
    'service-accounts',
    'list',
  ]);
  const accountEmails = new Set(config.serviceAccounts.map((s) => email(s.id)));
  const policy = await readJson<Policy>(['projects', 'get-iam-policy', P], false);
  for (const a of accounts ?? [])
    if (isMarked(a.description) && !accountEmails.has(a.email)) {
      const member = `serviceAccount:${a.email}`;
      for (const b of policy.bindings ?? [])
        if (b.members.includes(member)) cmds.push(projectBinding('remove', P, member, b.role, b.condition));
      cmds.push(mut('iam', 'service-accounts', 'delete', a.email));
    }
  await exec(cmds);
  // Custom roles last: the bindings that named them are gone.
  await pruneCustomRoles(c.iam);
}
