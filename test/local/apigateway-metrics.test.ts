/**
 * The AWS/ApiGateway metrics of the local HTTP APIs (local/aws/common/api-metrics.ts), read with the
 * standard CloudWatch client: every answer is counted, the JWT authorizer's 401s included (they never
 * reach a function, so this is where a refused token shows), per ApiId and Stage.
 */
import { generateKeyPairSync, type JsonWebKey, sign } from 'node:crypto';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpApi } from '#local/aws/http-api.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let api: HttpApi;
let cw: CloudWatchClient;
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

function jwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = b64({ alg: 'RS256', kid: 'k1' });
  const body = b64(claims);
  return `${head}.${body}.${sign('RSA-SHA256', Buffer.from(`${head}.${body}`), privateKey).toString('base64url')}`;
}

beforeAll(async () => {
  cloud = await startTestCloud();
  api = new HttpApi(cloud.aws.edge.world, { accountId: cloud.aws.accountId, region: 'us-east-1' });
  api.addRoute({
    routeKey: 'POST /guarded',
    functionName: 'no-such-function',
    auth: {
      type: 'JWT',
      issuer: 'https://issuer.example',
      audience: ['aud'],
      jwks: { keys: [{ ...(publicKey.export({ format: 'jwk' }) as JsonWebKey), kid: 'k1' }] },
    },
  });
  await api.listen(0);
  cw = new CloudWatchClient({
    region: 'us-east-1',
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
    maxAttempts: 1,
  });
});

afterAll(async () => {
  cw?.destroy();
  await api?.close();
  await cloud?.stop();
});

async function metric(name: string, stat: string, dims: Record<string, string>) {
  const now = cloud.clock.now();
  const out = await cw.send(
    new GetMetricDataCommand({
      StartTime: new Date(now - 3_600_000),
      EndTime: new Date(now + 60_000),
      MetricDataQueries: [
        {
          Id: 'm',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/ApiGateway',
              MetricName: name,
              Dimensions: Object.entries(dims).map(([Name, Value]) => ({ Name, Value })),
            },
            Period: 3600,
            Stat: stat,
          },
        },
      ],
    }),
  );
  return (out.MetricDataResults?.[0]?.Values ?? []).reduce((a, b) => a + b, 0);
}

describe('AWS/ApiGateway metrics of a local HTTP API', () => {
  it('counts every answer, the authorizer refusals included, per ApiId and Stage', async () => {
    const post = (token?: string, path = '/guarded') =>
      fetch(`${api.endpoint}${path}`, {
        method: 'POST',
        headers: token ? { authorization: `Bearer ${token}` } : {},
        body: '{}',
      }).then((r) => r.status);
    const valid = {
      iss: 'https://issuer.example',
      aud: 'aud',
      exp: Math.floor(cloud.clock.now() / 1000) + 600,
    };
    expect([
      await post(),
      await post(jwt({ ...valid, aud: 'other' })),
      await post(undefined, '/nowhere'),
      // Past the authorizer, the function does not exist: the API answers 500.
      await post(jwt(valid)),
    ]).toEqual([401, 401, 404, 500]);
    const byApi = { ApiId: api.apiId };
    expect(await metric('4xx', 'Sum', byApi)).toBe(3);
    expect(await metric('5xx', 'Sum', byApi)).toBe(1);
    expect(await metric('Count', 'SampleCount', byApi)).toBe(4);
    expect(await metric('4xx', 'Sum', { ...byApi, Stage: '$default' })).toBe(3);
    expect(await metric('4xx', 'Sum', { ApiId: 'another' })).toBe(0);
    expect(await metric('4xx', 'Sum', { Stage: '$default' })).toBe(0);
  });
});
