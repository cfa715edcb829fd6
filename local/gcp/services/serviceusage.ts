/**
 * Service Usage subset (serviceusage.googleapis.com v1): which APIs a project has enabled,
 * `services.list` (with `filter=state:ENABLED`), `services.get`, `services.enable` and
 * `services.disable` (long-running operations, answered done). A local project starts with the
 * APIs crosslink's Google half uses enabled, as a bootstrapped project has them (gcp.yml
 * `bootstrap.apis`); `crosslink doctor` reads them. Simplification: the edge does not refuse the
 * calls of a disabled API (the real ones answer 403 SERVICE_DISABLED); disabling one is state that
 * doctor and the tests read.
 */
import { invalidArgument, notFound } from '../errors.ts';
import { defineGcpService, type GcpRequestContext } from '../service.ts';

/** The APIs a bootstrapped crosslink project has enabled (the root gcp.yml's `bootstrap.apis`). */
export const CROSSLINK_APIS: readonly string[] = [
  'cloudbuild.googleapis.com',
  'artifactregistry.googleapis.com',
  'run.googleapis.com',
  'cloudfunctions.googleapis.com',
  'eventarc.googleapis.com',
  'pubsub.googleapis.com',
  'firestore.googleapis.com',
  'cloudkms.googleapis.com',
  'secretmanager.googleapis.com',
  'workflows.googleapis.com',
  'workflowexecutions.googleapis.com',
  'cloudscheduler.googleapis.com',
  'logging.googleapis.com',
  'monitoring.googleapis.com',
  'iam.googleapis.com',
  'iamcredentials.googleapis.com',
  'sts.googleapis.com',
  'networkconnectivity.googleapis.com',
];

const SERVICE_RE = /^[a-z][a-z0-9-]*\.googleapis\.com$/;

interface UsageState {
  enabled: Set<string>;
}

type Ctx = GcpRequestContext<UsageState>;

function view(ctx: Ctx, service: string) {
  return {
    name: `projects/${ctx.params.project}/services/${service}`,
    parent: `projects/${ctx.params.project}`,
    config: { name: service },
    state: ctx.state.enabled.has(service) ? 'ENABLED' : 'DISABLED',
  };
}

function serviceOf(ctx: Ctx): string {
  const service = ctx.params.service ?? '';
  if (!SERVICE_RE.test(service)) throw notFound(`Service ${service} not found or permission denied.`);
  return service;
}

function operation(ctx: Ctx, service: string, verb: string) {
  return {
    name: `operations/${verb}.${ctx.world.random.chars(12, 'abcdefghijklmnopqrstuvwxyz0123456789')}`,
    done: true,
    response: {
      '@type': `type.googleapis.com/google.api.serviceusage.v1.${verb}ServiceResponse`,
      service: view(ctx, service),
    },
  };
}

const BASE = '/v1/projects/{project}/services';

export default defineGcpService<UsageState>({
  name: 'serviceusage',
  host: 'serviceusage.googleapis.com',
  createState: () => ({ enabled: new Set(CROSSLINK_APIS) }),
  status: (s) => ({ enabled: [...s.enabled].sort() }),
  routes: [
    {
      method: 'GET',
      path: BASE,
      operation: 'ListServices',
      handler: (ctx: Ctx) => {
        const filter = ctx.query.get('filter');
        if (filter !== null && filter !== 'state:ENABLED' && filter !== 'state:DISABLED')
          throw invalidArgument(`Invalid filter ${filter}: state:ENABLED or state:DISABLED`, 'filter');
        const names =
          filter === 'state:DISABLED'
            ? CROSSLINK_APIS.filter((s) => !ctx.state.enabled.has(s))
            : [...ctx.state.enabled];
        return { services: names.sort().map((s) => view(ctx, s)) };
      },
    },
    {
      method: 'GET',
      path: `${BASE}/{service}`,
      operation: 'GetService',
      handler: (ctx: Ctx) => view(ctx, serviceOf(ctx)),
    },
    {
      method: 'POST',
      path: `${BASE}/{service}:enable`,
      operation: 'EnableService',
      handler: (ctx: Ctx) => {
        const service = serviceOf(ctx);
        ctx.state.enabled.add(service);
        return operation(ctx, service, 'Enable');
      },
    },
    {
      method: 'POST',
      path: `${BASE}/{service}:disable`,
      operation: 'DisableService',
      handler: (ctx: Ctx) => {
        const service = serviceOf(ctx);
        ctx.state.enabled.delete(service);
        return operation(ctx, service, 'Disable');
      },
    },
  ],
});
