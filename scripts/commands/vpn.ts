/**
 * `crosslink vpn plan [--aws <file> --gcp <file>] [--links <file>] [--metrics <file>] [--at <time>] [--json]`:
 * reads the clouds' CLI exports (or, without files, the running local cloud's inventories and VPN
 * traffic) and crosslink's own records, and prints the VPN decommission plan (docs/vpn-planner.md).
 * It only reads: it changes nothing on either cloud.
 *
 * `crosslink vpn approve <runId> <vpnId> --side aws|gcp` (or `<vpnId> --run <runId>`): approves the prod delete of a VPN
 * that side's half waits to do, at that side's intake, as the caller (docs/vpn-runs.md).
 */
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Clock, systemClock } from '#core/clock.ts';
import { ValidationError } from '#core/errors.ts';
import { awsRegionsOf } from '#core/policy/policy.ts';
import { importAwsExport } from '#core/vpn/import-aws.ts';
import { importGcpExport } from '#core/vpn/import-gcp.ts';
import { importLinksFile, importMetricsFile } from '#core/vpn/import-state.ts';
import { buildInventory } from '#core/vpn/inventory.ts';
import { resolveNetworkRefs } from '#core/vpn/network-refs.ts';
import { type Plan, planDecommission, type VpnPlan } from '#core/vpn/planner.ts';
import { DEFAULT_POLICY } from '#core/vpn/policy.ts';
import type { ServiceAccountKey } from '#gcp/google-credentials.ts';
import type { Command, CommandContext } from '../cli/command.ts';
import { EXIT, errorLines, InputFileError, UsageError } from '../cli/errors.ts';
import { identity } from '../cli/identities.ts';
import { readStructuredFile } from '../cli/io.ts';
import { policyPath, readPolicy } from '../cli/policy.ts';
import { table } from '../cli/table.ts';
import type { LiveSource } from '../cli/vpn-inventory.ts';

export interface VpnPlanOptions {
  aws?: string | undefined;
  gcp?: string | undefined;
  links?: string | undefined;
  metrics?: string | undefined;
  /** Plan as of this ISO 8601 time instead of now. */
  at?: string | undefined;
  json: boolean;
  /** Relative file names resolve against it. */
  cwd: string;
}

export interface Sink {
  out(line: string): void;
  err(line: string): void;
}

/**
 * Plans and prints. Exit codes: 0 planned, 2 malformed input (or no files and no local cloud to read).
 */
export async function vpnPlan(
  opts: VpnPlanOptions,
  sink: Sink,
  clock: Clock = systemClock,
  live?: () => Promise<LiveSource>,
): Promise<number> {
  if (!opts.aws !== !opts.gcp) {
    sink.err(`--${opts.aws ? 'gcp' : 'aws'} <file> is missing: a plan needs both halves of every VPN`);
    return EXIT.usage;
  }
  if (!opts.aws && !live) {
    sink.err('no --aws/--gcp files and no cloud to read them from: pass --aws <file> and --gcp <file>');
    return EXIT.usage;
  }
  let at: number | undefined;
  if (opts.at !== undefined) {
    at = /^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/.test(opts.at) ? Date.parse(opts.at) : Number.NaN;
    if (Number.isNaN(at)) {
      sink.err(`--at: "${opts.at}" is not an ISO 8601 time with a zone (e.g. 2026-11-20T12:00:00Z)`);
      return EXIT.usage;
    }
  }

  const given: Record<'aws' | 'gcp' | 'links' | 'metrics', string | undefined> = {
    aws: opts.aws,
    gcp: opts.gcp,
    links: opts.links,
    metrics: opts.metrics,
  };
  const raw: Partial<Record<keyof typeof given, unknown>> = {};
  for (const [key, name] of Object.entries(given) as [keyof typeof given, string | undefined][]) {
    if (name === undefined) continue;
    const path = resolve(opts.cwd, name);
    try {
      await access(path);
    } catch {
      sink.err(`${name}: no such file (--${key})`);
      return EXIT.usage;
    }
    try {
      raw[key] = await readStructuredFile(path);
    } catch (e) {
      if (!(e instanceof InputFileError)) throw e;
      for (const line of errorLines(e)) sink.err(line);
      return EXIT.usage;
    }
  }

  const read = <T>(key: keyof typeof given, f: (input: unknown) => T): T | undefined => {
    if (raw[key] === undefined) return undefined;
    try {
      return f(raw[key]);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      for (const i of e.issues) sink.err(`${given[key]}: ${i.path || '(root)'}: ${i.reason}`);
      return undefined;
    }
  };
  const links = read('links', importLinksFile);
  if (opts.links && !links) return EXIT.usage;
  const policy = links?.policy ?? DEFAULT_POLICY;

  let now = at ?? clock.now();
  if (!opts.aws && live) {
    // No files: read the inventories (and the VPN traffic, unless --metrics) from the cloud.
    const source = await live();
    const got = await source.read(at, policy.idleWindowMs);
    now = got.now;
    raw.aws = got.aws;
    raw.gcp = got.gcp;
    given.aws = `${source.label} (aws)`;
    given.gcp = `${source.label} (gcp)`;
    if (!opts.metrics) {
      raw.metrics = got.metrics;
      given.metrics = `${source.label} (CloudWatch)`;
    }
  }
  const aws = read('aws', importAwsExport);
  const gcp = read('gcp', importGcpExport);
  const traffic = read('metrics', importMetricsFile);
  if (!aws || !gcp || (raw.metrics !== undefined && !traffic)) return EXIT.usage;
  // The links file's network references in the exports' form; one that matches nothing is refused.
  const resolved =
    links &&
    read('links', () =>
      resolveNetworkRefs(links, {
        aws: aws.vpnConnections.map((v) => v.gateway.id),
        gcp: gcp.routers.map((r) => r.network),
      }),
    );
  if (links && !resolved) return EXIT.usage;

  const plan = planDecommission(
    buildInventory({ aws, gcp, links: resolved, traffic }),
    resolved?.policy ?? policy,
    now,
  );
  if (opts.json) sink.out(JSON.stringify(plan, null, 2));
  else for (const line of renderPlan(plan)) sink.out(line);
  return EXIT.ok;
}

