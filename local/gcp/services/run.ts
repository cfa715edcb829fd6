/**
 * Cloud Run Admin API v2 subset (run.googleapis.com; docs/protected-service.md "Compute"): the
 * Google side of each protected service is the Cloud Run service
 * `projects/{project}/locations/{region}/services/{name}` (its side's project and region), read with
 * `services.get` and scaled with `services.patch` (`UpdateService`): service-level `scaling`,
 * `scalingMode: MANUAL` with `manualInstanceCount`, or `AUTOMATIC` with `minInstanceCount` (the
 * instances kept warm), from 0 to 1000. The update is a long-running operation, done once the new
 * instances run (the service's startup time later), with the service as its response; `etag`, when
 * given, must match (409 ABORTED otherwise). Other fields of the service (containers, traffic,
 * ingress) are not modelled and a mask naming them is refused.
 */
import { randomUUID } from 'node:crypto';
import { serviceWorldOf } from '#local/world/protected-service.ts';
import { encodeEnums, enumName } from '../enums.ts';
import { GcpError, invalidArgument, notFound } from '../errors.ts';
import { defineGcpService, type GcpRequestContext } from '../service.ts';

const TYPE = 'type.googleapis.com/google.cloud.run.v2.Service';
const BASE = '/v2/projects/{project}/locations/{location}';
const MAX_INSTANCES = 1000;
/** google.cloud.run.v2 enums, for the REST fallback's `enum-encoding=int`. */
const SCALING_MODE = { SCALING_MODE_UNSPECIFIED: 0, AUTOMATIC: 1, MANUAL: 2 };
const ENUMS = {
  'scaling.scalingMode': SCALING_MODE,
  'terminalCondition.state': {
    STATE_UNSPECIFIED: 0,
    CONDITION_PENDING: 1,
    CONDITION_RECONCILING: 2,
    CONDITION_FAILED: 3,
    CONDITION_SUCCEEDED: 4,
  },
  ingress: { INGRESS_TRAFFIC_UNSPECIFIED: 0, INGRESS_TRAFFIC_ALL: 1 },
  launchStage: { LAUNCH_STAGE_UNSPECIFIED: 0, GA: 4 },
};

interface RunRecord {
  uid: string;
  generation: number;
  createTime: number;
  updateTime: number;
  mode: 'AUTOMATIC' | 'MANUAL';
}

interface Operation {
  name: string;
  target: string;
  doneAt: number;
  createTime: number;
}

interface RunState {
  services: Map<string, RunRecord>;
  operations: Map<string, Operation>;
}

type Ctx = GcpRequestContext<RunState>;

/** The protected service behind a Cloud Run service name, and its run record. */
function serviceOf(ctx: Ctx, id: string) {
  const { project, location } = ctx.params as { project: string; location: string };
  const name = `projects/${project}/locations/${location}/services/${id}`;
  const service = serviceWorldOf(ctx.clock).services.get(id);
  const side = service?.side('gcp');
  if (!service || !side || side.region !== location || (side.project ?? ctx.world.project) !== project) {
    throw notFound(`Resource '${name}' was not found`);
  }
  let record = ctx.state.services.get(name);
  if (!record) {
    const now = ctx.clock.now();
    record = { uid: randomUUID(), generation: 1, createTime: now, updateTime: now, mode: 'AUTOMATIC' };
    ctx.state.services.set(name, record);
  }
  return { name, service, record };
}

function view(ctx: Ctx, id: string) {
  const { name, service, record } = serviceOf(ctx, id);
  const desired = service.side('gcp').desired;
  const iso = (ms: number) => new Date(ms).toISOString();
  const ready = service.running('gcp') >= desired;
  return encodeEnums(
    ctx,
    {
      '@type': TYPE,
      name,
      uid: record.uid,
      generation: String(record.generation),
      observedGeneration: String(record.generation),
      createTime: iso(record.createTime),
      updateTime: iso(record.updateTime),
      launchStage: 'GA',
      ingress: 'INGRESS_TRAFFIC_ALL',
      scaling:
        record.mode === 'MANUAL'
          ? { scalingMode: 'MANUAL', manualInstanceCount: desired }
          : { scalingMode: 'AUTOMATIC', minInstanceCount: desired },
      reconciling: !ready,
      terminalCondition: {
        type: 'Ready',
        state: ready ? 'CONDITION_SUCCEEDED' : 'CONDITION_RECONCILING',
        lastTransitionTime: iso(record.updateTime),
      },
      uri: `https://${id}-${record.uid.slice(0, 10)}.${location(name)}.run.app`,
      etag: `"${record.generation}-${record.updateTime.toString(16)}"`,
    },
    ENUMS,
  );
}

