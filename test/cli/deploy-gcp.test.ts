/**
 * scripts/deploy-gcp against the simulated gcloud (test/support/gcloud-sim.ts): a dry run against
 * an empty project prints every resource of the fixture gcp.yml in dependency order; against a
 * converged one nothing; apply then re-apply changes nothing; a changed field is exactly one
 * update; --prune deletes only what this script manages and the file no longer lists.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadGcpConfig } from '#deployment/gcp-config.ts';
import { packageFunction } from '#deployment/gcp-function-build.ts';
import { main } from '#scripts/deploy-gcp.ts';
import { ledgerDoc } from '../support/dr-ledger.ts';
import { GcloudSim } from '../support/gcloud-sim.ts';
import { exampleDoc } from '../unit/dr/helpers.ts';

const FIXTURE = resolve(import.meta.dirname, '../fixtures/gcp');
const PROJECT = 'crosslink-test';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deploy-gcp-'));
  cpSync(FIXTURE, join(dir, 'gcp'), { recursive: true });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function deploy(sim: GcloudSim, ...flags: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['--project', PROJECT, '--config', 'gcp/gcp.yml', ...flags], {
    gcloud: sim,
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    cwd: dir,
    env: {},
  });
  return { code, out, err };
}

/** Rewrites the copied gcp.yml. */
function edit(change: (c: Record<string, unknown[]> & Record<string, unknown>) => void) {
  const file = join(dir, 'gcp', 'gcp.yml');
  const c = parse(readFileSync(file, 'utf8'));
  change(c);
  writeFileSync(file, stringify(c));
}

/** A project with what the fixture's grants need and gcp.yml does not create: its KMS key and pool. */
function newSim(): GcloudSim {
  const sim = new GcloudSim({ project: PROJECT, cwd: dir });
  sim.seedCryptoKey('us-east4', 'orders', 'sealing');
  sim.seedPool('orders-aws', '123456789012');
  return sim;
}