const MARK = { pass: 'ok  ', fail: 'FAIL', skip: '-   ' } as const;

/** The table (VPN, networks, gates, action, saving), then every VPN's gates with their reasons. */
export function renderPlan(plan: Plan): string[] {
  const money = (n: number) =>
    plan.currency === 'USD' ? `$${n.toFixed(2)}` : `${n.toFixed(2)} ${plan.currency}`;
  const short = (gcp: string | undefined) => (gcp ? gcp.slice(gcp.lastIndexOf('/') + 1) : '?');
  const gates = (v: VpnPlan) => {
    const failed = v.gates.filter((g) => g.verdict === 'fail').map((g) => g.gate);
    const passed = v.gates.filter((g) => g.verdict === 'pass').length;
    return failed.length === 0 ? `${passed} pass` : `${passed} pass, fail: ${failed.join(', ')}`;
  };
  const lines = [
    `VPN decommission plan at ${plan.at} (dry run: nothing is changed)`,
    '',
    ...table(
      ['VPN', 'NETWORKS', 'STATE', 'GATES', 'ACTION', 'SAVING/MONTH'],
      plan.vpns.map((v) => [
        v.vpnConnectionId,
        `${v.networks.aws} <-> ${short(v.networks.gcp)}`,
        v.state,
        gates(v),
        v.action.toUpperCase(),
        v.action === 'delete'
          ? money(v.monthlySaving)
          : v.state === 'drained' || v.action === 'drain'
            ? `(${money(v.monthlyCost)})`
            : '-',
      ]),
    ),
    '',
    `keep ${plan.totals.keep}, drain ${plan.totals.drain}, undrain ${plan.totals.undrain}, delete ${plan.totals.delete}; saves ${money(plan.totals.monthlySaving)}/month now, ${money(plan.totals.monthlySavingPending)}/month more once the drained VPNs are deleted`,
  ];
  for (const v of plan.vpns) {
    lines.push('', `${v.vpnConnectionId}: ${v.action.toUpperCase()} - ${v.summary}`);
    for (const g of v.gates) lines.push(`  ${MARK[g.verdict]} ${g.gate.padEnd(16)} ${g.reason}`);
    for (const d of v.deletes) lines.push(`  deletes ${d}`);
  }
  if (plan.unpaired.length > 0) {
    lines.push('', 'not paired (reported, not planned):');
    for (const u of plan.unpaired) lines.push(`  ${u.side} ${u.id}: ${u.reason}`);
  }
  return lines;
}

