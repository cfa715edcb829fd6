/**
 * `crosslink sim ...`: drive the running local cloud through its admin API (docs/local-cloud.md):
 * what the simulated accounts hold, the virtual clock, faults, the seed, and the remote provider's
 * moves on an AWS connection (for tests of the AWS half alone). Local target only.
 */
import { parseDuration } from '#core/clock.ts';
import {
  CrosslinkError,
  IllegalTransitionError,
  NotFoundError,
  PermissionDeniedError,
} from '#core/errors.ts';
import type { Command, CommandContext } from '../cli/command.ts';
import { EXIT, UsageError } from '../cli/errors.ts';
import { table } from '../cli/table.ts';

/** The admin API answered with an error the CLI cannot map to a domain error. */
export class AdminApiError extends CrosslinkError {}

type Json = Record<string, unknown>;

export async function adminUrl(ctx: CommandContext): Promise<string> {
  const target = await ctx.resolveTarget();
  if (target.kind !== 'local') throw new UsageError('sim acts on the local cloud only (drop --target cloud)');
  if (!target.local.admin) throw new UsageError('the running local cloud reports no admin endpoint');
  return target.local.admin;
}

/** Calls the admin API; maps its errors to the CLI's exit codes through domain errors. */
export async function callAdmin(base: string, method: string, path: string, body?: unknown): Promise<Json> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new AdminApiError(`cannot reach the local cloud at ${base}: ${(e as Error).message}`);
  }
  const json = (await res.json().catch(() => ({}))) as Json & { error?: { code?: string; message?: string } };
  if (res.ok) return json;
  const message = json.error?.message ?? `HTTP ${res.status}`;
  if (res.status === 400) throw new UsageError(message);
  if (res.status === 404) throw new NotFoundError(message);
  if (res.status === 403) throw new PermissionDeniedError(message);
  if (res.status === 409) throw new IllegalTransitionError('current', path.split('/').pop() ?? path, message);
  throw new AdminApiError(`local cloud admin: ${message}`);
}

export function print(ctx: CommandContext, json: unknown, human: () => string[]): number {
  if (ctx.global.json) ctx.io.out(JSON.stringify(json, null, 2));
  else for (const line of human()) ctx.io.out(line);
  return EXIT.ok;
}

const clockLine = (c: Json) =>
  `clock ${c.mode}${c.mode === 'scaled' ? ` x${c.scale}` : ''}  now ${c.now}  (${c.pendingTimers} timers)`;

/** Up to three names, then how many more. */
function names(list: string[]): string {
  return list.length <= 3 ? list.join(', ') : `${list.slice(0, 3).join(', ')} +${list.length - 3} more`;
}

/** One value of a service's status view, in a few words (`--json` has the whole view). */
function brief(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return 'none';
    if (v.every((x) => typeof x === 'string')) return `${v.length} (${names(v as string[])})`;
    const items = v as Json[];
    const states = new Map<string, number>();
    for (const x of items) {
      const state = x.status ?? x.state;
      if (typeof state === 'string') states.set(state, (states.get(state) ?? 0) + 1);
    }
    if (states.size > 0) return `${v.length} (${[...states].map(([k, n]) => `${k} ${n}`).join(', ')})`;
    if (items.every((x) => typeof x.name === 'string'))
      return `${v.length} (${names(items.map((x) => String(x.name)))})`;
    return String(v.length);
  }
  const entries = Object.entries(v as Json);
  if (entries.length === 0) return 'none';
  // A map of like records (queues and their counts): how many, and the counts added up.
  const sums = new Map<string, number>();
  for (const [, x] of entries) {
    if (typeof x !== 'object' || x === null) return names(entries.map(([k]) => k));
    for (const [k, n] of Object.entries(x)) if (typeof n === 'number') sums.set(k, (sums.get(k) ?? 0) + n);
  }
  const totals = [...sums].map(([k, n]) => `${k} ${n}`).join(', ');
  return `${entries.length} (${totals || names(entries.map(([k]) => k))})`;
}