describe('scripts/deploy-gcp --dry-run against an empty project', () => {
  it('prints a command for every resource of gcp.yml, in dependency order, and runs none', async () => {
    const sim = newSim();
    const { code, out, err } = await deploy(sim, '--dry-run');
    expect(err.at(-1)).toMatch(/command\(s\) would run \(dry run\)/);
    expect(code).toBe(0);
    expect(sim.mutations()).toEqual([]);
    const at = (pattern: RegExp) => {
      const i = out.findIndex((l) => pattern.test(l));
      expect(i, `no line matches ${pattern}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    const sa = (id: string) => `${id}@${PROJECT}.iam.gserviceaccount.com`;
    const agent = 'serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com';
    const fnUrl = (n: string) => `https://us-east4-${PROJECT}.cloudfunctions.net/${n}`;

    const accounts = ['crosslink', 'scheduler', 'pubsub-pusher', 'workflows-runner'].map((id) =>
      at(new RegExp(`^gcloud iam service-accounts create ${id} .*--project=${PROJECT} --quiet$`)),
    );
    const roles = [
      at(
        new RegExp(
          `^gcloud projects add-iam-policy-binding ${PROJECT} --member=serviceAccount:${sa('crosslink')} --role=roles/datastore.user --condition=None`,
        ),
      ),
      at(
        new RegExp(
          `add-iam-policy-binding ${PROJECT} --member=serviceAccount:${sa('workflows-runner')} --role=roles/logging.logWriter`,
        ),
      ),
    ];
    const topics = ['orders', 'orders-dead', 'events', 'echoes', 'ticks', 'audit'].map((t) =>
      at(new RegExp(`^gcloud pubsub topics create ${t} --labels=crosslink-managed=true`)),
    );
    const pullSubs = ['orders-dead-sub', 'echoes-sub', 'ticks-sub', 'audit-sub'].map((s) =>
      at(new RegExp(`^gcloud pubsub subscriptions create ${s} --topic=`)),
    );
    const deadLetterGrants = [
      at(
        new RegExp(
          `^gcloud pubsub topics add-iam-policy-binding orders-dead --member=${agent} --role=roles/pubsub.publisher`,
        ),
      ),
      at(
        new RegExp(
          `^gcloud pubsub subscriptions add-iam-policy-binding orders-push --member=${agent} --role=roles/pubsub.subscriber`,
        ),
      ),
    ];
    const functions = [
      at(
        /^gcloud functions deploy whoami --gen2 --region=us-east4 --runtime=nodejs24 --source=\.crosslink\/gcp-build\/whoami --entry-point=whoami --trigger-http --no-allow-unauthenticated --service-account=crosslink@.* --set-env-vars=GREETING=hello /,
      ),
      at(/^gcloud functions deploy orders .*--trigger-http --no-allow-unauthenticated/),
      at(
        /^gcloud functions deploy echo .*--trigger-topic=events --trigger-service-account=pubsub-pusher@crosslink-test\.iam\.gserviceaccount\.com --no-retry/,
      ),
    ];
    const invokers = [
      at(
        /^gcloud functions add-invoker-policy-binding whoami --region=us-east4 --member=user:alice@example\.com/,
      ),
      at(
        new RegExp(
          `^gcloud functions add-invoker-policy-binding orders --region=us-east4 --member=serviceAccount:${sa('pubsub-pusher')}`,
        ),
      ),
      at(
        new RegExp(
          `^gcloud functions add-invoker-policy-binding echo --region=us-east4 --member=serviceAccount:${sa('pubsub-pusher')}`,
        ),
      ),
    ];
    const push = at(
      new RegExp(
        `^gcloud pubsub subscriptions create orders-push --topic=orders --ack-deadline=10 --push-endpoint=${fnUrl('orders')} --push-auth-service-account=${sa('pubsub-pusher')} --push-auth-token-audience=${fnUrl('orders')} --dead-letter-topic=orders-dead --max-delivery-attempts=5 --min-retry-delay=1s --max-retry-delay=2s`,
      ),
    );
    const sink = at(
      /^gcloud logging sinks create transport-audit pubsub\.googleapis\.com\/projects\/crosslink-test\/topics\/audit '--log-filter=logName:"cloudaudit/,
    );
    const writer = at(
      /^gcloud pubsub topics add-iam-policy-binding audit --member=serviceAccount:service-123456789012@gcp-sa-logging\.iam\.gserviceaccount\.com --role=roles\/pubsub\.publisher/,
    );
    const workflow = at(
      /^gcloud workflows deploy greet --location=us-east4 --source=gcp\/workflows\/greet\.workflows\.yaml --service-account=workflows-runner@/,
    );
    const jobs = [
      at(
        /^gcloud scheduler jobs create pubsub tick --location=us-east4 '--schedule=\*\/5 \* \* \* \*' --time-zone=Etc\/UTC .*--topic=ticks '--message-body={"kind":"tick"}' --attributes=source=scheduler/,
      ),
      at(
        new RegExp(
          `^gcloud scheduler jobs create http morning-call .*--time-zone=America/New_York .*--uri=${fnUrl('whoami')} --http-method=post --headers=Content-Type=application/json '--message-body=\\{"from":"scheduler"\\}' --oidc-service-account-email=${sa('scheduler')} --oidc-token-audience=${fnUrl('whoami')}`,
        ),
      ),
      at(
        /^gcloud scheduler jobs create http hourly-greet .*--uri=https:\/\/workflowexecutions\.googleapis\.com\/v1\/projects\/crosslink-test\/locations\/us-east4\/workflows\/greet\/executions .*--oauth-service-account-email=scheduler@/,
      ),
    ];
    const alert = at(
      /^gcloud alpha monitoring policies create '--policy=\{"displayName":"Dead letters in orders-dead-sub"/,
    );
    const metrics = ['poison_orders', 'order_latency_seconds'].map((m) =>
      at(
        new RegExp(
          `^gcloud logging metrics create ${m} --config-from-file=\\.crosslink/gcp-build/log-metrics/${m}\\.json --project=${PROJECT} --quiet$`,
        ),
      ),
    );
    const slow = at(/^gcloud alpha monitoring policies create '--policy=\{"displayName":"Orders take more/);
    // The printed commands run as printed: the LogMetric files are written, exactly as the API has them.
    expect(
      JSON.parse(
        readFileSync(join(dir, '.crosslink/gcp-build/log-metrics/order_latency_seconds.json'), 'utf8'),
      ),
    ).toEqual({
      name: 'order_latency_seconds',
      description: "Seconds from an order's publication to its processing (managed by crosslink)",
      filter: 'resource.type="cloud_run_revision" AND jsonPayload.message="order processed"',
      metricDescriptor: { metricKind: 'DELTA', valueType: 'DISTRIBUTION', unit: 's', labels: [] },
      valueExtractor: 'EXTRACT(jsonPayload.latencySeconds)',
      bucketOptions: { exponentialBuckets: { numFiniteBuckets: 10, growthFactor: 2, scale: 1 } },
    });
    expect(
      JSON.parse(out[slow]?.match(/'--policy=(.*)' --project/)?.[1] ?? '{}').conditions[0],
    ).toMatchObject({
      conditionThreshold: {
        aggregations: [{ alignmentPeriod: '600s', perSeriesAligner: 'ALIGN_PERCENTILE_99' }],
      },
    });

    // Dependency order: each group after the one it needs.
    const precedes = (a: number[], b: number[]) => expect(Math.max(...a)).toBeLessThan(Math.min(...b));
    precedes(accounts, roles);
    precedes(roles, topics);
    precedes(topics, pullSubs);
    precedes(pullSubs, functions);
    precedes(functions, invokers);
    precedes([...invokers, ...pullSubs], [push]);
    precedes([push], deadLetterGrants.slice(1)); // the subscriber grant needs the subscription
    precedes([push], [sink]);
    precedes([sink], [writer]);
    precedes([writer], [workflow]);
    precedes([workflow, ...functions], jobs);
    precedes(jobs, metrics);
    precedes(metrics, [alert, slow]);
  });
});

describe('scripts/deploy-gcp applies and converges', () => {
  it('applies gcp.yml, then finds nothing to do (dry run and a second apply)', async () => {
    const sim = newSim();
    const first = await deploy(sim);
    expect(first.err.join('\n')).toMatch(/command\(s\) ran/);
    expect(first.code).toBe(0);
    expect(sim.topics.size).toBe(6);
    expect(sim.functions.get('echo')?.json.eventTrigger).toMatchObject({
      pubsubTopic: `projects/${PROJECT}/topics/events`,
    });
    // The function package was built before its deploy (the simulated deploy requires package.json).
    expect(readFileSync(join(dir, '.crosslink/gcp-build/whoami/package.json'), 'utf8')).toMatch(
      /functions-framework/,
    );
    expect(sim.subscriptions.get('orders-push')?.json.pushConfig).toMatchObject({
      pushEndpoint: `https://us-east4-${PROJECT}.cloudfunctions.net/orders`,
    });

    const calls = sim.calls.length;
    const dry = await deploy(sim, '--dry-run');
    expect(dry.out).toEqual([]);
    expect(dry.err).toEqual([`nothing to do: project ${PROJECT} matches gcp/gcp.yml`]);

    const again = await deploy(sim);
    expect(again.code).toBe(0);
    expect(again.out).toEqual([]);
    expect(sim.mutations().length).toBe(first.out.length);
    expect(sim.calls.length).toBeGreaterThan(calls);
  });

  it('a changed field is exactly one update of that resource', async () => {
    const sim = newSim();
    await deploy(sim);
    edit((c) => {
      (c.subscriptions as { name: string; ackDeadlineSeconds?: number }[])[1]!.ackDeadlineSeconds = 30;
    });
    const one = await deploy(sim);
    expect(one.out).toEqual([
      `+ gcloud pubsub subscriptions update orders-dead-sub --ack-deadline=30 --project=${PROJECT} --quiet`,
    ]);
    expect(sim.subscriptions.get('orders-dead-sub')?.json.ackDeadlineSeconds).toBe(30);

    edit((c) => {
      (c.schedulerJobs as { schedule: string }[])[0]!.schedule = '*/10 * * * *';
      (c.functions as { environment?: Record<string, string> }[])[0]!.environment = { GREETING: 'hi' };
    });
    const two = await deploy(sim, '--dry-run');
    expect(two.out).toHaveLength(2);
    expect(two.out[0]).toMatch(/^gcloud functions deploy whoami .*--set-env-vars=GREETING=hi /);
    expect(two.out[1]).toMatch(
      /^gcloud scheduler jobs update pubsub tick --location=us-east4 '--schedule=\*\/10 \* \* \* \*'/,
    );
    await deploy(sim);
    expect((await deploy(sim, '--dry-run')).out).toEqual([]);
  });

  it('deploys a function in its own region, and moves it (deleted there, deployed anew) when its region changes', async () => {
    // Prepare
    const sim = newSim();
    const first = await deploy(sim);
    expect(first.code).toBe(0);
    expect(first.out).toContainEqual(
      expect.stringMatching(/^\+ gcloud functions deploy whoami-west --gen2 --region=us-west1 /),
    );
    expect(first.out).toContainEqual(
      expect.stringMatching(
        /^\+ gcloud functions add-invoker-policy-binding whoami-west --region=us-west1 --member=user:alice@example\.com /,
      ),
    );
    expect(sim.functions.get('whoami-west')?.json.url).toBe(
      `https://us-west1-${PROJECT}.cloudfunctions.net/whoami-west`,
    );
    // Act
    edit((c) => {
      (c.functions as { name: string; region?: string }[]).find((f) => f.name === 'whoami-west')!.region =
        'europe-west1';
    });
    const moved = await deploy(sim);
    // Assess
    expect(moved.code).toBe(0);
    expect(moved.out.slice(0, 2)).toEqual([
      `+ gcloud functions delete whoami-west --region=us-west1 --project=${PROJECT} --quiet`,
      expect.stringMatching(/^\+ gcloud functions deploy whoami-west --gen2 --region=europe-west1 /),
    ]);
    expect(moved.err).toContainEqual(
      'note: function whoami-west: it runs in us-west1, gcp.yml places it in europe-west1; deleting it there and deploying it anew',
    );
    expect(sim.functions.get('whoami-west')?.json.name).toBe(
      `projects/${PROJECT}/locations/europe-west1/functions/whoami-west`,
    );
    expect((await deploy(sim, '--dry-run')).out).toEqual([]);
  });

  it('replaces what cannot change in place: a subscription topic, a scheduler target type', async () => {
    const sim = newSim();
    await deploy(sim);
    edit((c) => {
      (c.subscriptions as { name: string; topic: string }[])[2]!.topic = 'ticks';
      const tick = (c.schedulerJobs as Record<string, unknown>[])[0]!;
      delete tick.pubsub;
      tick.http = { uri: 'https://example.com/tick', serviceAccount: 'scheduler' };
    });
    const r = await deploy(sim);
    expect(r.code).toBe(0);
    expect(r.out).toEqual([
      `+ gcloud pubsub subscriptions delete echoes-sub --project=${PROJECT} --quiet`,
      expect.stringMatching(/^\+ gcloud pubsub subscriptions create echoes-sub --topic=ticks /),
      `+ gcloud scheduler jobs delete tick --location=us-east4 --project=${PROJECT} --quiet`,
      expect.stringMatching(
        /^\+ gcloud scheduler jobs create http tick .*--uri=https:\/\/example\.com\/tick/,
      ),
    ]);
    expect(r.err.filter((l) => l.startsWith('note:'))).toHaveLength(2);
    expect((await deploy(sim, '--dry-run')).out).toEqual([]);
  });

  it('log metrics: a changed field is one update from the file; a changed value type is a replacement', async () => {
    const sim = newSim();
    await deploy(sim);
    // The service fills in the descriptor and drops a STRING label's value type: still no change.
    expect(sim.logMetrics.get('poison_orders')?.metricDescriptor).toMatchObject({
      type: 'logging.googleapis.com/user/poison_orders',
      labels: [{ key: 'source' }],
    });
    edit((c) => {
      const m = (c.logMetrics as { filter: string }[])[0]!;
      m.filter = `${m.filter} AND severity="WARNING"`;
    });
    const one = await deploy(sim);
    expect(one.out).toEqual([
      `+ gcloud logging metrics update poison_orders --config-from-file=.crosslink/gcp-build/log-metrics/poison_orders.json --project=${PROJECT} --quiet`,
    ]);
    expect(sim.logMetrics.get('poison_orders')?.filter).toMatch(/severity="WARNING"$/);

    edit((c) => {
      const m = (c.logMetrics as Record<string, Record<string, unknown>>[])[0]!;
      m.metricDescriptor!.valueType = 'DISTRIBUTION';
      m.valueExtractor = 'EXTRACT(jsonPayload.quantity)' as never;
      m.bucketOptions = { linearBuckets: { numFiniteBuckets: 5, width: 10, offset: 0 } };
    });
    const two = await deploy(sim);
    expect(two.code).toBe(0);
    expect(two.out).toEqual([
      `+ gcloud logging metrics delete poison_orders --project=${PROJECT} --quiet`,
      `+ gcloud logging metrics create poison_orders --config-from-file=.crosslink/gcp-build/log-metrics/poison_orders.json --project=${PROJECT} --quiet`,
    ]);
    expect(two.err.filter((l) => l.startsWith('note: log metric poison_orders'))).toHaveLength(1);
    expect(sim.logMetrics.get('poison_orders')?.metricDescriptor).toMatchObject({
      valueType: 'DISTRIBUTION',
    });
    expect((await deploy(sim, '--dry-run')).out).toEqual([]);
  });

  it('an alert on a log metric is created only after the metric (the service refuses it before)', async () => {
    const sim = newSim();
    const refused = await sim.run([
      'alpha',
      'monitoring',
      'policies',
      'create',
      `--policy=${JSON.stringify({
        displayName: 'slow',
        conditions: [
          {
            conditionThreshold: { filter: 'metric.type="logging.googleapis.com/user/order_latency_seconds"' },
          },
        ],
      })}`,
      `--project=${PROJECT}`,
    ]);
    expect(refused.stderr).toMatch(/INVALID_ARGUMENT: Cannot find metric/);
    const r = await deploy(sim);
    expect(r.code).toBe(0);
    expect([...sim.alerts.values()].map((a) => a.displayName).sort()).toEqual([
      'Dead letters in orders-dead-sub',
      'Orders take more than 5 minutes',
    ]);
  });

  it('--prune deletes only the managed resources gcp.yml no longer lists', async () => {
    const sim = newSim();
    await deploy(sim);
    // Not managed by crosslink: an unlabelled topic and a service account made by hand.
    await sim.run(['pubsub', 'topics', 'create', 'by-hand', `--project=${PROJECT}`]);
    await sim.run(['iam', 'service-accounts', 'create', 'hand-made', `--project=${PROJECT}`]);
    edit((c) => {
      c.topics = (c.topics as { name: string }[]).filter((t) => t.name !== 'echoes');
      c.subscriptions = (c.subscriptions as { name: string }[]).filter((s) => s.name !== 'echoes-sub');
      c.schedulerJobs = (c.schedulerJobs as { name: string }[]).filter((j) => j.name !== 'tick');
      c.alertPolicies = [];
      c.logMetrics = (c.logMetrics as { name: string }[]).filter((m) => m.name !== 'order_latency_seconds');
    });
    // Not managed either: a log metric made by hand.
    await sim.run([
      'logging',
      'metrics',
      'create',
      'by_hand',
      '--log-filter=severity>=ERROR',
      '--description=errors',
      `--project=${PROJECT}`,
    ]);
    const withoutPrune = await deploy(sim);
    expect(withoutPrune.out).toEqual([]);

    const dry = await deploy(sim, '--prune', '--dry-run');
    expect(dry.out).toEqual([
      expect.stringMatching(
        /^gcloud alpha monitoring policies delete projects\/crosslink-test\/alertPolicies\/\d+ /,
      ),
      expect.stringMatching(
        /^gcloud alpha monitoring policies delete projects\/crosslink-test\/alertPolicies\/\d+ /,
      ),
      `gcloud logging metrics delete order_latency_seconds --project=${PROJECT} --quiet`,
      `gcloud scheduler jobs delete tick --location=us-east4 --project=${PROJECT} --quiet`,
      `gcloud pubsub subscriptions delete echoes-sub --project=${PROJECT} --quiet`,
      `gcloud pubsub topics delete echoes --project=${PROJECT} --quiet`,
    ]);
    const r = await deploy(sim, '--prune');
    expect(r.code).toBe(0);
    expect([...sim.topics.keys()].sort()).toEqual([
      'audit',
      'by-hand',
      'events',
      'orders',
      'orders-dead',
      'ticks',
    ]);
    expect(sim.alerts.size).toBe(0);
    expect([...sim.logMetrics.keys()].sort()).toEqual(['by_hand', 'poison_orders']);
    expect(sim.sinks.has('_Default')).toBe(true);
    expect([...sim.subscriptions.keys()].some((s) => s.startsWith('eventarc-'))).toBe(true);
    expect(sim.accounts.has(`hand-made@${PROJECT}.iam.gserviceaccount.com`)).toBe(true);
    expect((await deploy(sim, '--prune', '--dry-run')).out).toEqual([]);

    // A service account the file drops loses its project roles (the conditional one with its
    // condition), then is deleted.
    edit((c) => {
      c.serviceAccounts = (c.serviceAccounts as { id: string }[]).filter((s) => s.id !== 'crosslink');
      for (const f of c.functions as Record<string, unknown>[]) delete f.serviceAccount;
      for (const f of c.functions as { trigger: { http?: { invokers: string[] } } }[])
        if (f.trigger.http)
          f.trigger.http.invokers = f.trigger.http.invokers.filter((m) => m !== 'serviceAccount:crosslink');
    });
    const sa = await deploy(sim, '--prune', '--dry-run');
    expect(sa.out.slice(-3)).toEqual([
      `gcloud projects remove-iam-policy-binding ${PROJECT} --member=serviceAccount:crosslink@${PROJECT}.iam.gserviceaccount.com --role=roles/datastore.user --condition=None --quiet`,
      `gcloud projects remove-iam-policy-binding ${PROJECT} --member=serviceAccount:crosslink@${PROJECT}.iam.gserviceaccount.com --role=projects/${PROJECT}/roles/ordersSecretReader '--condition=expression=resource.name.startsWith("projects/123456789012/secrets/orders-"),title=secrets orders-*' --quiet`,
      `gcloud iam service-accounts delete crosslink@${PROJECT}.iam.gserviceaccount.com --project=${PROJECT} --quiet`,
    ]);
    expect((await deploy(sim, '--prune')).code).toBe(0);
    expect(sim.iamPolicy.filter((b) => b.members.some((m) => m.includes('crosslink@')))).toEqual([]);
  });
});

describe('scripts/deploy-gcp grants (custom roles, conditions, keys, topic publishers)', () => {
  const SA = `serviceAccount:crosslink@${PROJECT}.iam.gserviceaccount.com`;
  const ORDERS_FEED =
    'principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/orders-aws/attribute.aws_role/arn:aws:sts::123456789012:assumed-role/orders-feed';

  it('applies them, then a changed permission, publisher or key grant is one command each', async () => {
    const sim = newSim();
    expect((await deploy(sim)).code).toBe(0);
    expect(sim.iamPolicy).toContainEqual({
      role: `projects/${PROJECT}/roles/ordersSecretReader`,
      members: [SA],
      condition: {
        expression: 'resource.name.startsWith("projects/123456789012/secrets/orders-")',
        title: 'secrets orders-*',
      },
    });
    expect(sim.topics.get('orders')?.policy).toEqual([
      { role: 'roles/pubsub.publisher', members: [ORDERS_FEED] },
    ]);
    expect(sim.topics.get('echoes')?.policy).toEqual([{ role: 'roles/pubsub.publisher', members: [SA] }]);

    edit((c) => {
      const role = (c.customRoles as { permissions: string[] }[])[0]!;
      role.permissions.push('secretmanager.versions.get');
      (c.topics as { name: string; publishers?: string[] }[]).find((t) => t.name === 'echoes')!.publishers = [
        'serviceAccount:scheduler',
      ];
      const grants = (c.serviceAccounts as { grants?: unknown[] }[])[0]!.grants!;
      grants.splice(1, 1); // the KMS key grant
    });
    const r = await deploy(sim);
    expect(r.code).toBe(0);
    expect(r.out).toEqual([
      `+ gcloud iam roles update ordersSecretReader '--title=orders secret reader' '--description=reads the orders-* secrets (managed by crosslink)' --permissions=secretmanager.versions.access,secretmanager.versions.get --stage=GA --project=${PROJECT} --quiet`,
      `+ gcloud pubsub topics add-iam-policy-binding echoes --member=serviceAccount:scheduler@${PROJECT}.iam.gserviceaccount.com --role=roles/pubsub.publisher --project=${PROJECT} --quiet`,
      `+ gcloud pubsub topics remove-iam-policy-binding echoes --member=${SA} --role=roles/pubsub.publisher --project=${PROJECT} --quiet`,
    ]);
    // A key no grant names any more is not read: its binding stays (docs/deploy-gcp.md).
    expect(sim.cryptoKeys.get('us-east4/orders/sealing')?.policy).toEqual([
      { role: 'roles/cloudkms.cryptoKeyDecrypter', members: [SA] },
    ]);
    expect((await deploy(sim, '--dry-run')).out).toEqual([]);
  });

  it('an AWS publisher no longer listed goes with --prune; a dropped custom role is deleted, a relisted one undeleted', async () => {
    const sim = newSim();
    await deploy(sim);
    edit((c) => {
      delete (c.topics as { awsPublishers?: unknown }[])[0]!.awsPublishers;
      (c.serviceAccounts as { grants?: unknown[] }[])[0]!.grants!.splice(0, 1);
      delete c.customRoles;
    });
    const plain = await deploy(sim);
    expect(plain.out).toEqual([
      `+ gcloud projects remove-iam-policy-binding ${PROJECT} --member=${SA} --role=projects/${PROJECT}/roles/ordersSecretReader '--condition=expression=resource.name.startsWith("projects/123456789012/secrets/orders-"),title=secrets orders-*' --quiet`,
    ]);
    const pruned = await deploy(sim, '--prune');
    expect(pruned.out).toEqual([
      `+ gcloud pubsub topics remove-iam-policy-binding orders --member=${ORDERS_FEED} --role=roles/pubsub.publisher --project=${PROJECT} --quiet`,
      `+ gcloud iam roles delete ordersSecretReader --project=${PROJECT} --quiet`,
    ]);
    expect(sim.customRoles.get('ordersSecretReader')?.deleted).toBe(true);
    expect((await deploy(sim, '--prune', '--dry-run')).out).toEqual([]);

    // Listed again: the deleted role's id is still taken, so it is undeleted and set as listed.
    cpSync(join(FIXTURE, 'gcp.yml'), join(dir, 'gcp', 'gcp.yml'));
    const back = await deploy(sim);
    expect(back.code).toBe(0);
    expect(back.out.slice(0, 2)).toEqual([
      `+ gcloud iam roles undelete ordersSecretReader --project=${PROJECT} --quiet`,
      expect.stringMatching(/^\+ gcloud iam roles update ordersSecretReader /),
    ]);
    expect((await deploy(sim, '--dry-run')).out).toEqual([]);
  });

  it('the simulated gcloud refuses what IAM refuses', async () => {
    const sim = newSim();
    await deploy(sim);
    const run = (...args: string[]) => sim.run([...args, `--project=${PROJECT}`]);
    const topicBinding = (topic: string, member: string, ...more: string[]) =>
      run(
        'pubsub',
        'topics',
        'add-iam-policy-binding',
        topic,
        `--member=${member}`,
        '--role=roles/pubsub.publisher',
        ...more,
      );
    expect((await topicBinding('nope', SA)).stderr).toMatch(/NOT_FOUND: .*topics\/nope/);
    expect((await topicBinding('orders', ORDERS_FEED.replace('orders-aws', 'other-pool'))).stderr).toMatch(
      /INVALID_ARGUMENT: Workload identity pool .*other-pool does not exist/,
    );
    expect((await topicBinding('orders', 'principalSet://iam.googleapis.com/pools/x')).stderr).toMatch(
      /INVALID_ARGUMENT: Invalid principal identifier/,
    );
    // Pub/Sub topic policies take no conditions.
    expect((await topicBinding('orders', SA, '--condition=expression=true,title=t')).code).toBe(2);
    const projectBinding = (role: string, condition: string) =>
      sim.run(['projects', 'add-iam-policy-binding', PROJECT, `--member=${SA}`, `--role=${role}`, condition]);
    expect((await projectBinding(`projects/${PROJECT}/roles/nope`, '--condition=None')).stderr).toMatch(
      /INVALID_ARGUMENT: Role \(projects\/crosslink-test\/roles\/nope\) does not exist/,
    );
    expect((await projectBinding('roles/datastore.user', '--condition=expression=true')).stderr).toMatch(
      /expression and title are required/,
    );
    expect((await projectBinding('roles/viewer', '--condition=expression=true,title=t')).stderr).toMatch(
      /INVALID_ARGUMENT: Conditions are not supported for basic roles/,
    );
    expect(
      (
        await run(
          'kms',
          'keys',
          'add-iam-policy-binding',
          'nope',
          '--keyring=orders',
          '--location=us-east4',
          `--member=${SA}`,
          '--role=roles/cloudkms.cryptoKeyDecrypter',
        )
      ).stderr,
    ).toMatch(/NOT_FOUND: .*cryptoKeys\/nope/);
    expect((await run('iam', 'roles', 'create', 'ordersSecretReader', '--permissions=a.b.c')).stderr).toMatch(
      /ALREADY_EXISTS/,
    );
    expect((await run('iam', 'roles', 'create', 'another', '--permissions=not-a-permission')).stderr).toMatch(
      /Permission not-a-permission is not valid/,
    );
    await run('iam', 'roles', 'delete', 'ordersSecretReader');
    expect((await run('iam', 'roles', 'update', 'ordersSecretReader', '--title=x')).stderr).toMatch(
      /FAILED_PRECONDITION: You can't update a deleted role/,
    );
    expect(
      (await projectBinding(`projects/${PROJECT}/roles/ordersSecretReader`, '--condition=None')).stderr,
    ).toMatch(/does not exist/);
  });

  it('refuses grants gcp.yml cannot mean, by field', async () => {
    const sim = newSim();
    edit((c) => {
      const accounts = c.serviceAccounts as { roles: string[]; grants?: Record<string, string>[] }[];
      accounts[0]!.grants = [
        { role: 'ordersSecretReader', secrets: 'orders-', cryptoKey: 'orders/sealing' },
        { role: 'noSuchRole', secrets: 'orders-' },
        { role: 'roles/datastore.user', secrets: 'orders-' },
      ];
      accounts[1]!.roles.push('roles/secretmanager.admin');
      (c.topics as { publishers?: string[] }[])[1]!.publishers = ['serviceAccount:nobody'];
      (c.topics as { awsPublishers?: unknown[] }[])[2]!.awsPublishers = [
        { pool: 'orders-aws', role: 'orders-feed' },
      ];
      (c.customRoles as unknown[]).push({ id: 'ordersSecretReader', title: 'again', permissions: ['a.b.c'] });
    });
    const r = await deploy(sim, '--dry-run');
    expect(r.code).toBe(2);
    expect(r.err).toEqual(
      expect.arrayContaining([
        expect.stringContaining('serviceAccounts[0].grants[0]: must name a role and exactly one of secrets'),

        expect.stringContaining('topics[2].awsPublishers[0].role: must be an AWS IAM role ARN'),
      ]),
    );
    expect(sim.calls).toEqual([]);
    // Past the schema: references between entries.
    edit((c) => {
      const accounts = c.serviceAccounts as { roles: string[]; grants?: Record<string, string>[] }[];
      accounts[0]!.grants!.splice(0, 1);
      accounts[1]!.roles.push('ordersSecretReader', 'roles/run.invoker', 'roles/editor');
      delete (c.topics as { awsPublishers?: unknown[] }[])[2]!.awsPublishers;
    });
    const refs = await deploy(sim, '--dry-run');
    expect(refs.code).toBe(2);
    expect(refs.err).toEqual([
      // The schema's refusal, then the references (one run lists every problem).
      'gcp/gcp.yml: serviceAccounts[1].roles[4]: roles/owner and roles/editor are refused (minimal roles only)',
      'gcp/gcp.yml: customRoles[1]: repeats the id ordersSecretReader',
      'gcp/gcp.yml: serviceAccounts[0].grants[0].role: names the custom role noSuchRole, which customRoles does not list',
      'gcp/gcp.yml: serviceAccounts[0].grants[1].role: roles/datastore.user is not a Secret Manager role: a secrets grant carries only secretmanager permissions',
      'gcp/gcp.yml: serviceAccounts[1].roles[1]: roles/secretmanager.admin is refused project-wide: grant it on a secret-name prefix (grants: {role, secrets})',
      'gcp/gcp.yml: serviceAccounts[1].roles[2]: the custom role ordersSecretReader carries secretmanager.versions.access, refused project-wide: grant it on the topic, a secret-name prefix or the key',
      "gcp/gcp.yml: serviceAccounts[1].roles[3]: roles/run.invoker is refused project-wide: invokers go on the function (its trigger's invokers)",
      'gcp/gcp.yml: topics[1].publishers[0]: names the service account nobody, which serviceAccounts does not list',
    ]);
  });
});

describe('scripts/deploy-gcp and network projects', () => {
  const NET = 'network-east';
  const NET_SA = `crosslink-net@${NET}.iam.gserviceaccount.com`;
  const HUB_SA = `crosslink@${PROJECT}.iam.gserviceaccount.com`;
  const NET_WRITER = 'serviceAccount:service-555555555555@gcp-sa-logging.iam.gserviceaccount.com';
  /** The hub and a network project whose own account its owners made. */
  function world() {
    const sim = newSim();
    const net = sim.addProject(new GcloudSim({ project: NET, projectNumber: '555555555555', cwd: dir }));
    net.seedAccount(NET_SA, 'crosslink in network-east');
    edit((c) => {
      c.networkProjects = [
        { project: NET, serviceAccount: NET_SA, impersonators: ['crosslink'], logSink: 'transport-audit' },
      ];
    });
    return { sim, net };
  }

  it('dry run: the network sink feeding the hub topic, its writer grant and the token-creator grant, in order', async () => {
    const { sim } = world();
    const { code, out } = await deploy(sim, '--dry-run');
    expect(code).toBe(0);
    expect(sim.mutations()).toEqual([]);
    const i = out.findIndex(
      (l) => l.startsWith('gcloud logging sinks create transport-audit') && l.includes(`--project=${NET}`),
    );
    expect(out.slice(i, i + 3)).toEqual([
      `gcloud logging sinks create transport-audit pubsub.googleapis.com/projects/${PROJECT}/topics/audit ${out[i]?.split(' ').slice(6).join(' ')}`,
      `gcloud pubsub topics add-iam-policy-binding audit --member=${NET_WRITER} --role=roles/pubsub.publisher --project=${PROJECT} --quiet`,
      `gcloud iam service-accounts add-iam-policy-binding ${NET_SA} --member=serviceAccount:${HUB_SA} --role=roles/iam.serviceAccountTokenCreator --project=${NET} --quiet`,
    ]);
    expect(out[i]).toMatch(
      /'--log-filter=logName:"cloudaudit\.googleapis\.com%2Factivity" AND .*TransportManager"'/,
    );
    expect(out[i]).toContain(`--project=${NET} --quiet`);
    // After the hub's own sink and its grant, before the workflows.
    const hubSink = out.findIndex(
      (l) =>
        l.startsWith('gcloud logging sinks create transport-audit') && l.includes(`--project=${PROJECT}`),
    );
    expect(hubSink).toBeGreaterThanOrEqual(0);
    expect(hubSink).toBeLessThan(i);
    expect(out.slice(i + 3).some((l) => l.startsWith('gcloud workflows deploy'))).toBe(true);
    // Every function learns the network projects.
    for (const l of out.filter((x) => x.startsWith('gcloud functions deploy')))
      expect(l).toContain(`CROSSLINK_NETWORK_PROJECTS={"${NET}":"${NET_SA}"}`);
  });

  it('applies, then a rerun changes nothing; a change is converged; --prune removes only its own', async () => {
    const { sim, net } = world();
    expect((await deploy(sim)).code).toBe(0);
    expect(net.sinks.get('transport-audit')).toMatchObject({
      destination: `pubsub.googleapis.com/projects/${PROJECT}/topics/audit`,
      description: expect.stringMatching(/\(managed by crosslink\)$/),
    });
    expect(sim.topics.get('audit')?.policy).toEqual(
      expect.arrayContaining([
        { role: 'roles/pubsub.publisher', members: expect.arrayContaining([NET_WRITER]) },
      ]),
    );
    expect(net.accountPolicies.get(NET_SA)).toEqual([
      { role: 'roles/iam.serviceAccountTokenCreator', members: [`serviceAccount:${HUB_SA}`] },
    ]);
    expect((await deploy(sim, '--dry-run')).out).toEqual([]);

    // The filter changes and another account impersonates instead: one update, one add, one remove.
    edit((c) => {
      (c.logSinks as { filter: string }[])[0]!.filter = 'protoPayload.methodName:"TransportManager"';
      (c.networkProjects as { impersonators: string[] }[])[0]!.impersonators = ['scheduler'];
    });
    const changed = await deploy(sim);
    expect(changed.out.filter((l) => l.includes(`--project=${NET}`))).toEqual([
      expect.stringMatching(
        /^\+ gcloud logging sinks update transport-audit .*--project=network-east --quiet$/,
      ),
      `+ gcloud iam service-accounts add-iam-policy-binding ${NET_SA} --member=serviceAccount:scheduler@${PROJECT}.iam.gserviceaccount.com --role=roles/iam.serviceAccountTokenCreator --project=${NET} --quiet`,
      `+ gcloud iam service-accounts remove-iam-policy-binding ${NET_SA} --member=serviceAccount:${HUB_SA} --role=roles/iam.serviceAccountTokenCreator --project=${NET} --quiet`,
    ]);
    expect((await deploy(sim, '--dry-run')).out).toEqual([]);

    // Prune: a managed sink the file no longer wants goes; the platform's and hand-made ones stay.
    await net.run([
      'logging',
      'sinks',
      'create',
      'old-audit',
      `pubsub.googleapis.com/projects/${PROJECT}/topics/audit`,
      '--description=old (managed by crosslink)',
      `--project=${NET}`,
    ]);
    await net.run([
      'logging',
      'sinks',
      'create',
      'by-hand',
      `pubsub.googleapis.com/projects/${PROJECT}/topics/audit`,
      `--project=${NET}`,
    ]);
    const pruned = await deploy(sim, '--prune');
    expect(pruned.out).toEqual([`+ gcloud logging sinks delete old-audit --project=${NET} --quiet`]);
    expect([...net.sinks.keys()].sort()).toEqual(['_Default', '_Required', 'by-hand', 'transport-audit']);
  });

  it('refuses a network project the caller cannot reach, and bad entries by field', async () => {
    const sim = newSim();
    edit((c) => {
      c.networkProjects = [
        { project: NET, serviceAccount: NET_SA, impersonators: ['crosslink'], logSink: 'transport-audit' },
      ];
    });
    const r = await deploy(sim);
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toMatch(new RegExp(`gcloud projects describe ${NET}.*NOT_FOUND`));
    expect(sim.mutations()).toEqual([]); // refused before anything changed

    edit((c) => {
      c.networkProjects = [
        {
          project: NET,
          serviceAccount: 'crosslink-net@elsewhere.iam.gserviceaccount.com',
          impersonators: ['nobody'],
          logSink: 'no-sink',
        },
      ];
    });
    const bad = await deploy(sim, '--dry-run');
    expect(bad.code).toBe(2);
    expect(bad.err).toEqual(
      expect.arrayContaining([
        expect.stringContaining(`networkProjects[0].serviceAccount: must be a service account of ${NET}`),
        expect.stringContaining('networkProjects[0].impersonators[0]: names the service account nobody'),
        expect.stringContaining('networkProjects[0].logSink: names the log sink no-sink'),
      ]),
    );
    expect(sim.mutations()).toEqual([]);
  });
});

describe('scripts/deploy-gcp with the root gcp.yml (the Google half)', () => {
  const ROOT = resolve(import.meta.dirname, '../..');
  const RELAY_URL = 'https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/relay/google';
  const RELAY_ROLE = 'arn:aws:iam::210987654321:role/crosslink-relay-to-google-dev';
  /**
   * A project with what gcp.yml needs made beforehand: the activation key (CROSSLINK_KMS_KEY)
   * unless `key` is false, and the relay's pool trusting `pool.account` (the relay role's by
   * default) with the default mapping or `pool.mapping`, unless `pool` is false.
   */
  const rootSim = (
    o: { key?: boolean; pool?: false | { account?: string; mapping?: Record<string, string> } } = {},
  ) => {
    const sim = new GcloudSim({ project: PROJECT, cwd: ROOT });
    if (o.key !== false) sim.seedCryptoKey('us-east4', 'crosslink', 'activation');
    if (o.pool !== false) sim.seedPool('crosslink-aws', o.pool?.account ?? '210987654321', o.pool?.mapping);
    return sim;
  };
  // What the operator's environment gives the deploy: the AWS relay route and role, and the AWS
  // sealing key.
  const PEER_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();
  const PEER_KEY_ID = 'arn:aws:kms:us-east-1:000000000000:key/3b5f0c6e-1d2a-4e5f-8a9b-0c1d2e3f4a5b';
  const DEPLOY_ENV = {
    CROSSLINK_AWS_RELAY_URL: RELAY_URL,
    CROSSLINK_AWS_RELAY_ROLE_ARN: RELAY_ROLE,
    CROSSLINK_PEER_PUBLIC_KEY_PEM: PEER_PEM,
    CROSSLINK_PEER_KEY_ID: PEER_KEY_ID,
    CROSSLINK_INTAKE_INVOKERS: 'user:alice@example.com, group:network-approvers@example.com',
    CROSSLINK_INSTALLATION: 'prod',
  };
  const root = (sim: GcloudSim, ...flags: string[]) => rootWith(DEPLOY_ENV, sim, ...flags);
  const ENV = DEPLOY_ENV;
  const rootWith = (env: Record<string, string>, sim: GcloudSim, ...flags: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    return main(['--project', PROJECT, '--config', 'gcp.yml', '--build-dir', join(dir, 'build'), ...flags], {
      gcloud: sim,
      stdout: (l) => out.push(l),
      stderr: (l) => err.push(l),
      cwd: ROOT,
      env,
    }).then((code) => ({ code, out, err }));
  };

  it('pushes the outbound events to the AWS relay route with an OIDC token of crosslink-relay', async () => {
    const sim = rootSim();
    const dry = await root(sim, '--dry-run');
    expect(dry.code).toBe(0);
    const relay = dry.out.find((l) =>
      l.startsWith('gcloud pubsub subscriptions create crosslink-events-relay '),
    );
    expect(relay).toContain(' --topic=crosslink-events ');
    expect(relay).toContain(` --push-endpoint=${RELAY_URL} `);
    expect(relay).toContain(
      ` --push-auth-service-account=crosslink-relay@${PROJECT}.iam.gserviceaccount.com `,
    );
    expect(relay).toContain(' --push-auth-token-audience=crosslink-aws-relay');
    expect(relay).toMatch(/--dead-letter-topic=crosslink-relay-dead /);
    expect(relay).toMatch(/--max-delivery-attempts=5/);
    expect(
      dry.out.some((l) => l.startsWith('gcloud pubsub subscriptions create crosslink-relay-dead-sub ')),
    ).toBe(true);
    // The relay account is created with no project role.
    expect(dry.out.some((l) => l.startsWith('gcloud iam service-accounts create crosslink-relay '))).toBe(
      true,
    );
    expect(
      dry.out.filter((l) => l.includes('add-iam-policy-binding') && l.includes('crosslink-relay@')),
    ).toEqual([]);
  }, 60_000);

  it('names each deploy-time variable that is not set, one line each, and runs nothing (exit 2)', async () => {
    const sim = rootSim();
    const r = await rootWith({}, sim, '--dry-run');
    expect(r.code).toBe(2);
    expect(r.err).toEqual([
      'gcp.yml: functions[0].trigger.http.invokers[0]: needs the environment variable CROSSLINK_INTAKE_INVOKERS (set it where the deploy runs)',
      'gcp.yml: functions[0].environment.CROSSLINK_PEER_PUBLIC_KEY_PEM: needs the environment variable CROSSLINK_PEER_PUBLIC_KEY_PEM (set it where the deploy runs; 13 functions use it)',
      'gcp.yml: functions[0].environment.CROSSLINK_PEER_KEY_ID: needs the environment variable CROSSLINK_PEER_KEY_ID (set it where the deploy runs; 13 functions use it)',
      'gcp.yml: functions[7].environment.CROSSLINK_INSTALLATION: needs the environment variable CROSSLINK_INSTALLATION (set it where the deploy runs; 2 functions use it)',
      'gcp.yml: subscriptions[3].push.endpoint: needs the environment variable CROSSLINK_AWS_RELAY_URL (the push endpoint URL)',
      'gcp.yml: topics[1].awsPublishers[0].role: needs the environment variable CROSSLINK_AWS_RELAY_ROLE_ARN (the AWS role ARN)',
    ]);
    const keyOnly = await rootWith({ ...DEPLOY_ENV, CROSSLINK_PEER_KEY_ID: '' }, sim, '--dry-run');
    expect(keyOnly.code).toBe(2);
    expect(keyOnly.err).toEqual([
      'gcp.yml: functions[0].environment.CROSSLINK_PEER_KEY_ID: needs the environment variable CROSSLINK_PEER_KEY_ID (set it where the deploy runs; 13 functions use it)',
    ]);
    const badMember = await rootWith(
      { ...DEPLOY_ENV, CROSSLINK_INTAKE_INVOKERS: 'user:alice@example.com,carol@example.com' },
      sim,
      '--dry-run',
    );
    expect(badMember.code).toBe(2);
    expect(badMember.err).toEqual([
      'gcp.yml: functions[0].trigger.http.invokers[0]: CROSSLINK_INTAKE_INVOKERS lists "carol@example.com", which is not an IAM member (user:<email>, group:<email>, serviceAccount:<email>, domain:<domain>)',
    ]);
    // Everyone, signed in or not, is not a named member: Cloud Run would verify no caller.
    const open = await rootWith(
      { ...DEPLOY_ENV, CROSSLINK_INTAKE_INVOKERS: 'user:alice@example.com,allUsers,allAuthenticatedUsers' },
      sim,
      '--dry-run',
    );
    expect(open.code).toBe(2);
    expect(open.err).toEqual([
      'gcp.yml: functions[0].trigger.http.invokers[0]: CROSSLINK_INTAKE_INVOKERS lists "allUsers", which is not an IAM member (user:<email>, group:<email>, serviceAccount:<email>, domain:<domain>)',
      'gcp.yml: functions[0].trigger.http.invokers[0]: CROSSLINK_INTAKE_INVOKERS lists "allAuthenticatedUsers", which is not an IAM member (user:<email>, group:<email>, serviceAccount:<email>, domain:<domain>)',
    ]);
    expect(sim.calls).toEqual([]);
  });

  it("sets every function's environment from gcp.yml and the deploy's variables, the peer key included", async () => {
    const sim = rootSim();
    const applied = await root(sim);
    expect(applied.code).toBe(0);
    // A multi-line value (the PEM) goes in a YAML file: --set-env-vars is a one-line list.
    const intake = applied.out.find((l) => l.startsWith('+ gcloud functions deploy intake ')) ?? '';
    expect(intake).not.toContain('--set-env-vars');
    const file = /--env-vars-file=(\S+)/.exec(intake)?.[1] ?? '';
    expect(file).toBe(relative(ROOT, join(dir, 'build', 'env', 'intake.yaml')));
    expect(parse(readFileSync(join(ROOT, file), 'utf8'))).toMatchObject({
      CROSSLINK_PEER_PUBLIC_KEY_PEM: PEER_PEM,
    });
    for (const name of ['intake', 'steps', 'peer-events', 'starter', 'watcher', 'watcher-audit']) {
      const service = sim.functions.get(name)?.json.serviceConfig as {
        environmentVariables: Record<string, string>;
      };
      // The one variable the platform adds by itself.
      const { LOG_EXECUTION_ID, ...environment } = service.environmentVariables;
      expect(LOG_EXECUTION_ID, name).toBe('true');
      expect(environment, name).toEqual({
        CROSSLINK_EVENTS_TOPIC: 'crosslink-events',
        CROSSLINK_KMS_KEY: 'crosslink/activation',
        CROSSLINK_PROVISIONING_WORKFLOW: 'link-provisioning',
        CROSSLINK_DECOMMISSIONING_WORKFLOW: 'link-decommissioning',
        CROSSLINK_VPN_HALF_WORKFLOW: 'vpn-half',
        CROSSLINK_PEER_PUBLIC_KEY_PEM: PEER_PEM,
        CROSSLINK_PEER_KEY_ID: PEER_KEY_ID,
      });
    }
    expect((await root(sim, '--dry-run')).out).toEqual([]);
  }, 60_000);

  it('refuses allUsers on the intake and a Google-half function without a required variable (exit 2)', async () => {
    const sim = new GcloudSim({ project: PROJECT, cwd: ROOT });
    const c = parse(readFileSync(join(ROOT, 'gcp.yml'), 'utf8'));
    // A copy outside the repository: its sources named from there.
    for (const f of c.functions) f.source = relative(dir, join(ROOT, f.source));
    for (const w of c.workflows) w.source = relative(dir, join(ROOT, w.source));
    c.functions[0].trigger.http.invokers.push('allUsers');
    c.functions[1].environment = { ...c.functions[1].environment };
    delete c.functions[1].environment.CROSSLINK_KMS_KEY;
    writeFileSync(join(dir, 'google-half.yml'), stringify(c));
    // The policy beside it (what its scheduler job's `when` reads and the functions embed).
    mkdirSync(join(dir, 'config'), { recursive: true });
    copyFileSync(join(ROOT, 'config', 'policy.yaml'), join(dir, 'config', 'policy.yaml'));
    const err: string[] = [];
    const code = await main(['--project', PROJECT, '--config', 'google-half.yml', '--dry-run'], {
      gcloud: sim,
      stdout: () => {},
      stderr: (l) => err.push(l),
      cwd: dir,
      env: DEPLOY_ENV,
    });
    expect(code).toBe(2);
    expect(err).toEqual([
      'google-half.yml: functions[0].trigger.http.invokers[2]: allUsers may not invoke intake: the intake takes its caller from the ID token Cloud Run verified, and with allUsers Cloud Run verifies none',
      'google-half.yml: functions[1].environment.CROSSLINK_KMS_KEY: is required: function steps (the Google half) does not start without it',
    ]);
    expect(sim.calls).toEqual([]);
  });

  it('grants nothing project-wide that a resource can carry: publishers on topics, secrets by condition, the key', async () => {
    const sim = rootSim();
    const dry = await root(sim, '--dry-run');
    expect(dry.code).toBe(0);
    const sa = (id: string) => `serviceAccount:${id}@${PROJECT}.iam.gserviceaccount.com`;
    const projectGrants = dry.out.filter((l) =>
      l.startsWith(`gcloud projects add-iam-policy-binding ${PROJECT} `),
    );
    expect(projectGrants.length).toBeGreaterThan(0);
    for (const role of [
      'roles/secretmanager.admin',
      'roles/cloudkms.cryptoKeyDecrypter',
      'roles/pubsub.publisher',
      // Callers invoke the functions that list them, not every function (the intake included).
      'roles/run.invoker',
    ])
      expect(projectGrants.filter((l) => l.includes(`--role=${role} `))).toEqual([]);
    // No project binding carries a Secret Manager or KMS permission unconditioned, except creating.
    expect(projectGrants.filter((l) => /secretmanager|cloudkms/.test(l))).toEqual([]);
    const custom = (id: string) => `projects/${PROJECT}/roles/${id}`;
    expect(projectGrants.filter((l) => l.includes('/roles/crosslink'))).toEqual([
      `gcloud projects add-iam-policy-binding ${PROJECT} --member=${sa('crosslink-steps')} --role=${custom('crosslinkSecretCreator')} --condition=None --quiet`,
      `gcloud projects add-iam-policy-binding ${PROJECT} --member=${sa('crosslink-steps')} --role=${custom('crosslinkActivationKeys')} '--condition=expression=resource.name.startsWith("projects/123456789012/secrets/crosslink-lk-"),title=secrets crosslink-lk-*' --quiet`,
      // Compute Engine's VPN tunnels, routers and external VPN gateways take no resource-level
      // grant: the VPN half's role is on the project.
      `gcloud projects add-iam-policy-binding ${PROJECT} --member=${sa('crosslink-vpn')} --role=${custom('crosslinkVpnHalf')} --condition=None --quiet`,
      `gcloud projects add-iam-policy-binding ${PROJECT} --member=${sa('crosslink-vpn-inventory')} --role=${custom('crosslinkVpnInventory')} --condition=None --quiet`,
      `gcloud projects add-iam-policy-binding ${PROJECT} --member=${sa('crosslink-vpn-run')} --role=${custom('crosslinkVpnInventory')} --condition=None --quiet`,
      // Monitoring's time series take no resource-level grant either: the project's.
      `gcloud projects add-iam-policy-binding ${PROJECT} --member=${sa('crosslink-vpn-run')} --role=${custom('crosslinkVpnTraffic')} --condition=None --quiet`,
    ]);
    // The custom roles exist before anything binds them, with exactly their permissions.
    const roleCreate = dry.out.findIndex((l) =>
      l.startsWith('gcloud iam roles create crosslinkActivationKeys '),
    );
    expect(dry.out[roleCreate]).toContain(
      ' --permissions=secretmanager.secrets.delete,secretmanager.versions.access,secretmanager.versions.add --stage=GA ',
    );
    expect(roleCreate).toBeLessThan(
      dry.out.findIndex((l) => l.includes(`--role=${custom('crosslinkActivationKeys')}`)),
    );
    expect(dry.out.filter((l) => l.startsWith('gcloud kms keys '))).toEqual([
      `gcloud kms keys add-iam-policy-binding activation --keyring=crosslink --location=us-east4 --member=${sa('crosslink-steps')} --role=roles/cloudkms.cryptoKeyDecrypter --project=${PROJECT} --quiet`,
    ]);
    // Publishing: the four emitters on crosslink-events; only the relay's AWS role on peer events.
    const publishers = (topic: string) =>
      dry.out
        .filter((l) => l.startsWith(`gcloud pubsub topics add-iam-policy-binding ${topic} `))
        .map((l) => /--member=(\S+)/.exec(l)?.[1]);
    expect(publishers('crosslink-events')).toEqual(
      [
        'crosslink-intake',
        'crosslink-steps',
        'crosslink-events',
        'crosslink-watcher',
        'crosslink-vpn',
        'crosslink-vpn-inventory',
        'crosslink-vpn-run',
        'crosslink-dr-signals',
        'crosslink-dr-commanded',
        'crosslink-dr-control',
      ].map(sa),
    );
    expect(publishers('crosslink-peer-events')).toEqual([
      'principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/crosslink-aws/attribute.aws_role/arn:aws:sts::210987654321:assumed-role/crosslink-relay-to-google-dev',
    ]);
    // Topic grants follow the topic's creation.
    expect(
      dry.out.findIndex((l) => l.startsWith('gcloud pubsub topics create crosslink-peer-events ')),
    ).toBeLessThan(
      dry.out.findIndex((l) =>
        l.startsWith('gcloud pubsub topics add-iam-policy-binding crosslink-peer-events '),
      ),
    );

    expect((await root(sim)).code).toBe(0);
    expect(sim.topics.get('crosslink-peer-events')?.policy).toEqual([
      {
        role: 'roles/pubsub.publisher',
        members: [expect.stringMatching(/^principalSet:\/\/.*crosslink-relay-to-google-dev$/)],
      },
    ]);
    expect(sim.cryptoKeys.get('us-east4/crosslink/activation')?.policy).toEqual([
      { role: 'roles/cloudkms.cryptoKeyDecrypter', members: [sa('crosslink-steps')] },
    ]);
    expect(sim.customRoles.get('crosslinkSecretCreator')?.includedPermissions).toEqual([
      'secretmanager.secrets.create',
    ]);
    const again = await root(sim);
    expect(again.out).toEqual([]);
    expect(again.err).toEqual([`nothing to do: project ${PROJECT} matches gcp.yml`]);
  }, 60_000);

  it('takes back the project-wide grants of an earlier deploy, and nothing else', async () => {
    const sim = rootSim();
    expect((await root(sim)).code).toBe(0);
    const sa = (id: string) => `serviceAccount:${id}@${PROJECT}.iam.gserviceaccount.com`;
    // What the project-wide gcp.yml granted, plus a person's own publisher grant on peer events.
    const grant = (member: string, role: string) =>
      sim.run([
        'projects',
        'add-iam-policy-binding',
        PROJECT,
        `--member=${member}`,
        `--role=${role}`,
        '--condition=None',
      ]);
    await grant(sa('crosslink-steps'), 'roles/secretmanager.admin');
    await grant(sa('crosslink-steps'), 'roles/cloudkms.cryptoKeyDecrypter');
    await grant(sa('crosslink-intake'), 'roles/pubsub.publisher');
    const topicGrant = (member: string) =>
      sim.run([
        'pubsub',
        'topics',
        'add-iam-policy-binding',
        'crosslink-peer-events',
        `--member=${member}`,
        '--role=roles/pubsub.publisher',
        `--project=${PROJECT}`,
      ]);
    await topicGrant(sa('crosslink-events'));
    await topicGrant('user:oncall@example.com');
    const r = await root(sim);
    expect(r.code).toBe(0);
    expect(r.out).toEqual([
      `+ gcloud projects remove-iam-policy-binding ${PROJECT} --member=${sa('crosslink-intake')} --role=roles/pubsub.publisher --condition=None --quiet`,
      `+ gcloud projects remove-iam-policy-binding ${PROJECT} --member=${sa('crosslink-steps')} --role=roles/cloudkms.cryptoKeyDecrypter --condition=None --quiet`,
      `+ gcloud projects remove-iam-policy-binding ${PROJECT} --member=${sa('crosslink-steps')} --role=roles/secretmanager.admin --condition=None --quiet`,
      `+ gcloud pubsub topics remove-iam-policy-binding crosslink-peer-events --member=${sa('crosslink-events')} --role=roles/pubsub.publisher --project=${PROJECT} --quiet`,
    ]);
    // A member that is not the file's (a person) is left to whoever granted it.
    expect(sim.topics.get('crosslink-peer-events')?.policy[0]?.members).toContain('user:oncall@example.com');
  }, 60_000);

  it('stops before any change when the key or the pool is missing or does not trust the role, or the role is not given', async () => {
    // The root gcp.yml without its bootstrap section: the key and the pool are then others' to make.
    const c0 = parse(readFileSync(join(ROOT, 'gcp.yml'), 'utf8'));
    delete c0.bootstrap;
    for (const f of c0.functions) f.source = relative(dir, join(ROOT, f.source));
    for (const w of c0.workflows) w.source = relative(dir, join(ROOT, w.source));
    writeFileSync(join(dir, 'gcp.yml'), stringify(c0));
    cpSync(join(ROOT, 'config'), join(dir, 'config'), { recursive: true });
    const root = (sim: GcloudSim, ...flags: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      return main(
        ['--project', PROJECT, '--config', 'gcp.yml', '--build-dir', join(dir, 'build'), ...flags],
        {
          gcloud: sim,
          stdout: (l) => out.push(l),
          stderr: (l) => err.push(l),
          cwd: dir,
          env: DEPLOY_ENV,
        },
      ).then((code) => ({ code, out, err }));
    };
    const noKey = rootSim({ key: false });
    const a = await root(noKey);
    expect(a.code).toBe(1);
    expect(a.err).toEqual([
      'error: serviceAccounts[1].grants[1].cryptoKey: the Cloud KMS key projects/crosslink-test/locations/us-east4/keyRings/crosslink/cryptoKeys/activation does not exist (create it first, or give gcp.yml a bootstrap section, which creates it: docs/deploy-gcp.md "Bootstrap")',
    ]);
    expect(noKey.mutations()).toEqual([]);

    const noPool = rootSim({ pool: false });
    const b = await root(noPool, '--dry-run');
    expect(b.code).toBe(1);
    expect(b.err.join('\n')).toMatch(
      /^error: topics\[1\]\.awsPublishers\[0\]\.pool: the workload identity pool crosslink-aws does not exist in crosslink-test/,
    );

    // A pool that trusts another AWS account, or does not map attribute.aws_role: the principal
    // set would match nobody.
    const otherAccount = rootSim({ pool: { account: '111111111111' } });
    const c = await root(otherAccount);
    expect(c.code).toBe(1);
    expect(c.err).toEqual([
      'error: topics[1].awsPublishers[0].role: no enabled AWS provider of the pool crosslink-aws trusts the AWS account 210987654321',
    ]);
    expect(otherAccount.mutations()).toEqual([]);
    const noRoleAttribute = rootSim({ pool: { mapping: { 'google.subject': 'assertion.arn' } } });
    expect((await root(noRoleAttribute, '--dry-run')).err).toEqual([
      'error: topics[1].awsPublishers[0].role: the AWS provider of the pool crosslink-aws for 210987654321 does not map attribute.aws_role (the AWS default mapping does)',
    ]);

    const unset = await rootWith({ ...ENV, CROSSLINK_AWS_RELAY_ROLE_ARN: '' }, rootSim(), '--dry-run');
    expect(unset.code).toBe(2);
    expect(unset.err).toEqual([
      'gcp.yml: topics[1].awsPublishers[0].role: needs the environment variable CROSSLINK_AWS_RELAY_ROLE_ARN (the AWS role ARN)',
    ]);
    const sim = rootSim();
    const bad = await rootWith(
      { ...ENV, CROSSLINK_AWS_RELAY_ROLE_ARN: 'crosslink-relay-to-google-dev' },
      sim,
      '--dry-run',
    );
    expect(bad.code).toBe(2);
    expect(bad.err[0]).toMatch(
      /topics\[1\]\.awsPublishers\[0\]\.role: CROSSLINK_AWS_RELAY_ROLE_ARN must be an AWS IAM role ARN/,
    );
    expect(sim.calls).toEqual([]);
  }, 60_000);

  it("deploys the DR controls beside the probe as their own account, invoked by the deployer's operators only", async () => {
    // Act
    const without = await root(rootSim(), '--dry-run');
    const withOperators = await rootWith(
      { ...DEPLOY_ENV, CROSSLINK_DR_OPERATORS: 'user:carol@example.com,group:dr-operators@example.com' },
      rootSim(),
      '--dry-run',
    );
    // Assess
    expect(without.code).toBe(0);
    expect(withOperators.code).toBe(0);
    const deploy = withOperators.out.find((l) => l.startsWith('gcloud functions deploy dr-control ')) ?? '';
    expect(deploy).toMatch(
      / --region=us-west1 .*--entry-point=drControl .*--service-account=crosslink-dr-control@/,
    );
    expect(withOperators.out.filter((l) => /invoker-policy-binding dr-control /.test(l))).toEqual([
      expect.stringMatching(/--region=us-west1 --member=group:dr-operators@example\.com/),
      expect.stringMatching(/--region=us-west1 --member=user:carol@example\.com/),
    ]);
    // Without operators the function is deployed and nobody may call it.
    expect(without.out.some((l) => l.startsWith('gcloud functions deploy dr-control '))).toBe(true);
    expect(without.out.filter((l) => /invoker-policy-binding dr-control /.test(l))).toEqual([]);
  }, 60_000);

  it("deploys the DR probe in the Google vantage point's region, its schedule only with a plan, and an absence alert", async () => {
    // Prepare
    const plan = JSON.stringify(exampleDoc());
    // Act
    const without = await root(rootSim(), '--dry-run');
    const withPlan = await rootWith(
      { ...DEPLOY_ENV, CROSSLINK_DR_PLAN: plan, CROSSLINK_DR_CONTROL_URL: 'https://control.example/up' },
      rootSim(),
      '--dry-run',
    );
    // Assess
    expect(without.code).toBe(0);
    expect(withPlan.code).toBe(0);
    const deploy = withPlan.out.find((l) => l.startsWith('gcloud functions deploy dr-signals ')) ?? '';
    expect(deploy).toMatch(
      / --region=us-west1 .*--entry-point=drSignals .*--service-account=crosslink-dr-signals@/,
    );
    expect(withPlan.out.filter((l) => /invoker-policy-binding dr-signals /.test(l))).toEqual([
      expect.stringMatching(/--region=us-west1 --member=serviceAccount:crosslink-dr-scheduler@/),
      expect.stringMatching(/--region=us-west1 --member=serviceAccount:crosslink-pusher@/),
      // The dr-failover workflow's executor steps (a Cloud-DNS-switched plan).
      expect.stringMatching(/--region=us-west1 --member=serviceAccount:crosslink-workflows@/),
    ]);
    const env = parse(
      readFileSync(join(ROOT, relative(ROOT, join(dir, 'build', 'env', 'dr-signals.yaml'))), 'utf8'),
    );
    expect(env).toMatchObject({
      CROSSLINK_DR_PLAN: plan,
      CROSSLINK_DR_CONTROL_URL: 'https://control.example/up',
    });
    expect(env).not.toHaveProperty('CROSSLINK_DR_REPLICATION_LINK');
    // The schedule targets the function's us-west1 URL, with an OIDC token for it; none without a plan.
    const job =
      withPlan.out.find((l) => l.startsWith('gcloud scheduler jobs create http crosslink-dr-probe ')) ?? '';
    expect(job).toContain(`--uri=https://us-west1-${PROJECT}.cloudfunctions.net/dr-signals`);
    expect(job).toMatch(/--oidc-service-account-email=crosslink-dr-scheduler@/);
    expect(without.out.some((l) => l.includes('crosslink-dr-probe '))).toBe(false);
    expect(without.out.some((l) => l.startsWith('gcloud functions deploy dr-signals '))).toBe(true);
    // Its pushes go to the same URL.
    for (const sub of ['crosslink-dr-signals-peer-push', 'crosslink-dr-signals-push'])
      expect(withPlan.out.find((l) => l.startsWith(`gcloud pubsub subscriptions create ${sub} `))).toContain(
        `--push-endpoint=https://us-west1-${PROJECT}.cloudfunctions.net/dr-signals`,
      );
    const alert = withPlan.out.find((l) => l.includes('crosslink DR probe on Google silent')) ?? '';
    const policy = JSON.parse(/--policy=(\{.*\})/.exec(alert)?.[1] ?? 'null');
    expect(policy.conditions).toEqual([
      {
        displayName: 'no data for 300s',
        conditionAbsent: {
          filter: expect.stringContaining('logging.googleapis.com/user/crosslink_dr_signals_recorded'),
          duration: '300s',
          aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_SUM' }],
        },
      },
    ]);
  }, 60_000);

  it("refuses Google's DR executor in the region a Cloud-DNS-switched plan fails over away from, naming it and the plan, and runs nothing (exit 2)", async () => {
    // Prepare: the ledger plan, executed by Google, its primary in europe-west1
    const env = { ...DEPLOY_ENV, CROSSLINK_DR_PLAN: JSON.stringify(ledgerDoc()) };
    const sim = rootSim();
    // Act
    const there = await rootWith(env, sim, '--region', 'europe-west1');
    const elsewhere = await rootWith(env, rootSim(), '--dry-run');
    // Assess
    expect(there.code).toBe(2);
    expect(there.err).toEqual([
      expect.stringMatching(
        /^gcp\.yml: region: workflow dr-failover would be deployed in europe-west1: ledger's executor runs on gcp \(it owns the plan's traffic switch\) and must not run in europe-west1, the primary's region: a failover moves traffic away from it/,
      ),
    ]);
    expect(there.out).toEqual([]);
    expect(sim.mutations()).toEqual([]);
    expect(elsewhere.code).toBe(0);
  }, 60_000);

  it('creates the log metrics before the alert policies that read them, then has nothing to do', async () => {
    const sim = rootSim();
    const dry = await root(sim, '--dry-run');
    expect(dry.code).toBe(0);
    const metricLines = dry.out.filter((l) => l.startsWith('gcloud logging metrics create '));
    expect(metricLines.map((l) => l.split(' ')[4])).toEqual([
      'crosslink_approval_pending_seconds',
      'crosslink_approval_escalations',
      'crosslink_orphaned_halves',
      'crosslink_dr_signals_recorded',
    ]);
    const alertLines = dry.out.filter((l) => l.startsWith('gcloud alpha monitoring policies create '));
    expect(alertLines).toHaveLength(7);
    const lastMetric = dry.out.lastIndexOf(metricLines.at(-1) as string);
    expect(dry.out.indexOf(alertLines[0] as string)).toBeGreaterThan(lastMetric);
    expect(alertLines.join('\n')).toMatch(/"displayName":"crosslink approvals waiting more than 48 h"/);

    const applied = await root(sim);
    expect(applied.code).toBe(0);
    expect(sim.logMetrics.get('crosslink_approval_pending_seconds')).toMatchObject({
      valueExtractor: 'EXTRACT(jsonPayload.approvalPendingSeconds)',
      labelExtractors: { stage: 'EXTRACT(jsonPayload.approvalStage)' },
      metricDescriptor: { metricKind: 'DELTA', valueType: 'DISTRIBUTION', unit: 's' },
    });
    const waiting = [...sim.alerts.values()].find(
      (a) => (a.userLabels as Record<string, string>)['crosslink-name'] === 'crosslink-approvals-waiting',
    );
    expect(waiting?.conditions).toMatchObject([
      {
        conditionThreshold: {
          thresholdValue: 172800,
          comparison: 'COMPARISON_GT',
          aggregations: [{ alignmentPeriod: '3600s', perSeriesAligner: 'ALIGN_PERCENTILE_99' }],
        },
      },
    ]);
    const again = await root(sim, '--dry-run');
    expect(again.out).toEqual([]);
    expect(again.err).toEqual([`nothing to do: project ${PROJECT} matches gcp.yml`]);
  }, 60_000);
});

describe('scripts/deploy-gcp refuses bad input', () => {
  it('names the bad field of gcp.yml and runs nothing (exit 2)', async () => {
    const sim = newSim();
    edit((c) => {
      (c.subscriptions as { deadLetter?: { maxDeliveryAttempts: number } }[])[0]!
        .deadLetter!.maxDeliveryAttempts = 3;
      (c.serviceAccounts as { roles: string[] }[])[0]!.roles.push('roles/owner');
      (c.schedulerJobs as { http?: { function: string } }[])[1]!.http!.function = 'nope';
    });
    const r = await deploy(sim, '--dry-run');
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toMatch(/subscriptions\[0\]\.deadLetter\.maxDeliveryAttempts/);
    expect(r.err.join('\n')).toMatch(/serviceAccounts\[0\]\.roles\[1\]: .*roles\/owner/);
    expect(sim.calls).toEqual([]);
  });

  it('asks for a project, a region and an existing config', async () => {
    const sim = newSim();
    const noProject = await main(['--config', 'gcp/gcp.yml'], {
      gcloud: sim,
      stdout: () => {},
      stderr: () => {},
      cwd: dir,
      env: {},
    });
    expect(noProject).toBe(2);
    const err: string[] = [];
    edit((c) => {
      delete c.region;
    });
    const noRegion = await deploy(sim, '--dry-run');
    err.push(...noRegion.err);
    expect(noRegion.code).toBe(2);
    expect(err).toEqual([expect.stringMatching(/^gcp\/gcp\.yml: region: is required/)]);
    const missing = await main(['--project', PROJECT, '--config', 'nope.yml'], {
      gcloud: sim,
      stdout: () => {},
      stderr: (l) => err.push(l),
      cwd: dir,
      env: {},
    });
    expect(missing).toBe(2);
    expect(err.at(-1)).toBe('--config: nope.yml does not exist');
  });

  it('a failing gcloud command stops the run with that command (exit 1), and a rerun continues', async () => {
    const sim = newSim();
    // The build of one function fails once (as a Cloud Build error would).
    const realRun = sim.run.bind(sim);
    let failOnce = true;
    sim.run = async (args) => {
      if (failOnce && args[0] === 'functions' && args[1] === 'deploy' && args[2] === 'orders') {
        failOnce = false;
        return {
          code: 1,
          stdout: '',
          stderr: 'ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Build failed\n',
        };
      }
      return realRun(args);
    };
    const first = await deploy(sim);
    expect(first.code).toBe(1);
    expect(first.err.at(-1)).toMatch(
      /^gcloud functions deploy orders .* failed: ERROR: \(gcloud\.functions\.deploy\) OperationError/,
    );
    expect(sim.functions.has('whoami')).toBe(true);
    expect(sim.functions.has('orders')).toBe(false);
    const second = await deploy(sim);
    expect(second.code).toBe(0);
    expect(second.out[0]).toMatch(/^\+ gcloud functions deploy orders /);
    expect((await deploy(sim, '--dry-run')).out).toEqual([]);
  });
});

describe('the scripts/deploy-gcp entry', () => {
  it('runs as an executable and reports usage errors with exit 2', () => {
    const bin = resolve(import.meta.dirname, '../../scripts/deploy-gcp');
    const r = spawnSync(bin, ['--config', join(dir, 'gcp/gcp.yml')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(r.stderr).toMatch(/--project: required/);
    expect(r.status).toBe(2);
  });
});

describe('function packages', () => {
  it('hash the same wherever the script runs, and change with the code', async () => {
    const config = loadGcpConfig(join(dir, 'gcp', 'gcp.yml'));
    const whoami = config.functions[0]!;
    const here = await packageFunction(config.root, whoami);
    const original = await packageFunction(FIXTURE, whoami);
    expect(here.hash).toBe(original.hash);
    expect(here.files['index.js']).toMatch(/ff\.http\("whoami"/);
    // npm packages stay imports, listed at the installed version for the buildpack's npm install.
    expect(here.files['index.js']).toMatch(/from "@google-cloud\/functions-framework"/);
    const installed = (name: string) =>
      JSON.parse(
        readFileSync(resolve(import.meta.dirname, '../../node_modules', name, 'package.json'), 'utf8'),
      ).version;
    const framework = installed('@google-cloud/functions-framework');
    expect(JSON.parse(here.files['package.json'])).toEqual({
      name: 'crosslink-whoami',
      private: true,
      type: 'module',
      main: 'index.js',
      engines: { node: '24' },
      dependencies: {
        '@google-cloud/functions-framework': framework,
        'google-auth-library': installed('google-auth-library'),
      },
    });
    const source = join(dir, 'gcp', whoami.source);
    writeFileSync(
      source,
      readFileSync(source, 'utf8').replace("'hello'", "'hi'").replace('greeting:', 'greeting2:'),
    );
    expect((await packageFunction(config.root, whoami)).hash).not.toBe(here.hash);
  });
});
