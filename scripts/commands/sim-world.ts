/**
 * `crosslink sim region | service | vantage | relay`: the protected service's world on the local
 * cloud (docs/protected-service.md): region outages on either cloud, the sample service (status,
 * scaling, draining, promotion, replication stalling), a vantage point's own network failing, and
 * the relay between the clouds cut. Local target only.
 */
import type { Command } from '../cli/command.ts';
import { UsageError } from '../cli/errors.ts';
import { table } from '../cli/table.ts';
import { adminUrl, callAdmin, print } from './sim.ts';

type Json = Record<string, unknown>;

function cloudArg(v: string | undefined): 'aws' | 'gcp' {
  if (v !== 'aws' && v !== 'gcp') throw new UsageError(`cloud: "${v ?? ''}" is not aws or gcp`);
  return v;
}

const region: Command = {
  noun: 'sim',
  verb: 'region',
  args: 'outage <aws|gcp> <region> [--off]',
  summary: "a region outage: the protected service's side there and health checks of it fail",
  example: 'crosslink sim region outage gcp us-central1',
  positionals: { min: 3, max: 3 },
  options: { off: { type: 'boolean', description: 'end the outage' } },
  async run(ctx) {
    const [action, cloud, name] = ctx.positionals as [string, string, string];
    if (action !== 'outage') throw new UsageError(`unknown action "${action}": outage`);
    const body = await callAdmin(await adminUrl(ctx), 'POST', '/world/region-outage', {
      cloud: cloudArg(cloud),
      region: name,
      on: ctx.options.off !== true,
    });
    return print(ctx, body, () => [`${body.cloud} ${body.region}: outage ${body.on ? 'on' : 'off'}`]);
  },
};

function serviceRows(s: Json): string[][] {
  const db = s.database as Record<string, Json>;
  return (['aws', 'gcp'] as const).map((c) => {
    const side = s[c] as Json;
    const node = db[c] as Json;
    return [
      String(s.name),
      c,
      String(side.region),
      String(side.serving),
      `${side.running}/${side.desired}`,
      node.fenced === true ? `${node.role} (fenced)` : String(node.role),
      `${Math.round(Number(node.lagMs) / 1000)}s`,
    ];
  });
}

const SERVICE_HEAD = ['SERVICE', 'CLOUD', 'REGION', 'SERVING', 'TASKS', 'DATABASE', 'LAG'];

const service: Command = {
  noun: 'sim',
  verb: 'service',
  args: 'status|scale|drain|promote|demote|fence|stall <name> [aws|gcp] [tasks] [--off]',
  summary: 'the sample protected service: its sides, scaling, promotion, fences, replication stalls',
  example: 'crosslink sim service promote payments-api gcp',
  positionals: { min: 1, max: 4 },
  options: { off: { type: 'boolean', description: 'drain / stall: end it' } },
  async run(ctx) {
    const [action, name, cloud, count] = ctx.positionals as [string, string?, string?, string?];
    const base = await adminUrl(ctx);
    if (action === 'status' && !name) {
      const body = await callAdmin(base, 'POST', '/world/services', {});
      const list = body.services as Json[];
      return print(ctx, body, () =>
        list.length === 0 ? ['no protected services'] : table(SERVICE_HEAD, list.flatMap(serviceRows)),
      );
    }
    if (!name) throw new UsageError(`missing argument: crosslink sim service ${action} <name>`);
    const on = ctx.options.off !== true;
    const calls: Record<string, () => [string, Json]> = {
      status: () => ['service', { name }],
      scale: () => {
        if (!/^\d+$/.test(count ?? '')) throw new UsageError(`tasks: "${count ?? ''}" is not a whole number`);
        return ['service-scale', { name, cloud: cloudArg(cloud), capacity: Number(count) }];
      },
      drain: () => ['service-drain', { name, cloud: cloudArg(cloud), on }],
      promote: () => ['service-promote', { name, cloud: cloudArg(cloud) }],
      demote: () => ['service-demote', { name, cloud: cloudArg(cloud) }],
      fence: () => ['service-fence', { name, cloud: cloudArg(cloud) }],
      stall: () => ['replication-stall', { name, on }],
    };
    const call = calls[action];
    if (!call) throw new UsageError(`unknown action "${action}": ${Object.keys(calls).join(', ')}`);
    const [route, payload] = call();
    const body = await callAdmin(base, 'POST', `/world/${route}`, payload);
    if (action === 'promote') {
      return print(ctx, body, () => [
        `${name}: ${cloud} promoted; ${body.lostWrites} writes lost (lag ${Math.round(Number(body.lagMs) / 1000)}s)`,
      ]);
    }
    if (action === 'demote') {
      return print(ctx, body, () => [`${name}: ${cloud} demoted; ${body.discardedWrites} writes discarded`]);
    }
    if (action === 'fence') {
      return print(ctx, body, () => [`${name}: ${cloud} fenced (a ${body.role}): its writes are refused`]);
    }
    if (action === 'scale') {
      return print(ctx, body, () => [`${name} ${cloud}: ${body.running} of ${body.desired} tasks running`]);
    }
    return print(ctx, body, () => table(SERVICE_HEAD, serviceRows(body)));
  },
};

const vantage: Command = {
  noun: 'sim',
  verb: 'vantage',
  args: 'down|up <vantage-id>',
  summary: "a vantage point's own network fails (its probes reach nothing) or recovers",
  example: 'crosslink sim vantage down gcp-us-west1',
  positionals: { min: 2, max: 2 },
  async run(ctx) {
    const [action, id] = ctx.positionals as [string, string];
    if (action !== 'down' && action !== 'up') throw new UsageError(`unknown action "${action}": down or up`);
    const body = await callAdmin(await adminUrl(ctx), 'POST', '/world/vantage-network', {
      vantage: id,
      on: action === 'down',
    });
    const down = body.vantageNetworkDown as string[];
    return print(ctx, body, () => [`vantage points with their network down: ${down.join(', ') || 'none'}`]);
  },
};

const relay: Command = {
  noun: 'sim',
  verb: 'relay',
  args: 'partition [--off]',
  summary: 'cut the relay between the clouds (each side keeps its own events) or heal it',
  example: 'crosslink sim relay partition',
  positionals: { min: 1, max: 1 },
  options: { off: { type: 'boolean', description: 'heal the partition' } },
  async run(ctx) {
    const [action] = ctx.positionals as [string];
    if (action !== 'partition') throw new UsageError(`unknown action "${action}": partition`);
    const body = await callAdmin(await adminUrl(ctx), 'POST', '/world/relay-partition', {
      on: ctx.options.off !== true,
    });
    return print(ctx, body, () => [
      `relay between the clouds: ${body.relayPartitioned ? 'cut' : 'connected'}`,
    ]);
  },
};

export const simWorldCommands: Command[] = [region, service, vantage, relay];