const plan: Command = {
  noun: 'vpn',
  verb: 'plan',
  args: '[--aws <file> --gcp <file>] [--links <file>] [--metrics <file>]',
  summary:
    'plan which IPsec VPNs the links replace: keep, drain, undrain or delete, with every gate (changes nothing)',
  example: 'crosslink vpn plan --aws ec2-vpns.json --gcp gcloud-vpns.json --json',
  options: {
    aws: {
      type: 'string',
      description:
        'AWS exports merged: describe-vpn-connections, ... (docs/vpn-planner.md); omit --aws and --gcp to read the local cloud',
    },
    gcp: {
      type: 'string',
      description: '{vpnTunnels, routers, routerStatus, externalVpnGateways} from gcloud',
    },
    links: { type: 'string', description: 'crosslink links: routes, health history, drains, policy' },
    metrics: { type: 'string', description: 'VPN traffic counters: {traffic: [...]}' },
    at: { type: 'string', description: 'plan as of this ISO 8601 time (default now)' },
    policy: {
      type: 'string',
      description: 'policy file whose AWS regions are read without files (default ./config/policy.yaml)',
    },
  },
  run: (ctx) =>
    vpnPlan(
      {
        aws: ctx.options.aws as string | undefined,
        gcp: ctx.options.gcp as string | undefined,
        links: ctx.options.links as string | undefined,
        metrics: ctx.options.metrics as string | undefined,
        at: ctx.options.at as string | undefined,
        json: ctx.global.json,
        cwd: ctx.home,
      },
      ctx.io,
      systemClock,
      () => liveSource(ctx),
    ),
};

/**
 * The cloud to read when no files are given: the local cloud of `.crosslink/local.json`, signing
 * as `--as` (default admin). Real accounts (`--target cloud`) are not read yet.
 */
async function liveSource(ctx: CommandContext): Promise<LiveSource> {
  const target = await ctx.resolveTarget();
  if (target.kind !== 'local')
    throw new UsageError(
      'reading the VPN inventories from real accounts is not built yet: export them and pass --aws <file> and --gcp <file> (docs/vpn-planner.md)',
    );
  const who = await identity(ctx.home, ctx.global.as ?? 'admin');
  if (!who.aws) throw new UsageError(`--as ${who.name}: this identity has no AWS keys`);
  const keyPath = join(target.home, '.crosslink', 'keys', `${who.name}.json`);
  // Loaded here, not with the command: the SDK clients cost a plan from files a third of its time.
  const [{ readKeyFile }, { localCloudSource }] = await Promise.all([
    import('#gcp/google-credentials.ts'),
    import('../cli/vpn-inventory.ts'),
  ]);
  let gcpKey: ServiceAccountKey;
  try {
    gcpKey = await readKeyFile(keyPath);
  } catch (e) {
    throw new UsageError(`--as ${who.name}: no Google key file (${(e as Error).message.split('\n')[0]})`);
  }
  const policy = await readPolicy(
    policyPath(ctx.home, ctx.options.policy as string | undefined, process.env),
  );
  return localCloudSource(
    target.local,
    { aws: { accessKeyId: who.aws.accessKeyId, secretAccessKey: who.aws.secretAccessKey }, gcpKey },
    awsRegionsOf(policy.document),
  );
}

const approve: Command = {
  noun: 'vpn',
  verb: 'approve',
  args: '<runId> <vpnId> --side aws|gcp',
  summary:
    "approve a prod VPN delete that one side's half waits for (the caller is the approver, never the requester)",
  example: 'crosslink vpn approve vpn-dev-20261206T030000Z vpn-0a1b2c3d4e5f60718 --side aws --as bob',
  positionals: { min: 1, max: 2 },
  options: {
    run: {
      type: 'string',
      description: 'the run, when only <vpnId> is given (its VpnDeleteRequested runId)',
    },
    side: { type: 'string', description: 'the side that deletes and waits: aws or gcp' },
  },
  async run(ctx) {
    const side = ctx.options.side as string | undefined;
    if (side !== 'aws' && side !== 'gcp')
      throw new UsageError(
        side === undefined ? '--side is required: aws or gcp' : `--side must be aws or gcp, got "${side}"`,
      );
    // `<runId> <vpnId>` as `crosslink vpn runs show` names them, or `<vpnId> --run <runId>`.
    const two = ctx.positionals.length === 2;
    if (two && ctx.options.run !== undefined)
      throw new UsageError('give the run once: <runId> <vpnId>, or <vpnId> --run <runId>');
    const runId = two ? ctx.positionals[0] : (ctx.options.run as string | undefined);
    if (!runId)
      throw new UsageError('the run is required: crosslink vpn approve <runId> <vpnId> --side aws|gcp');
    const vpnId = (two ? ctx.positionals[1] : ctx.positionals[0]) as string;
    // Loaded here: the intake client's SDK signer would slow `vpn plan`'s start.
    const { intakeFor } = await import('../cli/intake-client.ts');
    const access = await intakeFor(ctx, side);
    const out = await access.client.approveVpnDelete(vpnId, runId);
    if (ctx.global.json) ctx.io.out(JSON.stringify(out, null, 2));
    else
      ctx.io.out(
        `approved the delete of ${out.request.vpnId} in run ${out.request.runId} (requested by ${out.request.requestedBy}) on ${side} as ${out.approval.approver}`,
      );
    return EXIT.ok;
  },
};

export const vpnCommands: Command[] = [plan, approve];