/** The DETAIL column of a service without resources of its own in the table: `key: brief` each. */
export function detailOf(view: unknown): string {
  if (typeof view !== 'object' || view === null || Array.isArray(view)) return brief(view);
  // A view that is itself a map of like records (SQS: queue -> counts).
  if (Object.values(view).every((x) => typeof x === 'object' && x !== null && !Array.isArray(x)))
    return brief(view);
  return Object.entries(view)
    .map(([k, v]) => `${k}: ${brief(v)}`)
    .join('; ');
}

const status: Command = {
  noun: 'sim',
  verb: 'status',
  args: '',
  summary: 'what the simulated accounts hold, the clock and the active faults',
  example: 'crosslink sim status',
  async run(ctx) {
    const s = await callAdmin(await adminUrl(ctx), 'GET', '/status');
    return print(ctx, s, () => {
      const lines = [clockLine(s.clock as Json), `seed ${s.seed}`];
      const faults = s.faults as Json[];
      lines.push(faults.length === 0 ? 'faults: none' : `faults: ${faults.map(faultLine).join('; ')}`);
      const accounts = ((s.aws as Json).accounts ?? {}) as Record<string, Record<string, Json>>;
      const rows: string[][] = [];
      for (const [account, regions] of Object.entries(accounts)) {
        for (const [region, services] of Object.entries(regions)) {
          const conns = ((services.interconnect as Json | undefined)?.connections ?? []) as Json[];
          for (const c of conns) {
            rows.push([
              account,
              region,
              'interconnect',
              String(c.id),
              String(c.state),
              String(c.bandwidth),
              String(c.description),
            ]);
          }
          for (const [svc, view] of Object.entries(services)) {
            if (svc !== 'interconnect') rows.push([account, region, svc, '', '', '', detailOf(view)]);
          }
        }
      }
      if (rows.length === 0) lines.push('the simulated accounts hold nothing yet');
      else lines.push(...table(['ACCOUNT', 'REGION', 'SERVICE', 'ID', 'STATE', 'BANDWIDTH', 'DETAIL'], rows));
      // The Google side: what each simulated project holds.
      const projects = ((s.gcp as Json | undefined)?.projects ?? {}) as Record<string, Record<string, Json>>;
      const gcpRows: string[][] = [];
      for (const [project, services] of Object.entries(projects)) {
        for (const t of ((services.networkconnectivity as Json | undefined)?.transports ?? []) as Json[]) {
          const [, , , location, , id] = String(t.name).split('/');
          gcpRows.push([
            project,
            String(location),
            'networkconnectivity',
            String(id),
            String(t.state),
            String(t.bandwidth),
            String(t.sharedId ?? ''),
          ]);
        }
        for (const [svc, view] of Object.entries(services)) {
          if (svc !== 'networkconnectivity') gcpRows.push([project, '', svc, '', '', '', detailOf(view)]);
        }
      }
      if (gcpRows.length > 0) {
        lines.push(
          ...table(['PROJECT', 'LOCATION', 'SERVICE', 'ID', 'STATE', 'BANDWIDTH', 'DETAIL'], gcpRows),
        );
      }
      return lines;
    });
  },
};

