/**
 * `crosslink dr validate <plan-file>`, `crosslink dr evaluate --plan <file> --signals <file>` and
 * `crosslink dr status <plan-file> --signals <file> [--at <time>] [--arc-endpoints <file>] [--dns-failover]`;
 * `crosslink dr export <plan-file> [--side aws|gcp]` reads one side's recorded log from the local cloud.
 * The operator's controls (`dr pause|resume|approve`) are in dr-control.ts. Validate and evaluate are
 * offline: they read files and run the core. `dr status` reads the serving side from Route 53 ARC's cluster endpoints when given
 * them, or from the plan's Cloud DNS primaryBackup policy (`--dns-failover`); `dr export` reads the
 * recorded log.
 * Exit codes: 0 ok, 2 malformed plan or signal log (one line per problem), 4 a file does not exist.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { formatDuration } from '#core/clock.ts';
import { replay } from '#core/dr/failover-decider.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import { type Action, type DrPlan, independentObservers, parseDrPlan, planWarnings } from '#core/dr/plan.ts';
import {
  type ArcServing,
  arcCells,
  type ClusterEndpoint,
  type DnsPolicyReader,
  type DnsServing,
  dnsSwitch,
  parseClusterEndpoints,
  type RoutingControlReader,
  readArcServing,
  readDnsServing,
  type SignalGap,
  signalGaps,
} from '#core/dr/serving.ts';
import { type DrRecord, parseSignalLogLines } from '#core/dr/signal-log.ts';
import { drStatus } from '#core/dr/status.ts';
import { ValidationError } from '#core/errors.ts';
import type { Command, CommandContext } from '../cli/command.ts';
import { EXIT, UsageError } from '../cli/errors.ts';
import { identity } from '../cli/identities.ts';

/** Where a command writes: stdout and stderr, one line at a time. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

type Read = { text: string } | { code: number };

/** Reads a file; a missing or unreadable one is malformed input (exit 2, as for every input file), with one line. */
export async function readInput(home: string, file: string, out: Output): Promise<Read> {
  try {
    return { text: await readFile(resolve(home, file), 'utf8') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      out.err(`${file}: no such file`);
      return { code: EXIT.usage };
    }
    out.err(`${file}: ${code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
    return { code: EXIT.usage };
  }
}

/** Runs `parse`; a ValidationError becomes one `file: path: reason` line per issue. */
export function parseOrReport<T>(file: string, out: Output, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    for (const i of e.issues) out.err(`${file}: ${i.path || '(root)'}: ${i.reason}`);
    return undefined;
  }
}

function summary(plan: DrPlan): string[] {
  const s = plan.settings;
  return [
    `${plan.service}: primary ${plan.primary.cloud} ${plan.primary.region}, standby ${plan.standby.cloud} ${plan.standby.region}; RTO ${plan.objectives.rto}, RPO ${plan.objectives.rpo}`,
    `  quorum ${s.quorum} of ${independentObservers(plan, 'primary').length} independent vantage points (${independentObservers(plan, 'primary').join(', ')})`,
    `  hysteresis ${formatDuration(s.hysteresisMs)}, dampening ${formatDuration(s.dampeningMs)}, reports stale after ${formatDuration(s.staleAfterMs)}, failover approval ${s.failoverApproval}`,
    `  failback after ${formatDuration(s.stablePeriodMs)} stable, approval ${s.failbackApproval}`,
    `  failover: ${describeActions(plan.actions.failover)}`,
    `  failback: ${describeActions(plan.actions.failback)}`,
  ];
}

export function describeAction(a: Action): string {
  switch (a.type) {
    case 'fence-writer':
    case 'promote-replica':
      return `${a.cloud} ${a.type} (${a.hook.function})`;
    case 'scale-standby':
      return `${a.cloud} scale-standby to ${a.capacity} (${a.hook.function})`;
    case 'arc-routing-control':
      return `aws arc-routing-control ${a.states.map((s) => `${s.routingControlArn.split('/').pop()}=${s.state}`).join(' ')}`;
    case 'cloud-dns-failover-policy':
      return `gcp cloud-dns-failover-policy ${a.recordName} serve ${a.serve} (${a.hook.function})`;
  }
}

const describeActions = (actions: Action[]) =>
  actions.map((a, i) => `${i + 1}. ${describeAction(a)}`).join('  ');

export interface ValidateOptions {
  file: string;
  json: boolean;
  home: string;
}

export async function drValidate(opts: ValidateOptions, out: Output): Promise<number> {
  const read = await readInput(opts.home, opts.file, out);
  if ('code' in read) return read.code;
  const plan = parseOrReport(opts.file, out, () => parseDrPlan(read.text, opts.file));
  if (!plan) return EXIT.usage;
  for (const w of planWarnings(plan)) out.err(`${opts.file}: warning: ${w.path}: ${w.reason}`);
  if (opts.json) out.out(JSON.stringify(plan, null, 2));
  else {
    out.out(`${opts.file}: valid`);
    for (const line of summary(plan)) out.out(line);
  }
  return EXIT.ok;
}

export interface EvaluateOptions {
  plan: string;
  signals: string;
  json: boolean;
  home: string;
}

export function describeDecision(d: Decision): string[] {
  const what =
    d.decision === 'hold'
      ? `hold (${d.active} serving)`
      : `${d.decision.toUpperCase()} ${d.approval === 'pending' ? 'pending approval' : d.approval === 'approved' ? `approved by ${d.by}` : 'approval not required'}${d.approval === 'pending' ? '' : ` -> ${d.active}`}`;
  const lines = [`${d.time}  epoch ${d.epoch}  ${what}`];
  for (const r of d.reasons) lines.push(`    ${r.code}: ${r.message}`);
  if (d.actions) lines.push(`    actions: ${describeActions(d.actions)}`);
  return lines;
}

/** Reads and parses a plan and a signal log; a problem with either is reported and becomes its exit code. */
export async function readPlanAndLog(
  opts: { home: string; plan: string; signals: string },
  out: Output,
): Promise<{ plan: DrPlan; lines: ReturnType<typeof parseSignalLogLines> } | { code: number }> {
  const planRead = await readInput(opts.home, opts.plan, out);
  if ('code' in planRead) return planRead;
  const signalsRead = await readInput(opts.home, opts.signals, out);
  if ('code' in signalsRead) return signalsRead;
  const plan = parseOrReport(opts.plan, out, () => parseDrPlan(planRead.text, opts.plan));
  const lines = parseOrReport(opts.signals, out, () => parseSignalLogLines(signalsRead.text, opts.signals));
  if (!plan || !lines) return { code: EXIT.usage };
  return { plan, lines };
}

export async function drEvaluate(opts: EvaluateOptions, out: Output): Promise<number> {
  const read = await readPlanAndLog(opts, out);
  if ('code' in read) return read.code;
  const { plan, lines } = read;

  const result = replay(
    plan,
    lines.map((l) => l.record),
  );
  for (const i of result.ignored) out.err(`${opts.signals}:${lines[i.index]?.line}: ignored: ${i.reason}`);
  if (!lines.some((l) => 'service' in l.record && l.record.service === plan.service))
    out.err(`${opts.signals}: no record for service ${plan.service}`);

  if (opts.json) {
    out.out(JSON.stringify(result.decisions, null, 2));
    return EXIT.ok;
  }
  for (const d of result.decisions) for (const line of describeDecision(d)) out.out(line);
  const count = (k: string) =>
    result.decisions.filter((d) => d.decision === k && d.approval !== 'pending').length;
  out.out('');
  out.out(
    `${plan.service}: ${result.decisions.length} decision${result.decisions.length === 1 ? '' : 's'} (${count('failover')} failover, ${count('failback')} failback); ${result.state.active} serving at the end, epoch ${result.state.epoch}`,
  );
  return EXIT.ok;
}

export interface StatusOptions {
  plan: string;
  signals: string;
  /** The time to report at (ms); the newest record's time when not given. */
  at?: number;
  json: boolean;
  home: string;
  /** Route 53 ARC: the cluster's endpoints and a reader of routing control states, to read the serving side. */
  arc?: { endpoints: ClusterEndpoint[]; reader: RoutingControlReader };
  /** Cloud DNS: a reader of the plan's record set's primaryBackup policy, to read the serving side. */
  dns?: DnsPolicyReader;
}

/** The serving side by the plan's Cloud DNS primaryBackup policy, as lines. */
function describeDns(plan: DrPlan, d: DnsServing): string[] {
  const at = `Cloud DNS primaryBackup ${d.recordName} in ${d.managedZone}`;
  if (d.serving === 'unknown') return [`serving (${at}): unknown: ${d.reason}`];
  const [p, s] = [plan.primary, plan.standby];
  const trickle =
    d.policy.trickleTraffic > 0 ? `; ${d.policy.trickleTraffic * 100}% of answers to the standby` : '';
  return [
    `serving (${at}, ${d.policy.type}, TTL ${d.policy.ttl}s): primary (${p.cloud} ${p.region}) while a primary target is healthy, else standby (${s.cloud} ${s.region})${trickle}; the Cloud DNS API does not expose the targets' health`,
    `  primary  ${d.policy.primaryTargets.join(', ')}`,
    ...d.policy.backupTargets.map((b) => `  standby  ${b.location}: ${b.targets.join(', ') || '(none)'}`),
  ];
}

function describeGap(g: SignalGap): string {
  if (g.from === undefined) return `  ${g.side.padEnd(9)} no signal at all`;
  if (g.to === undefined)
    return `  ${g.side.padEnd(9)} silent since ${g.from} (${formatDuration(g.ms ?? 0)})`;
  return `  ${g.side.padEnd(9)} gap ${g.from} -> ${g.to} (${formatDuration(g.ms ?? 0)})`;
}

function describeArc(plan: DrPlan, a: ArcServing): string[] {
  if (a.serving === 'unknown')
    return [
      `serving (Route 53 ARC): unknown: no cluster endpoint answered (tried ${a.tried.map((t) => `${t.region}: ${t.reason}`).join('; ')})`,
    ];
  const skipped =
    a.skipped.length > 0 ? `; ${a.skipped.map((t) => `${t.region} skipped: ${t.reason}`).join('; ')}` : '';
  const side = a.serving === 'primary' || a.serving === 'standby' ? plan[a.serving] : undefined;
  const lines = [
    `serving (Route 53 ARC, read at ${a.endpoint}${skipped}): ${a.serving}${side ? ` (${side.cloud} ${side.region})` : a.serving === 'both' ? ' (both cells On)' : ' (every cell Off)'}`,
  ];
  for (const c of a.cells) lines.push(`  ${c.side.padEnd(8)} ${c.state.padEnd(3)} ${c.routingControlArn}`);
  return lines;
}

/**
 * The decider's view of a recorded log at a time: the serving side, the last decisions with their
 * reasons, and each vantage point's freshness (a gap in a vantage point's reports shows as stale).
 */
export async function drStatusCommand(opts: StatusOptions, out: Output): Promise<number> {
  const read = await readPlanAndLog(opts, out);
  if ('code' in read) return read.code;
  const { plan, lines } = read;
  const records = lines.map((l) => l.record);
  const last = records.at(-1);
  const now = opts.at ?? (last ? Date.parse(last.time) : undefined);
  if (now === undefined) {
    out.err(`${opts.signals}: no record, and no --at time to report at`);
    return EXIT.usage;
  }
  let arc: ArcServing | undefined;
  if (opts.arc) {
    const cells = arcCells(plan);
    if (!cells) {
      out.err(`${opts.plan}: actions.failover: no arc-routing-control action, so no routing control to read`);
      return EXIT.usage;
    }
    arc = await readArcServing(cells, opts.arc.endpoints, opts.arc.reader);
  }
  let dns: DnsServing | undefined;
  if (opts.dns) {
    const sw = dnsSwitch(plan);
    if (!sw) {
      out.err(
        `${opts.plan}: actions.failover: no cloud-dns-failover-policy action, so no record set to read`,
      );
      return EXIT.usage;
    }
    dns = await readDnsServing(sw, opts.dns);
  }
  const status = {
    ...drStatus(plan, records, now),
    gaps: signalGaps(plan, records, now),
    ...(arc && { arc }),
    ...(dns && { dns }),
  };
  const unknown = arc?.serving === 'unknown' || dns?.serving === 'unknown';
  const code = unknown ? EXIT.unexpected : EXIT.ok;
  if (arc?.serving === 'unknown') out.err(`${plan.service}: ${describeArc(plan, arc)[0]}`);
  if (dns?.serving === 'unknown') out.err(`${plan.service}: ${describeDns(plan, dns)[0]}`);
  if (opts.json) {
    out.out(JSON.stringify(status, null, 2));
    return code;
  }
  const side = plan[status.active];
  out.out(
    `${plan.service} at ${status.now}: ${status.active} serving by the decisions (${side.cloud} ${side.region}), epoch ${status.epoch}`,
  );
  if (arc) for (const line of describeArc(plan, arc)) out.out(line);
  if (dns) for (const line of describeDns(plan, dns)) out.out(line);
  out.out('vantage points:');
  for (const v of status.vantagePoints)
    out.out(
      `  ${v.vantage.padEnd(20)} ${v.freshness.padEnd(6)} ${v.lastReport ? `last report ${v.lastReport} (${formatDuration(v.ageMs ?? 0)} ago): ${v.last?.signal} ${v.last?.status}${v.last?.reason ? ` (${v.last.reason})` : ''}` : 'no report'}`,
    );
  out.out(
    `gaps longer than ${formatDuration(plan.settings.staleAfterMs)} per side:${status.gaps.length === 0 ? ' none' : ''}`,
  );
  for (const g of status.gaps) out.out(describeGap(g));
  out.out('last decisions:');
  for (const d of status.decisions.slice(-3)) for (const line of describeDecision(d)) out.out(`  ${line}`);
  return code;
}

const validate: Command = {
  noun: 'dr',
  verb: 'validate',
  args: '<plan-file>',
  summary: 'check a DR plan (config/dr-plans/*.yaml) against its schema and the safety rules',
  example: 'crosslink dr validate config/dr-plans/example-payments.yaml',
  positionals: { min: 1, max: 1 },
  run: (ctx) =>
    drValidate({ file: ctx.positionals[0] as string, json: ctx.global.json, home: ctx.home }, ctx.io),
};

const evaluate: Command = {
  noun: 'dr',
  verb: 'evaluate',
  args: '--plan <file> --signals <file>',
  summary: 'replay a signal log (JSON lines) through the failover decider and print every decision',
  example: 'crosslink dr evaluate --plan config/dr-plans/example-payments.yaml --signals signals.jsonl',
  options: {
    plan: { type: 'string', description: 'the DR plan (YAML)' },
    signals: { type: 'string', description: 'the signal log: JSON lines of signals and operator controls' },
  },
  async run(ctx) {
    const { plan, signals } = ctx.options;
    if (typeof plan !== 'string') throw new UsageError('missing --plan <file>');
    if (typeof signals !== 'string') throw new UsageError('missing --signals <file>');
    return drEvaluate({ plan, signals, json: ctx.global.json, home: ctx.home }, ctx.io);
  },
};

const status: Command = {
  noun: 'dr',
  verb: 'status',
  args: '<plan-file> --signals <file> [--at <time>] [--arc-endpoints <file>] [--dns-failover [--dns-project <id>]]',
  summary:
    "the serving side (decided, and read from Route 53 ARC or Cloud DNS), last decisions, each vantage point's freshness and each side's gaps",
  example: 'crosslink dr status config/dr-plans/example-payments.yaml --signals signals.jsonl',
  positionals: { min: 1, max: 1 },
  options: {
    signals: { type: 'string', description: 'the recorded signal log: JSON lines' },
    at: { type: 'string', description: 'report as of this time (RFC 3339); default: the last record' },
    'arc-endpoints': {
      type: 'string',
      description:
        "the ARC cluster's endpoints (describe-cluster's JSON): read each routing control's state through them in turn",
    },
    'dns-failover': {
      type: 'boolean',
      description: "read the plan's Cloud DNS record set's primaryBackup policy through the Cloud DNS API",
    },
    'dns-project': {
      type: 'string',
      description: "the Google project of the plan's managed zone (default: the local cloud's project)",
    },
  },
  async run(ctx) {
    const { signals, at } = ctx.options;
    const endpointsFile = ctx.options['arc-endpoints'];
    if (typeof signals !== 'string') throw new UsageError('missing --signals <file>');
    const time = timeOption('at', at);
    const opts: StatusOptions = {
      plan: ctx.positionals[0] as string,
      signals,
      at: time,
      json: ctx.global.json,
      home: ctx.home,
    };
    if (ctx.options['dns-failover'] === true) {
      if (typeof endpointsFile === 'string')
        throw new UsageError('--arc-endpoints and --dns-failover: give one switch to read');
      return statusWithDns(ctx, opts);
    }
    if (typeof endpointsFile !== 'string') return drStatusCommand(opts, ctx.io);
    const read = await readInput(ctx.home, endpointsFile, ctx.io);
    if ('code' in read) return read.code;
    const endpoints = parseOrReport(endpointsFile, ctx.io, () =>
      parseClusterEndpoints(read.text, endpointsFile),
    );
    if (!endpoints) return EXIT.usage;
    // On the local cloud, the identity's keys; on real accounts, the SDK's default credentials.
    const target = await ctx.resolveTarget();
    const who = target.kind === 'local' ? await identity(ctx.home, ctx.global.as ?? 'admin') : undefined;
    if (who && !who.aws) throw new UsageError(`--as ${who.name}: this identity has no AWS keys`);
    // Loaded here: the ARC client would slow the offline commands' start.
    const { ArcRoutingControlReader } = await import('#aws/arc-routing-controls.ts');
    const reader = new ArcRoutingControlReader(who?.aws);
    try {
      return await drStatusCommand({ ...opts, arc: { endpoints, reader } }, ctx.io);
    } finally {
      reader.destroy();
    }
  },
};

/**
 * `dr status --dns-failover`: the policy read with the @google-cloud/dns client, on the local cloud
 * as the `--as` identity (default admin) at its edge, elsewhere with the client's default credentials
 * in `--dns-project`.
 */
async function statusWithDns(ctx: CommandContext, opts: StatusOptions): Promise<number> {
  const target = await ctx.resolveTarget();
  const local = target.kind === 'local' ? target.local.gcp : null;
  const project =
    typeof ctx.options['dns-project'] === 'string' ? ctx.options['dns-project'] : local?.project;
  if (!project)
    throw new UsageError("--dns-project: required outside the local cloud (the managed zone's project)");
  // Loaded here: the Google clients would slow the offline commands' start.
  const [{ DNS }, { CloudDnsPolicyReader }, { readKeyFile, jwtClient }] = await Promise.all([
    import('@google-cloud/dns'),
    import('#gcp/dns-failover-policy.ts'),
    import('#gcp/google-credentials.ts'),
  ]);
  let dns: InstanceType<typeof DNS>;
  if (local && target.kind === 'local') {
    const who = await identity(ctx.home, ctx.global.as ?? 'admin');
    const keyPath = join(target.home, '.crosslink', 'keys', `${who.name}.json`);
    let key: Awaited<ReturnType<typeof readKeyFile>>;
    try {
      key = await readKeyFile(keyPath);
    } catch (e) {
      throw new UsageError(`--as ${who.name}: no Google key file (${(e as Error).message.split('\n')[0]})`);
    }
    dns = new DNS({ projectId: project, authClient: jwtClient(key) } as never);
    dns.baseUrl = `${local.endpoint}/dns/v1`;
  } else dns = new DNS({ projectId: project });
  return drStatusCommand({ ...opts, dns: new CloudDnsPolicyReader(dns) }, ctx.io);
}

/** Parses an RFC 3339 time option; a bad one is a usage error naming the option. */
export function timeOption(name: string, value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const time = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(time))
    throw new UsageError(`--${name}: "${value}" is not an RFC 3339 time (e.g. 2026-03-02T10:15:00Z)`);
  return time;
}

