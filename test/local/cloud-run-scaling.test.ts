/**
 * The protected service's Google compute through the real @google-cloud/run client (REST fallback):
 * its Cloud Run service read and scaled with `updateService`, a long-running operation done once the
 * new instances run, and the refusals (a stale etag, a bad count, a field the local Cloud Run does
 * not update, a caller without `run.services.update`).
 */
import { ServicesClient } from '@google-cloud/run';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { googleAuth } from '#gcp/google-credentials.ts';
import type { LocalCloud } from '#local/index.ts';
import { admin, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let name: string;

function runAs(who: string): ServicesClient {
  return new ServicesClient({
    apiEndpoint: '127.0.0.1',
    port: cloud.gcp.port,
    protocol: 'http',
    fallback: true,
    // The client types its own (older) google-auth-library's GoogleAuth; the calls are the same.
    auth: googleAuth(cloud.gcp.auth.keyFile(who)) as never,
  });
}

beforeAll(async () => {
  cloud = await startTestCloud();
  await admin(cloud, 'POST', '/world/service-create', {
    name: 'payments-api',
    primary: 'aws',
    aws: { region: 'us-east-1', ip: '192.0.2.10' },
    gcp: { region: 'us-central1', ip: '192.0.2.20' },
    startup: '30s',
  });
  name = `projects/${cloud.gcp.project}/locations/us-central1/services/payments-api`;
});
afterAll(async () => {
  await cloud?.stop();
});

describe('Cloud Run: the standby side scaled through updateService', () => {
  it('reads the service, and scales it: the operation is done once the new instances run', async () => {
    // Prepare
    const run = runAs('admin');
    const [before] = await run.getService({ name });
    // Act
    const [op] = await run.updateService({
      service: { name, scaling: { scalingMode: 'MANUAL', manualInstanceCount: 12 } },
      updateMask: { paths: ['scaling'] },
    });
    const pending = op.done;
    const during = await admin(cloud, 'POST', '/world/service', { name: 'payments-api' });
    await cloud.clock.advance(30_000);
    const [after] = await op.promise();
    const ran = await admin(cloud, 'POST', '/world/service', { name: 'payments-api' });
    // Assess
    expect(before.scaling).toMatchObject({ scalingMode: 'AUTOMATIC', minInstanceCount: 2 });
    expect(before.terminalCondition?.state).toBe('CONDITION_SUCCEEDED');
    expect(pending).toBe(false);
    expect(during.gcp).toMatchObject({ desired: 12, running: 2 });
    // The operation's response is decoded from an Any: its enums come back as numbers (MANUAL = 2).
    expect(after.scaling).toMatchObject({ scalingMode: 2, manualInstanceCount: 12 });
    expect(after.reconciling).toBe(false);
    expect(ran.gcp).toMatchObject({ desired: 12, running: 12 });
    await run.close();
  });

  it('refuses a stale etag, a bad count, a field it does not update, and a caller without the permission', async () => {
    // Prepare
    const run = runAs('admin');
    const scaling = { scalingMode: 'MANUAL' as const, manualInstanceCount: 3 };
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: { code?: number; message?: string }) => `${e.code} ${e.message}`,
      );
    // Act
    const stale = await code(run.updateService({ service: { name, scaling, etag: '"1-0"' } }));
    const negative = await code(
      run.updateService({ service: { name, scaling: { scalingMode: 'MANUAL', manualInstanceCount: -1 } } }),
    );
    const image = await code(
      run.updateService({ service: { name, scaling }, updateMask: { paths: ['scaling', 'template'] } }),
    );
    const carol = runAs('carol');
    const denied = await code(carol.updateService({ service: { name, scaling } }));
    const missing = await code(run.getService({ name: name.replace('payments-api', 'billing') }));
    // Assess
    // This client's REST transport (google-gax 5) passes the HTTP error on as it came: the status
    // and Google's error body.
    expect(stale).toMatch(/^409 .*does not match/);
    expect(stale).toContain('"status":"ABORTED"');
    expect(negative).toMatch(/^400 .*manual_instance_count must be an integer from 0 to 1000/);
    expect(image).toMatch(/^400 .*only scaling is updatable .* not template/);
    expect(denied).toMatch(/^403 .*Permission 'run.services.update' denied/);
    expect(missing).toMatch(/^404 .*"status":"NOT_FOUND"/);
    await run.close();
    await carol.close();
  });
});
