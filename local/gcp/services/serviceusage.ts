/**
 * Service Usage subset (serviceusage.googleapis.com v1): which APIs a project has enabled,
 * `services.list` (`filter=state:ENABLED` / `state:DISABLED`, `pageSize` / `pageToken`: 50 a page
 * by default, at most 200), `services.get`, `services.enable`, `services.batchEnable` and `services.disable` (long-running
 * operations, answered done). The edge refuses a call to an API its project has not enabled, with
 * Google's 403 SERVICE_DISABLED (`serviceDisabled` below; docs/local-cloud-gcp.md "Enabled APIs").
 *
 * What a project starts with: the hub project (the local cloud's own) starts as a new Google
 * project does, with Google's default APIs only, and the local cloud's boot enables crosslink's
 * (`CROSSLINK_APIS`, the root gcp.yml's `bootstrap.apis`) as deploy-gcp's bootstrap does. Any other
 * project is one its owners set up (a network project, a test's own): it starts with Google's
 * defaults and crosslink's APIs, Compute Engine included.
 */
import { errorInfo, GcpError, invalidArgument, notFound } from '../errors.ts';
import { defineGcpService, type GcpRequestContext, type GcpWorld } from '../service.ts';

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
  'compute.googleapis.com',
];

/** What Google enables in a project it creates (Service Usage docs, "Services enabled by default"). */
export const GOOGLE_DEFAULT_APIS: readonly string[] = [
  'analyticshub.googleapis.com',
  'bigquery.googleapis.com',
  'bigqueryconnection.googleapis.com',
  'bigquerydatapolicy.googleapis.com',
  'bigquerymigration.googleapis.com',
  'bigqueryreservation.googleapis.com',
  'bigquerystorage.googleapis.com',
  'cloudapis.googleapis.com',
  'cloudtrace.googleapis.com',
  'dataform.googleapis.com',
  'dataplex.googleapis.com',
  'datastore.googleapis.com',
  'logging.googleapis.com',
  'monitoring.googleapis.com',
  'servicemanagement.googleapis.com',
  'serviceusage.googleapis.com',
  'sql-component.googleapis.com',
  'storage-api.googleapis.com',
  'storage-component.googleapis.com',
  'storage.googleapis.com',
];

/** The titles Google's SERVICE_DISABLED message names the local APIs by. */
const TITLES: Record<string, string> = {
  'cloudkms.googleapis.com': 'Cloud Key Management Service (KMS) API',
  'cloudscheduler.googleapis.com': 'Cloud Scheduler API',
  'compute.googleapis.com': 'Compute Engine API',
  'dns.googleapis.com': 'Cloud DNS API',
  'iamcredentials.googleapis.com': 'IAM Service Account Credentials API',
  'monitoring.googleapis.com': 'Cloud Monitoring API',
  'networkconnectivity.googleapis.com': 'Network Connectivity API',
  'secretmanager.googleapis.com': 'Secret Manager API',
  'serviceusage.googleapis.com': 'Service Usage API',
  'workflowexecutions.googleapis.com': 'Workflow Executions API',
};

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;

const SERVICE_RE = /^[a-z][a-z0-9-]*\.googleapis\.com$/;

interface UsageState {
  enabled: Set<string>;
}

type Ctx = GcpRequestContext<UsageState>;

/** Enables `services` in `project` (the local cloud's boot does it for the hub, as the bootstrap does). */
export function enableServices(world: GcpWorld, project: string, services: readonly string[]): void {
  const state = world.stateOf<UsageState>('serviceusage', project);
  for (const s of services) state.enabled.add(s);
}

/**
 * Google's refusal of a call to `service` on behalf of `project` when the project has not enabled
 * it (403 PERMISSION_DENIED, ErrorInfo SERVICE_DISABLED with the consumer and the activation URL),
 * or undefined when it has. The project is named by its number, as Google names it.
 */
