/**
 * The Google edge under load: what the auth adds to starting the local cloud (RSA keys per
 * identity), the JWT-bearer token exchange, and GetTransport / ListTransports latency and
 * throughput through our TransportManager client at a few concurrencies. Figures only.
 */
import { performance } from 'node:perf_hooks';
import { jwtClient } from '#gcp/google-credentials.ts';
import { TransportClient } from '#gcp/transport-client.ts';
import { startLocalCloud } from '#local/index.ts';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export async function run(): Promise<void> {
  const t0 = performance.now();
  const cloud = await startLocalCloud({ ports: 0, clock: 'manual', log: () => {} });
  console.log(`startLocalCloud (both edges, keys generated): ${(performance.now() - t0).toFixed(1)} ms`);
  try {
    const auth = jwtClient(cloud.gcp.auth.keyFile('crosslink'));
    const t1 = performance.now();
    await auth.getAccessToken();
    console.log(`JWT-bearer token exchange (first token): ${(performance.now() - t1).toFixed(1)} ms`);
    const client = new TransportClient({
      project: cloud.gcp.project,
      location: 'us-east4',
      endpoint: cloud.gcp.endpoint,
      auth,
      sleep: (ms) => cloud.clock.advance(ms),
    });
    for (let i = 0; i < 20; i++) {
      await client.createTransport(
        `lk-bench-${i}`,
        {
          network: 'projects/crosslink-local/global/networks/core',
          remoteProfile: 'projects/crosslink-local/locations/us-east4/remoteTransportProfiles/aws-us-east-1',
          bandwidth: 'BPS_1G',
          remoteAccountId: '000000000000',
        },
        { wait: false },
      );
    }
    for (const [name, call] of [
      ['GetTransport', () => client.getTransport('lk-bench-7')],
      ['ListTransports', () => client.listTransports({ pageSize: 20 })],
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
              await call();
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
