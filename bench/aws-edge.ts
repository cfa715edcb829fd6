/**
 * The AWS edge under load: time to start the local cloud in-process, and GetConnection /
 * ListConnections latency and throughput through our client (SigV4 signing + verification, JSON
 * 1.0, the Interconnect module) at a few concurrencies. Figures only, nothing asserted.
 */
import { performance } from 'node:perf_hooks';
import {
  CreateConnectionCommand,
  GetConnectionCommand,
  InterconnectClient,
  ListAttachPointsCommand,
  ListConnectionsCommand,
} from '#aws/interconnect-client.ts';
import { startLocalCloud } from '#local/index.ts';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export async function run(): Promise<void> {
  const t0 = performance.now();
  const cloud = await startLocalCloud({ ports: 0, clock: 'manual', log: () => {} });
  console.log(`startLocalCloud (in-process, port 0): ${(performance.now() - t0).toFixed(1)} ms`);
  try {
    const client = new InterconnectClient({
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const env = 'mce-aws-gcp-iad';
    const gw = (await client.send(new ListAttachPointsCommand({ environmentId: env }))).attachPoints[0]!
      .identifier;
    const id = (
      await client.send(
        new CreateConnectionCommand({
          bandwidth: '1Gbps',
          environmentId: env,
          attachPoint: { directConnectGateway: gw },
          remoteAccount: { identifier: 'bench' },
        }),
      )
    ).connection!.id;
    for (const [name, make] of [
      ['GetConnection', () => new GetConnectionCommand({ identifier: id })],
      ['ListConnections', () => new ListConnectionsCommand({})],
    ] as const) {
      for (const concurrency of [1, 8, 32]) {
        const total = 400;
        const lat: number[] = [];
        let next = 0;
        const start = performance.now();
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (next < total) {
              next++;
              const t = performance.now();
              await client.send(make() as GetConnectionCommand);
              lat.push(performance.now() - t);
            }
          }),
        );
        const secs = (performance.now() - start) / 1000;
        lat.sort((a, b) => a - b);
        console.log(
          `${name.padEnd(16)} c=${String(concurrency).padStart(2)}  ${(total / secs).toFixed(0).padStart(5)} req/s  p50 ${pct(lat, 50).toFixed(2)} ms  p99 ${pct(lat, 99).toFixed(2)} ms`,
        );
      }
    }
  } finally {
    await cloud.stop();
  }
}