export function serviceDisabled(world: GcpWorld, project: string, service: string): GcpError | undefined {
  if (world.stateOf<UsageState>('serviceusage', project).enabled.has(service)) return undefined;
  const number = world.iam.projectNumber(project);
  const title = TITLES[service] ?? service;
  const activationUrl = `https://console.developers.google.com/apis/api/${service}/overview?project=${number}`;
  const message = `${title} has not been used in project ${number} before or it is disabled. Enable it by visiting ${activationUrl} then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.`;
  return new GcpError('PERMISSION_DENIED', message, {
    details: [
      errorInfo('SERVICE_DISABLED', 'googleapis.com', {
        service,
        consumer: `projects/${number}`,
        serviceTitle: title,
        containerInfo: number,
        activationUrl,
      }),
      { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message },
      {
        '@type': 'type.googleapis.com/google.rpc.Help',
        links: [{ description: 'Google developers console API activation', url: activationUrl }],
      },
    ],
  });
}

function view(ctx: Ctx, service: string) {
  return {
    name: `projects/${ctx.params.project}/services/${service}`,
    parent: `projects/${ctx.params.project}`,
    config: { name: service },
    state: ctx.state.enabled.has(service) ? 'ENABLED' : 'DISABLED',
  };
}

/** `pageSize`: 50 when absent or 0, at most 200 (larger asks are cut to it, as Service Usage does). */
function pageSizeOf(raw: string | null): number {
  if (raw === null || raw === '' || raw === '0') return DEFAULT_PAGE_SIZE;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw invalidArgument(`Invalid pageSize ${raw}: a whole number from 0 to ${MAX_PAGE_SIZE}`, 'pageSize');
  return Math.min(n, MAX_PAGE_SIZE);
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
  createState: (project, world) => ({
    enabled: new Set(
      project === world.project ? GOOGLE_DEFAULT_APIS : [...GOOGLE_DEFAULT_APIS, ...CROSSLINK_APIS],
    ),
  }),
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
        const enabled = [...ctx.state.enabled];
        const known = [...new Set([...GOOGLE_DEFAULT_APIS, ...CROSSLINK_APIS, ...enabled])];
        const names = (
          filter === 'state:DISABLED'
            ? known.filter((s) => !ctx.state.enabled.has(s))
            : filter === 'state:ENABLED'
              ? enabled
              : known
        ).sort();
        const size = pageSizeOf(ctx.query.get('pageSize'));
        const token = ctx.query.get('pageToken');
        let from = 0;
        if (token !== null && token !== '') {
          const after = Buffer.from(token, 'base64url').toString();
          if (!SERVICE_RE.test(after)) throw invalidArgument(`Invalid pageToken ${token}`, 'pageToken');
          from = names.findIndex((n) => n > after);
          if (from < 0) from = names.length;
        }
        const page = names.slice(from, from + size);
        const last = page[page.length - 1];
        return {
          services: page.map((s) => view(ctx, s)),
          ...(from + size < names.length && last
            ? { nextPageToken: Buffer.from(last).toString('base64url') }
            : {}),
        };
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
      // gcloud services enable with more than one service: up to 20 at once, all or none.
      method: 'POST',
      path: `${BASE}:batchEnable`,
      operation: 'BatchEnableServices',
      permission: { permission: 'serviceusage.services.enable', on: 'project' },
      handler: (ctx: Ctx) => {
        const ids: unknown = ctx.body.serviceIds;
        if (!Array.isArray(ids) || ids.length === 0)
          throw invalidArgument('serviceIds: at least one service is required', 'service_ids');
        if (ids.length > 20)
          throw invalidArgument(
            `serviceIds: at most 20 services per call (${ids.length} given)`,
            'service_ids',
          );
        const bad = ids.filter((id) => typeof id !== 'string' || !SERVICE_RE.test(id));
        if (bad.length > 0)
          throw invalidArgument(
            `serviceIds: not a service name: ${bad.map(String).join(', ')}`,
            'service_ids',
          );
        for (const id of ids as string[]) ctx.state.enabled.add(id);
        return {
          name: `operations/batchEnable.${ctx.world.random.chars(12, 'abcdefghijklmnopqrstuvwxyz0123456789')}`,
          done: true,
          response: {
            '@type': 'type.googleapis.com/google.api.serviceusage.v1.BatchEnableServicesResponse',
            services: (ids as string[]).map((id) => view(ctx, id)),
          },
        };
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
