/**
 * `crosslink sim region outage <aws|gcp> <region> [--off]`: a whole region of one cloud goes out, or
 * comes back (local/world/region-outages.ts; on AWS: the ARC cluster endpoint there, Route 53
 * checkers there, the world's endpoints there; on Google: TransportManager and the world's endpoints
 * there; on both: the Interconnect environments of the region's pairs). Local target only.
 */
import type { Command } from '../cli/command.ts';
import { UsageError } from '../cli/errors.ts';
import { adminUrl, callAdmin, print } from './sim.ts';

const region: Command = {
  noun: 'sim',
  verb: 'region',
  args: 'outage <aws|gcp> <region> [--off]',
  summary: 'a region of one simulated cloud goes out, or comes back',
  example: 'crosslink sim region outage aws us-east-1',
  positionals: { min: 3, max: 3 },
  options: { off: { type: 'boolean', description: 'end the outage' } },
  async run(ctx) {
    const [action, cloud, name] = ctx.positionals as [string, string, string];
    if (action !== 'outage') throw new UsageError(`unknown action "${action}": outage`);
    if (cloud !== 'aws' && cloud !== 'gcp') throw new UsageError(`<cloud>: "${cloud}" must be aws or gcp`);
    const base = await adminUrl(ctx);
    const body = await callAdmin(base, 'POST', '/world/region-outage', {
      cloud,
      region: name,
      on: ctx.options.off !== true,
    });
    const out = (body.outages as string[] | undefined) ?? [];
    return print(ctx, body, () => [
      `${cloud} ${name}: outage ${body.on ? 'on' : 'off'}`,
      `regions out: ${out.length > 0 ? out.join(', ') : 'none'}`,
    ]);
  },
};

export const simRegionCommands: Command[] = [region];
