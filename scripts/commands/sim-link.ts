/**
 * `crosslink sim link ...`: the world between the clouds (local/world.ts, docs/local-cloud-gcp.md):
 * list the links, show one, and inject its faults (down / up, flapping, an expiring key, a Google
 * region outage). Local target only.
 */
import { parseDuration } from '#core/clock.ts';
import type { Command } from '../cli/command.ts';
import { UsageError } from '../cli/errors.ts';
import { table } from '../cli/table.ts';
import { adminUrl, callAdmin, print } from './sim.ts';

type Json = Record<string, unknown>;

function linkRow(l: Json): string[] {
  const aws = l.aws as Json | null;
  const gcp = l.gcp as Json | null;
  return [
    String(l.sharedId),
    aws ? `${aws.connectionId} ${aws.state}` : '-',
    gcp ? `${String(gcp.name).split('/').pop()} ${gcp.state}${gcp.adminEnabled ? '' : ' (disabled)'}` : '-',
    l.up ? 'up' : 'not up',
    ((l.downReasons as string[]) ?? []).join(',') || '-',
    bgpCell(l),
  ];
}

/** `2/2 up`, `1/2 up (flapping)`. */
function bgpCell(l: Json): string {
  const sessions = (l.bgpSessions as { up: boolean }[] | undefined) ?? [];
  if (sessions.length === 0) return '-';
  const up = sessions.filter((x) => x.up).length;
  return `${up}/${sessions.length} up${l.bgpFlapping ? ' (flapping)' : ''}`;
}

const HEAD = ['SHARED ID', 'AWS', 'GOOGLE', 'LINK', 'DOWN BECAUSE', 'BGP'];

const link: Command = {
  noun: 'sim',
  verb: 'link',
  args: 'list | down <sharedId> [--bgp <n|all>] | up <sharedId> [--bgp all] | flap <sharedId> [--period 30s] [--bgp <n|all>] | steady <sharedId> | expire-key <sharedId> | outage <gcp-region> [--off]',
  summary: 'the links between the simulated clouds and their faults',
  example: 'crosslink sim link down 3f1c2a4e-0b7d-4a55-9c1e-5d2b8f6a7c90',
  positionals: { min: 1, max: 2 },
  options: {
    period: { type: 'string', description: 'flap: how long each down / up lasts (default 30s)' },
    off: { type: 'boolean', description: 'outage: end it' },
    bgp: {
      type: 'string',
      description:
        'down / flap: that many of the link BGP sessions (1, 2 or all) while the connection stays up; up --bgp all: every session up',
    },
  },
  async run(ctx) {
    const [action, arg] = ctx.positionals as [string, string | undefined];
    const base = await adminUrl(ctx);
    const need = (what: string) => {
      if (!arg) throw new UsageError(`missing argument: crosslink sim link ${action} <${what}>`);
      return arg;
    };
    if (action === 'list') {
      const body = await callAdmin(base, 'POST', '/world/links', {});
      const links = body.links as Json[];
      return print(ctx, body, () =>
        links.length === 0 ? ['no links yet'] : table(HEAD, links.map(linkRow)),
      );
    }
    if (action === 'outage') {
      const body = await callAdmin(base, 'POST', '/world/region-outage', {
        gcpRegion: need('gcp-region'),
        on: ctx.options.off !== true,
      });
      return print(ctx, body, () => [`${body.gcpRegion}: outage ${body.on ? 'on' : 'off'}`]);
    }
    const bgp = ctx.options.bgp;
    if (typeof bgp === 'string') {
      if (!/^(\d+|all)$/.test(bgp)) throw new UsageError(`--bgp: "${bgp}" is not a session count or all`);
      const routes: Record<string, string> = { down: 'bgp-down', up: 'bgp-up', flap: 'bgp-flap' };
      const route = routes[action];
      if (!route) throw new UsageError(`--bgp goes with down, up or flap, not ${action}`);
      const payload: Json = { sharedId: need('sharedId') };
      if (action !== 'up') payload.sessions = bgp === 'all' ? 'all' : Number(bgp);
      if (action === 'flap') payload.period = periodOf(ctx.options.period);
      const body = await callAdmin(base, 'POST', `/world/${route}`, payload);
      return print(ctx, body, () => table(HEAD, [linkRow(body)]));
    }
    const actions: Record<string, string> = {
      down: 'link-down',
      up: 'link-up',
      flap: 'flap',
      steady: 'flap-stop',
      'expire-key': 'expire-key',
    };
    const route = actions[action];
    if (!route)
      throw new UsageError(`unknown action "${action}": list, down, up, flap, steady, expire-key or outage`);
    const payload: Json = { sharedId: need('sharedId') };
    if (action === 'flap') payload.period = periodOf(ctx.options.period);
    const body = await callAdmin(base, 'POST', `/world/${route}`, payload);
    if (action === 'expire-key')
      return print(ctx, body, () => [`key of ${body.sharedId} expired on ${body.expired}`]);
    return print(ctx, body, () => table(HEAD, [linkRow(body)]));
  },
};

/** `--period`, checked here so a bad one is a usage error (default 30s). */
function periodOf(v: unknown): string {
  const period = typeof v === 'string' ? v : '30s';
  try {
    parseDuration(period);
  } catch (e) {
    throw new UsageError(`--period: ${(e as Error).message}`);
  }
  return period;
}

export const simLinkCommands: Command[] = [link];
