/**
 * The AWS half packaged for a test that reads the package (template, zips, roles): the same inputs
 * and variables as `npm start` and the end-to-end tests, under the same lock, so parallel files
 * never race. The packaging is given up before the hook that waits for it would time out: osls and
 * its process group are then ended (local/aws/wiring/packaging.ts), never left running for the rest
 * of the run.
 */
import { packageService } from '#local/aws/wiring/packaging.ts';
import { AWS_HALF_INPUTS, AWS_HALF_PACKAGING } from '#local/aws-half.ts';

/** Wall ms a test's packaging (the lock's wait included) may take: under the 120 s hook timeout. */
export const PACKAGING_BUDGET_MS = 110_000;

/** Packages the AWS half in `serviceDir` (the repository by default) with `environment` added. */
export function packageAwsHalf(
  serviceDir = '.',
  environment: Record<string, string> = {},
): Promise<{ templateFile: string; regenerated: boolean }> {
  return packageService(serviceDir, {
    inputs: AWS_HALF_INPUTS,
    environment: { ...AWS_HALF_PACKAGING, ...environment },
    signal: AbortSignal.timeout(PACKAGING_BUDGET_MS),
  });
}
