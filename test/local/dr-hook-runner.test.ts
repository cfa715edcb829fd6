/**
 * The hook runner of Google's commanded side (functions/gcp/dr-hook-runner.ts) against hook
 * functions deployed on the local cloud in the plan's Google region (us-central1), and the fence's in
 * the commanded function's own (us-west1), whose edge checks
 * the ID token and the invokers as Cloud Run does. The runner signs as crosslink-dr-commanded (the
 * local cloud's ID token for that account, as its metadata server gives the deployed function):
 *
 * - a hook calling the world's `service-promote` runs it: the standby's database is the writer, the
 *   result's detail says what was lost;
 * - the failback's fence of Google's database is called in us-west1 (outside us-central1, so that it
 *   runs during that region's outage): AlloyDB is fenced;
 * - a hook answering 500 is a failure naming the status and the body;
 * - a hook that answers after the action's timeout is a failure (`HookTimedOut`);
 * - a hook whose invokers do not name the commanded side's account refuses the call (403), a failure
 *   saying so; one called with no valid token (another audience) refuses it (401).
 */
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionCommand } from '#core/dr/executor.ts';
import type { Action, DrPlan } from '#core/dr/plan.ts';
import { serviceAccountEmail } from '#deployment/gcp-config.ts';
import { httpHookRunner } from '#gcp/dr-hook-runner.ts';
import type { LocalCloud } from '#local/index.ts';
import { createPaymentsAtArcAddresses } from '../support/dr-world.ts';
import { admin, startTestCloud } from '../support/local-cloud.ts';
import { planWith } from '../unit/dr/helpers.ts';

const COMMANDED = 'crosslink-dr-commanded';
/** Where the commanded function runs (gcp.yml's dr-commanded): outside the plan's region on Google. */
const RUNNER_REGION = 'us-west1';

/** One hook function in `region` (us-central1: the payments plan's Google region), invoked by `invoker`. */
const hook = (
  name: string,
  entryPoint: string,
  environment: string,
  invoker = COMMANDED,
  region = 'us-central1',
) => `
  - name: ${name}
    source: functions/dr-hooks.ts
    entryPoint: ${entryPoint}
    region: ${region}
    runtime: nodejs24
    serviceAccount: payments-hooks
    environment: ${environment}
    trigger: { http: { invokers: [serviceAccount:${invoker}] } }`;

/** The hooks, the world's admin at `adminUrl`. */
const gcpYml = (adminUrl: string) => `version: 1
region: us-east4
serviceAccounts:
  - { id: ${COMMANDED}, displayName: the commanded side, roles: [] }
  - { id: payments-hooks, displayName: the hooks, roles: [] }
  - { id: someone-else, displayName: another caller, roles: [] }
functions:${[
  hook(
    'payments-promote-alloydb',
    'worldAction',
    `{ CROSSLINK_WORLD_ACTION: service-promote, CROSSLINK_WORLD_ADMIN: "${adminUrl}" }`,
  ),
  hook(
    'payments-fence-alloydb',
    'worldAction',
    `{ CROSSLINK_WORLD_ACTION: service-fence, CROSSLINK_WORLD_ADMIN: "${adminUrl}" }`,
    COMMANDED,
    RUNNER_REGION,
  ),
  hook('payments-failing', 'failing', '{}'),
  hook('payments-slow', 'slow', '{ HOOK_HOLD_MS: "4000" }'),
  hook('payments-not-ours', 'failing', '{}', 'someone-else'),
].join('')}
`;

let dir: string;
let cloud: LocalCloud;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'crosslink-dr-hooks-'));
  await mkdir(join(dir, 'functions'));
  await cp(
    join('test', 'fixtures', 'gcp', 'functions', 'dr-hooks.ts'),
    join(dir, 'functions', 'dr-hooks.ts'),
  );
  await symlink(join(process.cwd(), 'node_modules'), join(dir, 'node_modules'), 'dir');
  await writeFile(join(dir, 'gcp.yml'), 'version: 1\nregion: us-east4\n');
  cloud = await startTestCloud({ gcpConfig: join(dir, 'gcp.yml') });
  await writeFile(join(dir, 'gcp.yml'), gcpYml(cloud.admin));
  await cloud.plumbing?.reload();
  await createPaymentsAtArcAddresses(cloud, { rpo: '1m' });
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

/** The payments plan with its promotion's hook named `hook` and timing out after `timeout`. */
const planCalling = (hook: string, timeout = '1m'): DrPlan =>
  planWith((d) => {
    const promote = d.actions.failover[1] as { hook: { function: string; timeout?: string } };
    promote.hook = { function: hook, timeout };
  });

