/**
 * Amazon ECS subset (AWS JSON 1.1, `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>`;
 * docs/protected-service.md "Compute"): the AWS side of each protected service is the ECS service
 * `<name>` in cluster `aws.cluster` (default `default`) of its side's account and region.
 * `DescribeServices` shows it (desired, running and pending counts, its one deployment) and
 * `UpdateService` with `desiredCount` scales it: new tasks run the service's startup time later,
 * extra ones stop at once. Task definitions, deployments' rollouts, load balancers and capacity
 * providers are not modelled; an update naming them is refused.
 */
import { createHash } from 'node:crypto';
import { serviceWorldOf } from '#local/world/protected-service.ts';
import { errorClass } from '../errors.ts';
import { defineService, type RequestContext } from '../service.ts';

const ClusterNotFound = errorClass('ClusterNotFoundException', 400);
const ServiceNotFound = errorClass('ServiceNotFoundException', 400);
const InvalidParameter = errorClass('InvalidParameterException', 400);
const MAX_SERVICES = 10;
const MAX_DESIRED = 1000;
/** UpdateService members the local ECS does not model. */
const UNMODELLED = [
  'taskDefinition',
  'capacityProviderStrategy',
  'deploymentConfiguration',
  'networkConfiguration',
  'placementConstraints',
  'placementStrategy',
  'platformVersion',
  'loadBalancers',
  'serviceRegistries',
  'serviceConnectConfiguration',
  'volumeConfigurations',
];

type Ctx = RequestContext<Record<string, never>>;

/** `default`, a cluster name, or a cluster ARN of this account and region -> the name. */
function clusterName(ctx: Ctx, raw: unknown): string {
  if (raw === undefined) return 'default';
  if (typeof raw !== 'string' || raw.length === 0)
    throw InvalidParameter('cluster must be a name or an ARN.');
  const m = /^arn:aws:ecs:([a-z0-9-]+):(\d{12}):cluster\/(.+)$/.exec(raw);
  if (!m) return raw;
  if (m[1] !== ctx.region || m[2] !== ctx.accountId) throw ClusterNotFound('Cluster not found.');
  return m[3] as string;
}

/** The protected services whose AWS side is an ECS service in this account, region and cluster. */
function servicesIn(ctx: Ctx, cluster: string) {
  return [...serviceWorldOf(ctx.clock).services.values()].filter((s) => {
    const side = s.side('aws');
    return (
      side.region === ctx.region &&
      (side.cluster ?? 'default') === cluster &&
      (side.accountId ?? serviceAccount(ctx)) === ctx.accountId
    );
  });
}

/** The account a side belongs to when it names none: the local administrator's (the root user's). */
function serviceAccount(ctx: Ctx): string | undefined {
  const creds = ctx.world.credentials;
  return creds.accounts().find((a) => creds.rootKey(a) !== undefined) ?? creds.accounts()[0];
}

function requireCluster(ctx: Ctx, cluster: string): void {
  // A cluster exists when some protected service runs in it (the local ECS has no CreateCluster).
  if (servicesIn(ctx, cluster).length === 0) throw ClusterNotFound('Cluster not found.');
}

function arns(ctx: Ctx, cluster: string, name: string) {
  const base = `arn:aws:ecs:${ctx.region}:${ctx.accountId}`;
  return { clusterArn: `${base}:cluster/${cluster}`, serviceArn: `${base}:service/${cluster}/${name}` };
}

function view(ctx: Ctx, cluster: string, name: string) {
  const service = serviceWorldOf(ctx.clock).get(name);
  const side = service.side('aws');
  const running = service.running('aws');
  const pending = Math.max(0, side.desired - running);
  const { clusterArn, serviceArn } = arns(ctx, cluster, name);
  return {
    serviceArn,
    serviceName: name,
    clusterArn,
    status: 'ACTIVE',
    desiredCount: side.desired,
    runningCount: running,
    pendingCount: pending,
    launchType: 'FARGATE',
    schedulingStrategy: 'REPLICA',
    deployments: [
      {
        id: `ecs-svc/${BigInt(`0x${createHash('sha256').update(serviceArn).digest('hex').slice(0, 15)}`)}`,
        status: 'PRIMARY',
        desiredCount: side.desired,
        runningCount: running,
        pendingCount: pending,
        rolloutState: pending > 0 ? 'IN_PROGRESS' : 'COMPLETED',
      },
    ],
  };
}

/** A service named by name or ARN in `cluster`, or undefined. */
function nameOf(ctx: Ctx, cluster: string, ref: string): string | undefined {
  const prefix = `arn:aws:ecs:${ctx.region}:${ctx.accountId}:service/`;
  const name = ref.startsWith('arn:')
    ? ref.startsWith(prefix)
      ? ref.slice(prefix.length).split('/').pop()
      : undefined
    : ref;
  return name && servicesIn(ctx, cluster).some((s) => s.name === name) ? name : undefined;
}

export default defineService<Record<string, never>>({
  name: 'ecs',
  signingName: 'ecs',
  protocol: 'json1.1',
  targetPrefix: 'AmazonEC2ContainerServiceV20141113',
  errors: {
    throttling: { code: 'ThrottlingException', status: 400 },
    server: { code: 'ServerException', status: 500 },
  },
  createState: () => ({}),
  operations: {
    DescribeServices(input: { cluster?: unknown; services?: unknown }, ctx: Ctx) {
      const cluster = clusterName(ctx, input.cluster);
      if (!Array.isArray(input.services) || input.services.length === 0) {
        throw InvalidParameter('Services cannot be empty.');
      }
      if (input.services.length > MAX_SERVICES) {
        throw InvalidParameter(`Services cannot contain more than ${MAX_SERVICES} elements.`);
      }
      requireCluster(ctx, cluster);
      const services: unknown[] = [];
      const failures: { arn: string; reason: string }[] = [];
      for (const ref of input.services) {
        const name = typeof ref === 'string' ? nameOf(ctx, cluster, ref) : undefined;
        if (name) services.push(view(ctx, cluster, name));
        else failures.push({ arn: arns(ctx, cluster, String(ref)).serviceArn, reason: 'MISSING' });
      }
      return { services, failures };
    },
    UpdateService(input: Record<string, unknown>, ctx: Ctx) {
      const cluster = clusterName(ctx, input.cluster);
      if (typeof input.service !== 'string' || input.service.length === 0) {
        throw InvalidParameter('service must be a name or an ARN.');
      }
      const named = UNMODELLED.filter((k) => input[k] !== undefined);
      if (named.length > 0) {
        throw InvalidParameter(`The local ECS updates desiredCount only, not ${named.join(', ')}.`);
      }
      requireCluster(ctx, cluster);
      const name = nameOf(ctx, cluster, input.service);
      if (!name) throw ServiceNotFound('Service not found.');
      if (input.desiredCount !== undefined) {
        const n = input.desiredCount;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_DESIRED) {
          throw InvalidParameter(`desiredCount must be an integer from 0 to ${MAX_DESIRED}.`);
        }
        serviceWorldOf(ctx.clock).get(name).scale('aws', n);
      }
      return { service: view(ctx, cluster, name) };
    },
  },
});
