import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '#local/clock.ts';
import { startWorkflowsApi, type WorkflowsApiServer } from '#local/gcp/workflows-api.ts';
import { until } from '../../support/timers.ts';
import { yaml } from '../../support/workflows.ts';

describe('the Workflows engine on the local cloud virtual clock', () => {
  let api: WorkflowsApiServer | undefined;
  let clock: VirtualClock | undefined;
  afterEach(async () => {
    await api?.close();
    clock?.stop();
  });

  it('sleeps, retries and callback timeouts move only when the manual clock advances', async () => {
    clock = new VirtualClock({ mode: 'manual', start: Date.parse('2026-03-01T00:00:00Z') });
    api = await startWorkflowsApi({ clock });
    api.service.deploy(
      'demo',
      'us-central1',
      'w',
      yaml`
      - nap:
          call: sys.sleep
          args:
            seconds: 300
      - cb:
          call: events.create_callback_endpoint
          result: cb
      - wait:
          try:
            call: events.await_callback
            args:
              callback: \${cb}
              timeout: 3600
          except:
            as: e
            steps:
              - out:
                  return: \${[e.tags, time.format(sys.now())]}
    `,
    );
    const exec = api.service.create('demo', 'us-central1', 'w');
    await until(() => clock!.pending === 1);
    expect(api.service.get(exec.name).status.currentSteps).toEqual([{ step: 'nap', routine: 'main' }]);
    await clock.advance(299_000);
    expect(api.service.get(exec.name).state).toBe('ACTIVE');
    await clock.advance(1_000);
    await until(() => api!.service.callbacks.waiting(exec.name) === 1);
    await clock.advance(3_600_000);
    const outcome = await api.service.wait(exec.name);
    expect(outcome.result).toEqual([['TimeoutError'], '2026-03-01T01:05:00.000000Z']);
  });
});
