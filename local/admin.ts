/**
 * The admin API of the local cloud, served by the AWS edge under /_crosslink/ (JSON in, JSON out,
 * no auth: the edges listen on 127.0.0.1 only). It is what `crosslink sim ...` and the tests use
 * to drive time, inject faults, look at what the simulated accounts hold, and play the remote
 * provider. Routes (see docs/local-cloud.md):
 *
 *   GET    /_crosslink/status
 *   GET    /_crosslink/clock                 POST /_crosslink/clock/advance {by: "5m" | ms}
 *   POST   /_crosslink/clock/scale {scale}   POST /_crosslink/clock/mode {mode}
 *   GET    /_crosslink/faults                POST /_crosslink/faults {FaultSpec}
 *   DELETE /_crosslink/faults[/<id>]         POST /_crosslink/seed {seed}
 *   POST   /_crosslink/aws/<service>/<action> {...}   (a module's admin actions)
 *   POST   /_crosslink/aws/stacks {stackName, template, accountId?, region?}   (the world's Route 53 / ARC)
 *   POST   /_crosslink/gcp/<service>/<action> {...}   (a Google module's admin actions)
 *   POST   /_crosslink/world/<action> {...}           (links between the clouds: faults, routes)
 */
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '#core/clock.ts';
import type { AwsEdge } from './aws/edge.ts';
import { deployStack } from './aws/wiring.ts';
import type { VirtualClock } from './clock.ts';
import type { FaultRegistry, FaultSpec } from './faults.ts';
import type { GcpEdge } from './gcp/edge.ts';
import type { Random } from './random.ts';

export interface AdminDeps {
  clock: VirtualClock;
  faults: FaultRegistry;
  random: Random;
  aws: AwsEdge;
  gcp?: GcpEdge;
  world?: { admin: Record<string, (body: Record<string, unknown>) => unknown> };
}

type Result = { status: number; body: unknown } | undefined;

class AdminError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const ok = (body: unknown, status = 200): Result => ({ status, body });

function durationOf(v: unknown): number {
  if (typeof v === 'number' && v >= 0) return v;
  if (typeof v === 'string') return parseDuration(v);
  throw new RangeError('by must be a duration (e.g. "90s", "5m", "1h30m") or milliseconds');
}

export function createAdmin(deps: AdminDeps) {
  return async (method: string, path: string, body: unknown): Promise<Result> => {
    const b = (body ?? {}) as Record<string, unknown>;
    const parts = path.split('/').filter(Boolean).slice(1); // drop "_crosslink"
    const route = `${method} /${parts.join('/')}`;

    if (route === 'GET /status') {
      return ok({
        clock: deps.clock.describe(),
        seed: deps.random.seed,
        faults: deps.faults.list(),
        aws: { endpoint: deps.aws.endpoint, accounts: deps.aws.status() },
        ...(deps.gcp ? { gcp: { endpoint: deps.gcp.endpoint, projects: deps.gcp.status() } } : {}),
      });
    }
    if (route === 'GET /clock') return ok(deps.clock.describe());
    if (route === 'POST /clock/advance') {
      await deps.clock.advance(durationOf(b.by));
      return ok(deps.clock.describe());
    }
    if (route === 'POST /clock/scale') {
      deps.clock.setScale(Number(b.scale));
      return ok(deps.clock.describe());
    }
    if (route === 'POST /clock/mode') {
      if (b.mode !== 'manual' && b.mode !== 'scaled') throw new RangeError('mode must be manual or scaled');
      deps.clock.setMode(b.mode);
      return ok(deps.clock.describe());
    }
    if (route === 'GET /faults') return ok({ faults: deps.faults.list() });
    if (route === 'POST /faults') return ok({ fault: deps.faults.add(b as unknown as FaultSpec) }, 201);
    if (route === 'DELETE /faults') {
      deps.faults.clear();
      return ok({ faults: [] });
    }
    if (method === 'DELETE' && parts[0] === 'faults' && parts.length === 2) {
      if (!deps.faults.remove(parts[1] as string))
        throw new AdminError(404, 'NotFound', `no fault ${parts[1]}`);
      return ok({ removed: parts[1] });
    }
    if (route === 'POST /seed') {
      if (!Number.isInteger(b.seed)) throw new RangeError('seed must be an integer');
      deps.random.reseed(b.seed as number);
      return ok({ seed: deps.random.seed });
    }
    if (route === 'POST /aws/stacks') {
      let template = b.template;
      if (typeof template === 'string') {
        try {
          template = parseYaml(template);
        } catch (err) {
          throw new RangeError(`template: not YAML or JSON (${(err as Error).message})`);
        }
      }
      const accountId = typeof b.accountId === 'string' ? b.accountId : '000000000000';
      const region = typeof b.region === 'string' ? b.region : deps.aws.world.defaultRegion;
      if (typeof b.stackName !== 'string') throw new RangeError('stackName is required');
      return ok(
        await deployStack(deps.aws.world, { stackName: b.stackName, template, accountId, region }),
        201,
      );
    }
    if (method === 'POST' && parts[0] === 'aws' && parts.length === 3) {
      const service = deps.aws.services.get(parts[1] as string);
      const action = service?.admin?.[parts[2] as string];
      if (!action) throw new AdminError(404, 'NotFound', `no admin action aws/${parts[1]}/${parts[2]}`);
      return ok(await action(b, deps.aws.world));
    }
    if (method === 'POST' && parts[0] === 'world' && parts.length === 2 && deps.world) {
      const action = deps.world.admin[parts[1] as string];
      if (!action) throw new AdminError(404, 'NotFound', `no world action ${parts[1]}`);
      return ok(await action(b));
    }
    if (method === 'POST' && parts[0] === 'gcp' && parts.length === 3 && deps.gcp) {
      const service = deps.gcp.services.get(parts[1] as string);
      const action = service?.admin?.[parts[2] as string];
      if (!action) throw new AdminError(404, 'NotFound', `no admin action gcp/${parts[1]}/${parts[2]}`);
      return ok(await action(b, deps.gcp.world));
    }
    if (method === 'GET' && parts[0] === 'aws' && parts.length === 1) {
      return ok({
        services: [...deps.aws.services.values()].map((s) => ({
          name: s.name,
          protocol: s.protocol,
          operations: Object.keys(s.operations),
          admin: Object.keys(s.admin ?? {}),
        })),
      });
    }
    return undefined;
  };
}