/** The runner as the deployed function builds it: ID tokens of crosslink-dr-commanded. */
function runnerFor(
  plan: DrPlan,
  audience?: string,
  maxWaitMs?: number,
  at: { decision: 'failover' | 'failback'; index: number } = { decision: 'failover', index: 1 },
) {
  const email = serviceAccountEmail(COMMANDED, cloud.gcp.project);
  const run = httpHookRunner({
    plan,
    project: cloud.gcp.project,
    region: RUNNER_REGION,
    clock: cloud.clock,
    endpoint: cloud.gcp.endpoint,
    idToken: async (aud) => cloud.gcp.auth.mintIdToken({ email, audience: audience ?? aud }),
    ...(maxWaitMs !== undefined && { maxWaitMs }),
  });
  const action = plan.actions[at.decision][at.index] as Action;
  const command: ActionCommand = {
    service: plan.service,
    decision: at.decision,
    epoch: 7,
    index: at.index,
    action,
    deadline: new Date(cloud.clock.now() + 10 * 60_000).toISOString(),
  };
  return () => run(action, command);
}

describe("the commanded side's hook runner", () => {
  it("calls the hook with an ID token of the commanded side's account: the world's standby promoted", async () => {
    // Prepare
    const before = await admin(cloud, 'POST', '/world/service', { name: 'payments-api' });

    // Act
    const ran = await runnerFor(planCalling('payments-promote-alloydb'))();

    // Assess
    const after = await admin(cloud, 'POST', '/world/service', { name: 'payments-api' });
    expect(ran.detail).toMatch(/^promoted: lost \d+ writes over \d+ ms$/);
    expect(before.database.gcp.role).toBe('replica');
    expect(after.database.gcp.role).toBe('writer');
  }, 60_000);

  it("calls the failback's fence in the commanded function's region, outside Google's side: AlloyDB fenced", async () => {
    // Prepare: AlloyDB is the writer (the promotion above). The fence's hook is deployed in us-west1
    // alone: a call to the plan's region (us-central1) would find no such function.
    const plan = planWith();

    // Act
    const ran = await runnerFor(plan, undefined, undefined, { decision: 'failback', index: 0 })();

    // Assess
    const after = await admin(cloud, 'POST', '/world/service', { name: 'payments-api' });
    expect(plan.actions.failback[0]).toMatchObject({ type: 'fence-writer', cloud: 'gcp' });
    expect(ran.detail).toBe('fenced: gcp writer, its writes revoked');
    expect(after.database.gcp).toMatchObject({ role: 'writer', fenced: true });
  }, 60_000);

  it('fails on an error status, naming it and the body', async () => {
    // Act / Assess
    await expect(runnerFor(planCalling('payments-failing'))()).rejects.toMatchObject({
      name: 'HookFailed',
      message: 'payments-failing answered 500: the replica is not caught up',
    });
  }, 60_000);

  it("fails when the hook gives no answer within the action's timeout", async () => {
    // Act / Assess
    await expect(runnerFor(planCalling('payments-slow', '1s'))()).rejects.toMatchObject({
      name: 'HookTimedOut',
      message: 'payments-slow gave no answer within 1s',
    });
  }, 60_000);

  it("fails within the function's own time limit when the action's timeout is longer", async () => {
    // Act / Assess: a 10-minute hook timeout, a process that may wait 1 s (its function's limit, scaled)
    await expect(runnerFor(planCalling('payments-slow', '10m'), undefined, 1_000)()).rejects.toMatchObject({
      name: 'HookTimedOut',
      message: 'payments-slow gave no answer within 1s',
    });
  }, 60_000);

  it("is refused by a hook whose invokers do not name the commanded side's account", async () => {
    // Act / Assess
    await expect(runnerFor(planCalling('payments-not-ours'))()).rejects.toMatchObject({
      name: 'HookFailed',
      message: expect.stringMatching(
        /^payments-not-ours answered 403 \(the caller is not among its invokers\): .*crosslink-dr-commanded@.* is not an invoker/,
      ),
    });
  }, 60_000);

  it('is refused with a token for another audience (401)', async () => {
    // Act / Assess
    await expect(
      runnerFor(planCalling('payments-promote-alloydb'), 'https://example.com/elsewhere')(),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/^payments-promote-alloydb answered 401 \(its ID token was refused/),
    });
  }, 60_000);
});
