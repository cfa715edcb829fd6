/**
 * The local cloud the chaos scenarios run on: both halves (startBothHalves), with the clock driver
 * at x30 while anything runs, as the other whole-system chaos tests (every relay delivery doubled or
 * a function crashing makes the sandboxes busier than a plain flow). Under vitest it uses the run's
 * shared emulators; `npm run chaos` (no vitest) starts its own and stops them with the cloud.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Emulators, startEmulators } from '#local/gcp/emulators.ts';
import { startBothHalves } from '../support/both-halves.ts';
import { type ChaosCloud, chaosCloud } from './runner.ts';
import { CHAOS_VPN_POLICY, vpnApplyingInputs } from './vpn.ts';

export const BUSY_RATE = 30;

export interface RunningChaosCloud extends ChaosCloud {
  /** Wall ms from the start to a cloud ready for the first scenario. */
  bootMs: number;
  stop(): Promise<void>;
}

export interface ChaosCloudOptions {
  /** Start emulators of its own (outside vitest) rather than lease the run's. */
  ownEmulators?: boolean;
  /** Deploy both halves from this copy of the repository (a broken build: broken.ts). */
  repoDir?: string;
}

export async function startChaosCloud(options: ChaosCloudOptions = {}): Promise<RunningChaosCloud> {
  const started = Date.now();
  let emulators: Emulators | undefined;
  if (options.ownEmulators) {
    // No GCE metadata server here: google-auth-library would probe for one and warn.
    process.env.METADATA_SERVER_DETECTION = 'none';
    emulators = await startEmulators();
  }
  try {
    // The VPN runs apply (vpn.ts CHAOS_VPN_POLICY): both halves and the CLI read that policy.
    const repoDir = vpnApplyingInputs(options.repoDir);
    const both = await startBothHalves(
      {
        ...(emulators ? { emulators, gcp: { project: 'crosslink-chaos' } } : {}),
        awsHalf: { repoDir },
        gcpConfig: join(repoDir, 'gcp.yml'),
      },
      { busyRate: BUSY_RATE },
    );
    writeFileSync(join(both.home, 'config', 'policy.yaml'), CHAOS_VPN_POLICY);
    const env = await chaosCloud(both);
    return {
      ...env,
      bootMs: Date.now() - started,
      async stop() {
        await env.observer.close();
        await both.stop();
        await emulators?.stop();
      },
    };
  } catch (err) {
    await emulators?.stop();
    throw err;
  }
}