const clock: Command = {
  noun: 'sim',
  verb: 'clock',
  args: 'show | advance <duration> | scale <n> | mode manual|scaled',
  summary: 'read or move the virtual clock',
  example: 'crosslink sim clock advance 5m',
  positionals: { min: 1, max: 2 },
  async run(ctx) {
    const [action, value] = ctx.positionals as [string, string | undefined];
    const need = (what: string) => {
      if (value === undefined)
        throw new UsageError(`missing argument: crosslink sim clock ${action} <${what}>`);
      return value;
    };
    let body: Json;
    const base = await adminUrl(ctx);
    if (action === 'show') body = await callAdmin(base, 'GET', '/clock');
    else if (action === 'advance') {
      const by = need('duration');
      try {
        parseDuration(by);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      body = await callAdmin(base, 'POST', '/clock/advance', { by });
    } else if (action === 'scale') {
      const scale = Number(need('n'));
      if (!(scale > 0)) throw new UsageError(`scale must be a positive number, got "${value}"`);
      body = await callAdmin(base, 'POST', '/clock/scale', { scale });
    } else if (action === 'mode') body = await callAdmin(base, 'POST', '/clock/mode', { mode: need('mode') });
    else throw new UsageError(`unknown clock action "${action}": show, advance, scale or mode`);
    return print(ctx, body, () => [clockLine(body)]);
  },
};

function faultLine(f: Json): string {
  const parts = [`${f.id} ${f.kind} ${f.service}${f.operation ? `.${f.operation}` : ''}`];
  if (f.rate !== undefined) parts.push(`rate ${f.rate}`);
  if (f.count !== undefined) parts.push(`count ${f.count}`);
  if (f.latencyMs !== undefined) parts.push(`${f.latencyMs}ms`);
  if (f.status !== undefined) parts.push(`status ${f.status}`);
  if (f.state !== undefined) parts.push(`${f.resource ?? 'all'} held in ${f.state}`);
  if (f.edge === 'gcp') parts.push('on gcp');
  parts.push(`fired ${f.fired}`);
  return parts.join(' ');
}

const FAULT_KINDS = ['throttle', 'error', 'latency', 'stuck', 'drop', 'duplicate', 'reorder', 'crash'];

const fault: Command = {
  noun: 'sim',
  verb: 'fault',
  args: 'throttle|error|latency|stuck|drop|duplicate|reorder|crash --service <s> [...] | list | clear [<id>]',
  summary: 'inject, list or clear faults on the local cloud',
  example: 'crosslink sim fault throttle --service interconnect --rate 0.3',
  positionals: { min: 1, max: 2 },
  options: {
    service: {
      type: 'string',
      description: 'service name (interconnect, ec2, ...) or *; deliveries: pubsub or sqs',
    },
    operation: {
      type: 'string',
      description: 'one operation (default all); deliveries: the subscription id or queue name',
    },
    rate: { type: 'string', description: 'probability per call, 0..1 (default 1)' },
    count: { type: 'string', description: 'only the next N matching calls' },
    latency: {
      type: 'string',
      description: 'latency: delay (e.g. 2s, 500ms); reorder: the longest hold (default 1500ms)',
    },
    status: { type: 'string', description: 'error: HTTP status (default the service server error)' },
    resource: { type: 'string', description: 'stuck: the resource id (default every resource)' },
    state: { type: 'string', description: 'stuck: the state it is held in' },
    edge: { type: 'string', description: 'aws (default; gcp for pubsub deliveries) or gcp' },
  },
  async run(ctx) {
    const [action, id] = ctx.positionals as [string, string | undefined];
    const base = await adminUrl(ctx);
    if (action === 'list') {
      const body = await callAdmin(base, 'GET', '/faults');
      const faults = body.faults as Json[];
      return print(ctx, body, () => (faults.length === 0 ? ['no faults'] : faults.map(faultLine)));
    }
    if (action === 'clear') {
      const body = await callAdmin(base, 'DELETE', id ? `/faults/${encodeURIComponent(id)}` : '/faults');
      return print(ctx, body, () => [id ? `removed ${id}` : 'all faults cleared']);
    }
    if (!FAULT_KINDS.includes(action)) {
      throw new UsageError(`unknown fault "${action}": ${FAULT_KINDS.join(', ')}, list or clear`);
    }
    if (id !== undefined) throw new UsageError(`unexpected argument "${id}"`);
    const o = ctx.options;
    if (typeof o.service !== 'string')
      throw new UsageError('--service is required (e.g. --service interconnect)');
    const num = (name: string) => {
      const v = o[name];
      if (typeof v !== 'string') return undefined;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${v}"`);
      return n;
    };
    if (typeof o.edge === 'string' && o.edge !== 'aws' && o.edge !== 'gcp')
      throw new UsageError(`--edge must be aws or gcp, got "${o.edge}"`);
    let latencyMs: number | undefined;
    if (typeof o.latency === 'string') {
      try {
        latencyMs = parseDuration(o.latency);
      } catch (e) {
        throw new UsageError(`--latency: ${(e as Error).message}`);
      }
    }
    const spec: Json = {
      kind: action,
      service: o.service,
      operation: o.operation,
      rate: num('rate'),
      count: num('count'),
      latencyMs,
      status: num('status'),
      resource: o.resource,
      state: o.state,
      edge: o.edge,
    };
    const body = await callAdmin(base, 'POST', '/faults', JSON.parse(JSON.stringify(spec)));
    return print(ctx, body.fault, () => [`added ${faultLine(body.fault as Json)}`]);
  },
};

const seed: Command = {
  noun: 'sim',
  verb: 'seed',
  args: '<n>',
  summary: 'reseed the local cloud randomness (faults, ids) to replay a run',
  example: 'crosslink sim seed 42',
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const n = Number(ctx.positionals[0]);
    if (!Number.isInteger(n)) throw new UsageError(`seed must be an integer, got "${ctx.positionals[0]}"`);
    const body = await callAdmin(await adminUrl(ctx), 'POST', '/seed', { seed: n });
    return print(ctx, body, () => [`seed ${body.seed}`]);
  },
};

