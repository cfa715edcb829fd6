/**
 * The metrics API Gateway publishes for every HTTP API without being asked (namespace
 * `AWS/ApiGateway`, dimensions `ApiId` or `ApiId` + `Stage`, one-minute resolution): `Count`, `4xx`
 * and `5xx`, one sample per request answered, whoever answered it. The authorizer's refusals count
 * too, though they never reach a function: they are the only trace of a refused token unless an
 * access log is configured. Each request is a sample of value 1 (`Count`) or 0/1 (`4xx`, `5xx`), so
 * `Sum` counts errors, `Average` is their rate and `SampleCount` the requests, as in CloudWatch.
 * Local/aws/http-api.ts records the requests; services/cloudwatch.ts serves them.
 */
import type { World } from '../service.ts';

export const API_METRICS = ['Count', '4xx', '5xx'] as const;
export type ApiMetric = (typeof API_METRICS)[number];

interface ApiRequest {
  accountId: string;
  region: string;
  apiId: string;
  stage: string;
  at: number;
  status: number;
}

const requests = new WeakMap<World, ApiRequest[]>();

export function recordApiRequest(world: World, request: ApiRequest): void {
  const list = requests.get(world) ?? [];
  list.push(request);
  requests.set(world, list);
}

/** The samples of `metric` for the APIs the dimensions select (`ApiId`, optionally `Stage`; else none). */
export function apiGatewaySamples(
  world: World,
  scope: { accountId: string; region: string },
  metric: ApiMetric,
  dims: Record<string, string>,
): { t: number; v: number }[] {
  const names = Object.keys(dims).sort().join(',');
  if (names !== 'ApiId' && names !== 'ApiId,Stage') return [];
  return (requests.get(world) ?? [])
    .filter(
      (r) =>
        r.accountId === scope.accountId &&
        r.region === scope.region &&
        r.apiId === dims.ApiId &&
        (dims.Stage === undefined || r.stage === dims.Stage),
    )
    .map((r) => ({
      t: r.at,
      v:
        metric === 'Count'
          ? 1
          : Number(metric === '4xx' ? r.status >= 400 && r.status < 500 : r.status >= 500),
    }));
}
