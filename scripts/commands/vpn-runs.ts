/**
 * The VPN runs from the command line (docs/vpn-runs.md, "The run"), on the coordinating side:
 *
 * - `crosslink vpn runs ls`: the runs, newest first, with their modes, actions and saving;
 * - `crosslink vpn runs show <runId>`: one run's VPNs (the planner's verdict, the mode, whether it
 *   was commanded), the halves' results and the saving;
 * - `crosslink vpn run --now [--apply]`: starts a run now; without `--apply` it only plans and
 *   records, with it the policy's `vpn.mode` decides per environment, and it is refused when no
 *   environment's mode is apply.
 *
 * They work on the side the policy's `vpn.coordinator` names. With AWS: they read the run records
 * in the links table and start the `crosslink-vpn-run-<stage>` state machine as the caller (`--as`
 * on the local cloud, the default credentials with `--target cloud`). With Google: they read the
 * records in Firestore (`vpnRuns`, functions/gcp/vpn-run-store.ts) and start the `vpn-run` workflow
 * through the Executions API as the caller (the `--as` identity's key on the local cloud, whose
 * Firestore emulator they read directly; Application Default Credentials with `--target cloud`).
 */

import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Firestore } from '@google-cloud/firestore';
import { DynamoDbVpnRuns } from '#aws/vpn-run-store.ts';
import { NotFoundError, PolicyRefusedError } from '#core/errors.ts';
import type { RunEntry, RunSaving } from '#core/vpn/run.ts';
import { vpnRunId } from '#core/vpn/run.ts';
import { applyAllowed, readVpnRunSettings } from '#core/vpn/run-policy.ts';
import type { VpnRunHeader, VpnRunStore } from '#core/vpn/run-steps.ts';
import type { Command, CommandContext } from '../cli/command.ts';
import { EXIT, UsageError } from '../cli/errors.ts';
import { identity } from '../cli/identities.ts';
import { policyPath, readPolicy } from '../cli/policy.ts';
import { table } from '../cli/table.ts';

export interface AwsSide {
  config: {
    region: string;
    endpoint?: string;
    credentials?: { accessKeyId: string; secretAccessKey: string };
  };
  stage: string;
  accountId?: string;
  /** The local cloud's clock, or the machine's. */
  now(): Promise<number>;
  /** The principal a manual run is requested by. */
  principal: string;
}

export async function awsSide(ctx: CommandContext): Promise<AwsSide> {
  const stage = (ctx.options.stage as string | undefined) ?? 'dev';
  const target = await ctx.resolveTarget();
  if (target.kind === 'cloud') {
    const region = ctx.options.region as string | undefined;
    if (!region) throw new UsageError('--region is required with --target cloud (the coordinator’s region)');
    const { GetCallerIdentityCommand, STSClient } = await import('@aws-sdk/client-sts');
    const sts = new STSClient({ region });
    try {
      const me = await sts.send(new GetCallerIdentityCommand({}));
      return {
        config: { region },
        stage,
        ...(me.Account ? { accountId: me.Account } : {}),
        now: async () => Date.now(),
        principal: me.Arn ?? 'unknown',
      };
    } finally {
      sts.destroy();
    }
  }
  const aws = target.local.aws;
  if (!aws) throw new UsageError('the local cloud runs without its AWS edge');
  const who = await identity(ctx.home, ctx.global.as ?? 'admin');
  if (!who.aws) throw new UsageError(`--as ${who.name}: this identity has no AWS keys`);
  const admin = target.local.admin;
  return {
    config: {
      region: aws.region,
      endpoint: aws.endpoint,
      credentials: { accessKeyId: who.aws.accessKeyId, secretAccessKey: who.aws.secretAccessKey },
    },
    stage,
    accountId: aws.accountId,
    principal: who.aws.principalArn,
    async now() {
      if (!admin) return Date.now();
      const res = await fetch(`${admin}/clock`);
      return Date.parse(((await res.json()) as { now: string }).now);
    },
  };
}

/** Google as the coordinator: its project, the caller's tokens, Firestore. */
interface GcpSide {
  project: string;
  region: string;
  /** The Executions API's base URL (the local edge, or workflowexecutions.googleapis.com). */
  executionsUrl: string;
  accessToken(): Promise<string>;
  firestore(): Firestore;
  now(): Promise<number>;
  /** The caller's email: a manual run's requester. */
  principal: string;
}