const partner: Command = {
  noun: 'sim',
  verb: 'partner',
  args: 'redeem <key> | issue | down <id> | up <id> | fail <id>',
  summary:
    'play the remote provider of an AWS Interconnect connection: redeem or issue a key, take a connection down or up, fail it',
  example: 'crosslink sim partner issue --account 000000000000 --bandwidth 1Gbps',
  positionals: { min: 1, max: 2 },
  options: {
    'remote-account': { type: 'string', description: 'redeem: the partner account redeeming the key' },
    bandwidth: { type: 'string', description: 'redeem / issue: the bandwidth (e.g. 1Gbps)' },
    account: { type: 'string', description: 'issue: the AWS account the key is for (12 digits)' },
    environment: { type: 'string', description: 'issue: the Interconnect environment id' },
    region: { type: 'string', description: 'issue: the AWS region (when no --environment)' },
  },
  async run(ctx) {
    const [action, arg] = ctx.positionals as [string, string | undefined];
    const base = await adminUrl(ctx);
    const o = ctx.options as Record<string, string | undefined>;
    const needArg = (what: string) => {
      if (!arg) throw new UsageError(`missing argument: crosslink sim partner ${action} <${what}>`);
      return arg;
    };
    let body: Json;
    if (action === 'redeem') {
      body = await callAdmin(base, 'POST', '/aws/interconnect/redeem-key', {
        activationKey: needArg('key'),
        remoteAccountId: o['remote-account'],
        bandwidth: o.bandwidth,
      });
    } else if (action === 'issue') {
      if (!o.account) throw new UsageError('--account is required: the AWS account the key is for');
      body = await callAdmin(base, 'POST', '/aws/interconnect/issue-key', {
        destinationAccountId: o.account,
        bandwidth: o.bandwidth ?? '1Gbps',
        environmentId: o.environment,
        region: o.region,
      });
      return print(ctx, body, () => [String(body.activationKey), `shared id ${body.sharedId}`]);
    } else if (action === 'down' || action === 'up') {
      body = await callAdmin(base, 'POST', '/aws/interconnect/set-link', {
        identifier: needArg('id'),
        up: action === 'up',
      });
    } else if (action === 'fail') {
      body = await callAdmin(base, 'POST', '/aws/interconnect/fail', { identifier: needArg('id') });
    } else {
      throw new UsageError(`unknown partner action "${action}": redeem, issue, down, up or fail`);
    }
    const c = body.connection as Json;
    return print(ctx, body, () => [`${c.id} ${c.state} (${c.bandwidth}, shared id ${c.sharedId})`]);
  },
};

export const simCommands: Command[] = [status, clock, fault, seed, partner];
