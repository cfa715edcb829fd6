/**
 * The local Workflows engine: interpreter throughput (steps per wall second on a tight loop) and
 * the billed step counts (internal / external) of the example approve-then-create workflow, with an
 * immediate approval and a 500 + 503 storm on create. Figures only, nothing asserted.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { VirtualClock } from '#local/clock.ts';
import { WorkflowsService } from '#local/gcp/workflows-api.ts';
import { loadWorkflow } from '#local/workflows/definition.ts';
import { Execution } from '#local/workflows/interpreter.ts';
import { defaultIsInternalUrl, type HttpPort } from '#local/workflows/ports.ts';

const loop = `
main:
  params: [n]
  steps:
    - init:
        assign:
          - total: 0
    - each:
        for:
          value: i
          range: \${[1, n]}
          steps:
            - add:
                assign:
                  - total: \${total + i * 2 - 1}
            - check:
                switch:
                  - condition: \${i % 1000 == 0}
                    assign:
                      - last: \${string(i)}
    - done:
        return: \${total}
`;

export async function run(): Promise<void> {
  const wf = loadWorkflow(loop);
  for (const n of [1_000, 20_000]) {
    const clock = new VirtualClock({ mode: 'manual', start: 0 });
    const t0 = performance.now();
    const out = await new Execution(wf, { clock }).run(n);
    const ms = performance.now() - t0;
    console.log(
      `loop of ${n} iterations: ${out.stepCount.total} steps in ${ms.toFixed(0)} ms = ${Math.round(
        (out.stepCount.total / ms) * 1000,
      )} steps/s (${out.state})`,
    );
  }

  // The example workflow with in-process fakes: approval at once, then 500, 503, 200 on create.
  const script = [500, 503];
  const http: HttpPort = async (req) => {
    const status = req.url.includes('googleapis.com') ? (script.shift() ?? 200) : 200;
    return {
      status,
      headers: { 'content-type': 'application/json' },
      body: new TextEncoder().encode('{"name":"operations/op-1"}'),
    };
  };
  const clock = new VirtualClock({ mode: 'manual', start: 0 });
  const service = new WorkflowsService({
    clock,
    ports: {
      http,
      tokens: { accessToken: async () => 't', idToken: async () => 't' },
      isInternalUrl: defaultIsInternalUrl,
    },
  });
  const file = join(
    resolve(import.meta.dirname, '..'),
    'examples/workflows/approve-then-create.workflows.yaml',
  );
  service.deploy('bench', 'us-east4', 'approve', readFileSync(file, 'utf8'));
  const exec = service.create('bench', 'us-east4', 'approve', {
    argument: JSON.stringify({
      linkId: 'lk-1',
      bandwidth: 'BPS_1G',
      notifyUrl: 'https://approvals.example.com/n',
    }),
  });
  for (let i = 0; i < 1000 && service.callbacks.waiting(exec.name) === 0; i++)
    await new Promise((r) => setImmediate(r));
  const [url] = service.callbacks.waitingUrls(exec.name);
  if (url)
    service.callbacks.deliver(new URL(url).pathname, {
      method: 'POST',
      headers: {},
      query: {},
      body: { decision: 'APPROVED' },
      url,
    });
  const done = service.wait(exec.name);
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  while (!finished) {
    await new Promise((r) => setImmediate(r));
    await clock.fireNext();
  }
  const out = await done;
  console.log(
    `approve-then-create (approval at once, 500 + 503 on create): ${out.stepCount.total} steps = ${out.stepCount.internal} internal + ${out.stepCount.external} external (${out.state})`,
  );
}