async function gcpSide(ctx: CommandContext): Promise<GcpSide> {
  const target = await ctx.resolveTarget();
  // Loaded here, not with the command: the Google clients are costly to load and AWS runs need none.
  const { Firestore } = await import('@google-cloud/firestore');
  if (target.kind === 'cloud') {
    const project = ctx.options.project as string | undefined;
    const region = ctx.options.region as string | undefined;
    if (!project || !region)
      throw new UsageError('--project and --region are required with --target cloud (the coordinator’s)');
    const { GoogleAuth } = await import('google-auth-library');
    const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
    const creds = await auth.getCredentials().catch(() => ({ client_email: undefined }));
    return {
      project,
      region,
      executionsUrl: 'https://workflowexecutions.googleapis.com',
      accessToken: async () => (await auth.getAccessToken()) ?? '',
      firestore: () => new Firestore({ projectId: project }),
      now: async () => Date.now(),
      principal: creds.client_email ?? 'unknown',
    };
  }
  const gcp = target.local.gcp;
  const emulator = target.local.firestoreEmulatorHost;
  if (!gcp || !emulator)
    throw new UsageError('the local cloud runs without its Google edge and Firestore emulator');
  const who = await identity(ctx.home, ctx.global.as ?? 'admin');
  const { jwtClient, readKeyFile } = await import('#gcp/google-credentials.ts');
  let key: Awaited<ReturnType<typeof readKeyFile>>;
  try {
    key = await readKeyFile(join(target.home, '.crosslink', 'keys', `${who.name}.json`));
  } catch (e) {
    throw new UsageError(`--as ${who.name}: no Google key file (${(e as Error).message.split('\n')[0]})`);
  }
  const jwt = jwtClient(key);
  const admin = target.local.admin;
  return {
    project: gcp.project,
    region: gcp.region,
    executionsUrl: gcp.endpoint,
    accessToken: async () => (await jwt.getAccessToken()).token ?? '',
    firestore: () => new Firestore({ projectId: gcp.project, host: emulator, ssl: false }),
    principal: key.client_email,
    async now() {
      if (!admin) return Date.now();
      const res = await fetch(`${admin}/clock`);
      return Date.parse(((await res.json()) as { now: string }).now);
    },
  };
}

/** The runs' records on the coordinating side. */
async function runsStore(ctx: CommandContext): Promise<{ store: VpnRunStore; close(): Promise<void> }> {
  const settings = readVpnRunSettings((await ctxPolicy(ctx)).document.vpn);
  if (settings.coordinator === 'gcp') {
    const db = (await gcpSide(ctx)).firestore();
    const { FirestoreVpnRuns } = await import('#gcp/vpn-run-store.ts');
    return { store: new FirestoreVpnRuns(db), close: () => db.terminate() };
  }
  const side = await awsSide(ctx);
  const client = new DynamoDBClient(side.config);
  return {
    store: new DynamoDbVpnRuns(client, `crosslink-links-${side.stage}`),
    close: async () => client.destroy(),
  };
}

const ctxPolicy = (ctx: CommandContext) =>
  readPolicy(policyPath(ctx.home, ctx.options.policy as string | undefined, process.env));

/** `$36.50` per side, `unknown` where a price is not known. */
export function savingText(saving: RunSaving, key: 'monthly' | 'pendingMonthly' | 'dryRunMonthly'): string {
  const money = (n: number | null) =>
    n === null
      ? 'unknown'
      : saving.currency === 'USD'
        ? `$${n.toFixed(2)}`
        : `${n.toFixed(2)} ${saving.currency}`;
  const s = saving[key];
  return `aws ${money(s.aws)}, gcp ${money(s.gcp)}`;
}

function summaryRow(h: VpnRunHeader): string[] {
  const r = h.run;
  const t = r?.totals;
  return [
    h.runId,
    h.trigger,
    h.status,
    r ? `prod ${r.modes.prod}, nonprod ${r.modes.nonprod}` : h.undrain || h.traffic ? 'apply (undrain)' : '-',
    t
      ? `keep ${t.keep}, drain ${t.drain}, undrain ${t.undrain}, delete ${t.delete}`
      : h.undrain
        ? `undrain ${h.undrain.vpns.length} (${h.undrain.linkId} ${h.undrain.to})`
        : h.traffic
          ? `undrain ${h.traffic.vpns.length} (traffic returned)`
          : '-',
    String(t?.emitted ?? h.undrain?.vpns.length ?? h.traffic?.vpns.length ?? 0),
    r ? savingText(r.saving, 'monthly') : '-',
  ];
}