const location = (name: string) => name.split('/')[3] as string;

/** The instance count a `scaling` asks for (and its mode), or a refusal naming the field. */
function scalingOf(raw: unknown): { mode: 'AUTOMATIC' | 'MANUAL'; count: number } {
  if (!raw || typeof raw !== 'object')
    throw invalidArgument('service.scaling is required', 'service.scaling');
  const s = raw as Record<string, unknown>;
  const mode = enumName(SCALING_MODE, s.scalingMode ?? 'AUTOMATIC');
  if (mode !== 'AUTOMATIC' && mode !== 'MANUAL') {
    throw invalidArgument(
      'service.scaling.scaling_mode must be AUTOMATIC or MANUAL',
      'service.scaling.scaling_mode',
    );
  }
  const field = mode === 'MANUAL' ? 'manualInstanceCount' : 'minInstanceCount';
  const snake = mode === 'MANUAL' ? 'manual_instance_count' : 'min_instance_count';
  const count = s[field] === undefined && mode === 'AUTOMATIC' ? 0 : Number(s[field]);
  if (!Number.isInteger(count) || count < 0 || count > MAX_INSTANCES) {
    throw invalidArgument(
      `service.scaling.${snake} must be an integer from 0 to ${MAX_INSTANCES}`,
      `service.scaling.${snake}`,
    );
  }
  return { mode: mode as 'AUTOMATIC' | 'MANUAL', count };
}

export default defineGcpService<RunState>({
  name: 'run',
  host: 'run.googleapis.com',
  createState: () => ({ services: new Map(), operations: new Map() }),
  routes: [
    {
      method: 'GET',
      path: `${BASE}/services/{service}`,
      operation: 'GetService',
      handler: (ctx: Ctx) => {
        const { '@type': _, ...service } = view(ctx, ctx.params.service as string);
        return service;
      },
    },
    {
      method: 'PATCH',
      path: `${BASE}/services/{service}`,
      operation: 'UpdateService',
      handler: (ctx: Ctx) => {
        const id = ctx.params.service as string;
        const { name, service, record } = serviceOf(ctx, id);
        const body = ctx.body as Record<string, unknown>;
        if (body.name !== undefined && body.name !== name) {
          throw invalidArgument(`service.name must be ${name}`, 'service.name');
        }
        const mask = ctx.query.get('updateMask') ?? ctx.query.get('update_mask');
        const other = mask
          ?.split(',')
          .map((f) => f.trim())
          .filter((f) => f.length > 0 && !/^scaling(\.|$)/.test(f));
        if (other && other.length > 0) {
          throw invalidArgument(
            `update_mask: only scaling is updatable on the local Cloud Run, not ${other.join(', ')}`,
            'update_mask',
          );
        }
        const current = view(ctx, id);
        if (typeof body.etag === 'string' && body.etag !== current.etag) {
          throw new GcpError(
            'ABORTED',
            `The etag ${body.etag} does not match the service's (${current.etag}).`,
          );
        }
        const { mode, count } = scalingOf(body.scaling);
        const now = ctx.clock.now();
        if (ctx.query.get('validateOnly') !== 'true') {
          service.scale('gcp', count);
          record.mode = mode;
          record.generation++;
          record.updateTime = now;
        }
        const op: Operation = {
          name: `projects/${ctx.params.project}/locations/${ctx.params.location}/operations/${randomUUID()}`,
          target: name,
          createTime: now,
          doneAt: Math.max(now, ...service.side('gcp').tasks),
        };
        ctx.state.operations.set(op.name, op);
        return operationView(ctx, op);
      },
    },
    {
      method: 'GET',
      path: `${BASE}/operations/{operation}`,
      operation: 'GetOperation',
      handler: (ctx: Ctx) => {
        const name = `projects/${ctx.params.project}/locations/${ctx.params.location}/operations/${ctx.params.operation}`;
        const op = ctx.state.operations.get(name);
        if (!op) throw notFound(`Operation '${name}' was not found`);
        return operationView(ctx, op);
      },
    },
  ],
});

function operationView(ctx: Ctx, op: Operation) {
  const done = ctx.clock.now() >= op.doneAt;
  const service = view(ctx, op.target.split('/').pop() as string);
  return {
    name: op.name,
    metadata: service,
    done,
    ...(done ? { response: service } : {}),
  };
}
