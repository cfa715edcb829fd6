/**
 * The relay's dead letters from the command line (docs/relay.md, "Dead letters and redrive"):
 *
 * - `crosslink relay dead-letters ls [--side aws|gcp] [--max N]`: what each direction dead-lettered,
 *   with the event id and type, why, and how often it was tried; nothing is taken;
 * - `crosslink relay redrive [--side aws|gcp] [--max N]`: moves them back into the relay, which
 *   delivers them again; the receivers drop an event id they applied before, so a redrive of
 *   something that got through after all changes nothing.
 *
 * AWS: the relay's queues in the stage (`--stage`, default dev), as the `--as` identity on the local
 * cloud or with the default credentials and `--region` with `--target cloud`. Google: the Pub/Sub
 * emulator of the local cloud (it has no IAM), or Pub/Sub in `--project` (default
 * `CROSSLINK_GCP_PROJECT`) with the application default credentials with `--target cloud`.
 */
import { GoogleAuth } from 'google-auth-library';
import { CLOUD_PLATFORM } from '#gcp/google-credentials.ts';
import type { Command, CommandContext } from '../cli/command.ts';
import { EXIT, UsageError } from '../cli/errors.ts';
import { PubsubRelayDeadLetters, SqsRelayDeadLetters } from '../cli/relay-dead-letters.ts';
import { table } from '../cli/table.ts';
import { awsSide } from './vpn-runs.ts';

type Side = 'aws' | 'gcp';

/** `--side` (both when absent) and `--max` (default 100), refused with the flag and the reason. */
function sidesAndMax(ctx: CommandContext): { sides: Side[]; max: number } {
  const side = ctx.options.side;
  if (side !== undefined && side !== 'aws' && side !== 'gcp')
    throw new UsageError(`--side must be aws or gcp, got "${String(side)}"`);
  const raw = (ctx.options.max as string | undefined) ?? '100';
  const max = Number(raw);
  if (!Number.isInteger(max) || max < 1 || max > 10_000)
    throw new UsageError(`--max must be a whole number from 1 to 10000, got "${raw}"`);
  return { sides: side ? [side] : ['aws', 'gcp'], max };
}

async function sqsSide(ctx: CommandContext): Promise<SqsRelayDeadLetters> {
  const side = await awsSide(ctx);
  return new SqsRelayDeadLetters(side.config, side.stage);
}

async function pubsubSide(ctx: CommandContext): Promise<PubsubRelayDeadLetters> {
  const target = await ctx.resolveTarget();
  if (target.kind === 'local') {
    const host = target.local.pubsubEmulatorHost;
    if (!host || !target.local.gcp)
      throw new UsageError(
        'the local cloud runs without the Pub/Sub emulator: Google has no relay dead letters',
      );
    return new PubsubRelayDeadLetters({ endpoint: `http://${host}`, project: target.local.gcp.project });
  }
  const project = (ctx.options.project as string | undefined) ?? ctx.io.env.CROSSLINK_GCP_PROJECT;
  if (!project)
    throw new UsageError(
      '--project is required with --target cloud (or set CROSSLINK_GCP_PROJECT): the hub project',
    );
  const auth = new GoogleAuth({ scopes: [CLOUD_PLATFORM] });
  return new PubsubRelayDeadLetters({
    endpoint: 'https://pubsub.googleapis.com',
    project,
    token: async () => {
      const t = await auth.getAccessToken();
      if (!t) throw new UsageError('no Google access token from the application default credentials');
      return t;
    },
  });
}

/** Runs `f` on each side's dead-letter place, in order, closing each after. */
async function onEachSide<T>(
  ctx: CommandContext,
  sides: Side[],
  f: (place: SqsRelayDeadLetters | PubsubRelayDeadLetters) => Promise<T>,
): Promise<T[]> {
  const out: T[] = [];
  for (const side of sides) {
    const place = side === 'aws' ? await sqsSide(ctx) : await pubsubSide(ctx);
    try {
      out.push(await f(place));
    } finally {
      place.close();
    }
  }
  return out;
}

const OPTIONS: Command['options'] = {
  side: {
    type: 'string',
    description: 'aws (the AWS -> Google direction) or gcp (Google -> AWS); default both',
  },
  max: { type: 'string', description: 'at most this many messages per side (default 100)' },
  stage: { type: 'string', description: 'the AWS stage (default dev)' },
  region: { type: 'string', description: "the relay's AWS region (with --target cloud)" },
  project: { type: 'string', description: 'the Google hub project (with --target cloud)' },
};

const deadLetters: Command = {
  noun: 'relay',
  verb: 'dead-letters',
  args: 'ls',
  summary: "list the relay's dead letters on each side: event, why, attempts (nothing is taken)",
  example: 'crosslink relay dead-letters ls --side aws',
  positionals: { min: 1, max: 1 },
  options: OPTIONS,
  async run(ctx) {
    if (ctx.positionals[0] !== 'ls') throw new UsageError('use: relay dead-letters ls');
    const { sides, max } = sidesAndMax(ctx);
    const all = (await onEachSide(ctx, sides, (place) => place.list(max))).flat();
    if (ctx.global.json) ctx.io.out(JSON.stringify(all, null, 2));
    else if (all.length === 0) ctx.io.out(`no dead letters (${sides.join(', ')})`);
    else
      for (const line of table(
        ['SIDE', 'EVENT', 'TYPE', 'ATTEMPTS', 'SENT', 'WHY'],
        all.map((d) => [
          d.side,
          d.eventId ?? '-',
          d.type ?? '-',
          d.attempts === null ? '-' : String(d.attempts),
          d.sentAt ?? '-',
          d.reason ?? '-',
        ]),
      ))
        ctx.io.out(line);
    return EXIT.ok;
  },
};

const redrive: Command = {
  noun: 'relay',
  verb: 'redrive',
  args: '',
  summary: "move the relay's dead letters back into the relay, which delivers them again",
  example: 'crosslink relay redrive --side aws --max 50',
  positionals: { min: 0, max: 0 },
  options: OPTIONS,
  async run(ctx) {
    const { sides, max } = sidesAndMax(ctx);
    const results = await onEachSide(ctx, sides, (place) => place.redrive(max));
    if (ctx.global.json) ctx.io.out(JSON.stringify(results, null, 2));
    else
      for (const r of results)
        ctx.io.out(`${r.side}: ${r.moved} moved from ${r.from} to ${r.to}, ${r.left} left`);
    return EXIT.ok;
  },
};

export const relayCommands: Command[] = [deadLetters, redrive];