async function runsLs(ctx: CommandContext): Promise<number> {
  const { store, close } = await runsStore(ctx);
  try {
    const limit = Number((ctx.options.limit as string | undefined) ?? '20');
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a whole number >= 1');
    const { items } = await store.list(limit);
    if (ctx.global.json) ctx.io.out(JSON.stringify(items, null, 2));
    else if (items.length === 0) ctx.io.out('no VPN runs yet');
    else
      for (const line of table(
        ['RUN', 'TRIGGER', 'STATUS', 'MODES', 'PLANNED', 'EMITTED', 'SAVED/MONTH'],
        items.map(summaryRow),
      ))
        ctx.io.out(line);
    return EXIT.ok;
  } finally {
    await close();
  }
}

async function runsShow(ctx: CommandContext, runId: string): Promise<number> {
  const { store, close } = await runsStore(ctx);
  try {
    const h = await store.header(runId);
    if (!h) throw new NotFoundError(`no VPN run ${runId} (crosslink vpn runs ls lists them)`);
    const entries: RunEntry[] = [];
    for (let p = 0; p < (h.pages ?? 0); p++) entries.push(...((await store.page(runId, p)) ?? []));
    const results = await store.results(runId);
    if (ctx.global.json) {
      ctx.io.out(JSON.stringify({ ...h, entries, results }, null, 2));
      return EXIT.ok;
    }
    const lines = [
      `${h.runId}: ${h.status} (${h.trigger}, requested by ${h.requestedBy}, scheduled ${h.scheduledAt})`,
    ];
    if (h.undrain)
      lines.push(`undrained ${h.undrain.vpns.join(', ')}: ${h.undrain.linkId} went ${h.undrain.to}`);
    for (const x of h.traffic?.samples ?? [])
      lines.push(
        `undrained ${x.vpnId}: its traffic returned, ${x.bytesPerHour} bytes/h from ${x.start} to ${x.end}`,
      );
    const r = h.run;
    if (r) {
      lines.push(
        `planned at ${r.plannedAt}; modes: prod ${r.modes.prod}, nonprod ${r.modes.nonprod}`,
        `saved per month by its deletes: ${savingText(r.saving, 'monthly')}`,
        `once the drained VPNs are deleted: ${savingText(r.saving, 'pendingMonthly')} more`,
        `planned in dry-run, not applied: ${savingText(r.saving, 'dryRunMonthly')}`,
        `prices: ${r.saving.source}`,
        '',
        ...table(
          ['VPN', 'ENV', 'STATE', 'ACTION', 'MODE', 'COMMANDED', 'WHY'],
          entries.map((e) => [
            e.vpnId,
            e.environment,
            e.state,
            e.action.toUpperCase(),
            e.mode,
            e.emit ? 'yes' : 'no',
            e.summary,
          ]),
        ),
      );
      for (const u of r.unpaired) lines.push(`not planned: ${u.side} ${u.id}: ${u.reason}`);
    }
    if (results.length > 0) {
      lines.push('', 'results:');
      for (const x of results)
        lines.push(`  ${x.vpnId} ${x.action} on ${x.side}: ${x.outcome} (${x.reason}) at ${x.appliedAt}`);
    }
    for (const l of lines) ctx.io.out(l);
    return EXIT.ok;
  } finally {
    await close();
  }
}

/** The options that find the coordinating side: the policy names it, and Google's project in the cloud. */
const WHERE_COORDINATED = {
  project: {
    type: 'string',
    description: "the coordinator's Google project (Google coordinating, --target cloud)",
  },
  policy: {
    type: 'string',
    description: 'the policy file (default ./config/policy.yaml): which side coordinates',
  },
} as const;

const runs: Command = {
  noun: 'vpn',
  verb: 'runs',
  args: 'ls | show <runId>',
  summary: 'list the VPN runs, or show one: each VPN planned, commanded or not, results, saving',
  example: 'crosslink vpn runs show vpn-dev-20261206T030000Z',
  positionals: { min: 1, max: 2 },
  options: {
    stage: { type: 'string', description: 'the AWS stage of the coordinator (default dev)' },
    region: { type: 'string', description: "the coordinator's AWS region (with --target cloud)" },
    limit: { type: 'string', description: 'ls: at most this many runs, newest first (default 20)' },
    ...WHERE_COORDINATED,
  },
  async run(ctx) {
    const [what, id] = ctx.positionals;
    if (what === 'ls' && id === undefined) return runsLs(ctx);
    if (what === 'show' && id) return runsShow(ctx, id);
    throw new UsageError(
      what === 'show'
        ? 'vpn runs show needs the run id: crosslink vpn runs show <runId>'
        : 'use: vpn runs ls | vpn runs show <runId>',
    );
  },
};