const exportLog: Command = {
  noun: 'dr',
  verb: 'export',
  args: '<plan-file> [--since <time>] [--side aws|gcp] [--table <name>]',
  summary: "print one side's recorded signal log of the plan's service as JSON lines, for dr evaluate",
  example:
    'crosslink dr export config/dr-plans/example-payments.yaml --since 2026-03-02T10:00:00Z > log.jsonl',
  positionals: { min: 1, max: 1 },
  options: {
    since: { type: 'string', description: 'only records at or after this time (RFC 3339)' },
    table: {
      type: 'string',
      description: 'the links table that holds the log (default crosslink-links-dev)',
    },
    side: {
      type: 'string',
      description: "whose copy: aws (the links table, default) or gcp (Google's, in Firestore)",
    },
  },
  async run(ctx) {
    const since = timeOption('since', ctx.options.since);
    const file = ctx.positionals[0] as string;
    const read = await readInput(ctx.home, file, ctx.io);
    if ('code' in read) return read.code;
    const plan = parseOrReport(file, ctx.io, () => parseDrPlan(read.text, file));
    if (!plan) return EXIT.usage;
    const side = ctx.options.side ?? 'aws';
    if (side !== 'aws' && side !== 'gcp') throw new UsageError(`--side: "${side}" is neither aws nor gcp`);
    const target = await ctx.resolveTarget();
    if (target.kind !== 'local' || !target.local.aws)
      throw new UsageError(
        'exporting the signal log from real accounts is not built yet: only the local cloud',
      );
    const print = (records: readonly DrRecord[]) => {
      for (const r of records) ctx.io.out(JSON.stringify(r));
      if (records.length === 0)
        ctx.io.err(`${plan.service}: no recorded signal${since === undefined ? '' : ' since then'}`);
      return EXIT.ok;
    };
    if (side === 'gcp') {
      // Google's copy, read from the local Firestore emulator as the other local commands read it.
      const emulator = target.local.firestoreEmulatorHost;
      if (!target.local.gcp || !emulator)
        throw new UsageError('--side gcp: the local cloud runs without its Firestore emulator');
      const [{ Firestore }, { FirestoreSignalLog }] = await Promise.all([
        import('@google-cloud/firestore'),
        import('#gcp/signal-log.ts'),
      ]);
      const db = new Firestore({ projectId: target.local.gcp.project, host: emulator, ssl: false });
      try {
        return print(await new FirestoreSignalLog(db).since(plan.service, since));
      } finally {
        await db.terminate();
      }
    }
    const who = await identity(ctx.home, ctx.global.as ?? 'admin');
    if (!who.aws) throw new UsageError(`--as ${who.name}: this identity has no AWS keys`);
    // Loaded here: the DynamoDB client would slow the offline commands' start.
    const [{ DynamoDBClient }, { DynamoDbSignalLog }] = await Promise.all([
      import('@aws-sdk/client-dynamodb'),
      import('#aws/signal-log.ts'),
    ]);
    const client = new DynamoDBClient({
      endpoint: target.local.aws.endpoint,
      region: target.local.aws.region,
      credentials: { accessKeyId: who.aws.accessKeyId, secretAccessKey: who.aws.secretAccessKey },
    });
    try {
      const table = typeof ctx.options.table === 'string' ? ctx.options.table : 'crosslink-links-dev';
      // The observations and the operators' controls (dr pause / resume / approve), in time order.
      const records = await new DynamoDbSignalLog(client, table).records(plan.service);
      return print(records.filter((r) => since === undefined || Date.parse(r.time) >= since));
    } finally {
      client.destroy();
    }
  },
};

/** The offline commands and `dr status` / `dr export`; the operator's controls are in dr-control.ts. */
export const drCommands: Command[] = [validate, evaluate, status, exportLog];