const run: Command = {
  noun: 'vpn',
  verb: 'run',
  args: '--now [--apply]',
  summary: 'start a VPN run now on the coordinator: plans and records; --apply commands as the policy allows',
  example: 'crosslink vpn run --now --apply --as alice',
  options: {
    now: { type: 'boolean', description: 'start it now (the only way to start one by hand)' },
    apply: { type: 'boolean', description: "command the actions where the policy's vpn.mode is apply" },
    stage: {
      type: 'string',
      description: 'the installation: the AWS stage of the coordinator (default dev)',
    },
    region: { type: 'string', description: "the coordinator's region (with --target cloud)" },
    ...WHERE_COORDINATED,
  },
  async run(ctx) {
    if (!ctx.options.now) throw new UsageError('vpn run needs --now: scheduled runs start on their own');
    const settings = readVpnRunSettings((await ctxPolicy(ctx)).document.vpn);
    const apply = ctx.options.apply === true;
    if (apply && applyAllowed(settings).length === 0)
      throw new PolicyRefusedError([
        `--apply refused: the policy's vpn.mode is dry-run for prod and nonprod; set vpn.mode.<environment>: apply to let a run change VPNs`,
      ]);
    const modes = apply
      ? `applies in ${applyAllowed(settings).join(' and ')}, dry-run elsewhere`
      : 'dry-run: plans and records, changes nothing';
    if (settings.coordinator === 'gcp') return startOnGoogle(ctx, apply, modes);
    const side = await awsSide(ctx);
    const now = await side.now();
    const runId = vpnRunId(side.stage, now);
    const sfn = new SFNClient(side.config);
    if (!side.accountId) throw new UsageError('the AWS account of the coordinator is not known');
    const arn = `arn:aws:states:${side.config.region}:${side.accountId}:stateMachine:crosslink-vpn-run-${side.stage}`;
    try {
      const out = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: arn,
          name: runId,
          input: JSON.stringify({
            scheduledAt: new Date(now).toISOString(),
            trigger: 'manual',
            apply,
            requestedBy: side.principal,
          }),
        }),
      );
      if (ctx.global.json) ctx.io.out(JSON.stringify({ runId, executionArn: out.executionArn, apply }));
      else ctx.io.out(`started ${runId} (${modes}); follow it with: crosslink vpn runs show ${runId}`);
      return EXIT.ok;
    } catch (e) {
      if (e instanceof ExecutionAlreadyExists) {
        ctx.io.out(`${runId} is already started`);
        return EXIT.ok;
      }
      throw e;
    } finally {
      sfn.destroy();
    }
  },
};

/**
 * Starts the `vpn-run` workflow now as the caller (Executions API `executions.create`); the run is
 * named by the installation (`--stage`, the vpn-run function's CROSSLINK_INSTALLATION) and the time.
 */
async function startOnGoogle(ctx: CommandContext, apply: boolean, modes: string): Promise<number> {
  const side = await gcpSide(ctx);
  const now = await side.now();
  const runId = vpnRunId((ctx.options.stage as string | undefined) ?? 'dev', now);
  const url = `${side.executionsUrl}/v1/projects/${side.project}/locations/${side.region}/workflows/vpn-run/executions`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${await side.accessToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      argument: JSON.stringify({
        scheduledAt: new Date(now).toISOString(),
        trigger: 'manual',
        apply,
        requestedBy: side.principal,
      }),
    }),
  });
  const body = (await res.json().catch(() => ({}))) as { name?: string; error?: { message?: string } };
  if (res.status === 403 || res.status === 401)
    throw new PolicyRefusedError([
      `starting the vpn-run workflow was refused: ${body.error?.message ?? res.status}`,
    ]);
  if (!res.ok)
    throw new Error(`starting the vpn-run workflow failed (${res.status}): ${body.error?.message ?? ''}`);
  if (ctx.global.json) ctx.io.out(JSON.stringify({ runId, execution: body.name, apply }));
  else ctx.io.out(`started ${runId} (${modes}) on Google; follow it with: crosslink vpn runs show ${runId}`);
  return EXIT.ok;
}

export const vpnRunCommands: Command[] = [runs, run];
