/**
 * Runs one workflow file on its own (`crosslink sim workflow run`): the Executions API on a free
 * 127.0.0.1 port (so callback URLs work), and a clock that jumps over sleeps and retry backoffs
 * but lets time flow in real time while the execution waits on the outside world (a callback or
 * an HTTP response), so a person has time to answer a callback.
 */
import { settle, VirtualClock } from '#local/clock.ts';
import { startWorkflowsApi } from '#local/gcp/workflows-api.ts';
import type { ExecutionOutcome } from './outcome.ts';
import {
  defaultIsInternalUrl,
  fetchHttp,
  type HttpPort,
  type LogEntry,
  type TokenProvider,
} from './ports.ts';

export interface RunFileOptions {
  argument?: unknown;
  env?: Record<string, string>;
  http?: HttpPort;
  tokens?: TokenProvider;
  log?: (entry: LogEntry) => void;
  workflowId?: string;
  /** Told once per callback wait, with the URL to send the callback to. */
  onWaiting?: (url: string) => void;
}

/** Runs a lint-clean definition to its end. */
export async function runFile(definition: string, opts: RunFileOptions = {}): Promise<ExecutionOutcome> {
  const clock = new VirtualClock({ mode: 'manual' });
  const api = await startWorkflowsApi({
    clock,
    ports: {
      http: opts.http ?? fetchHttp,
      ...(opts.tokens ? { tokens: opts.tokens } : {}),
      ...(opts.log ? { log: opts.log } : {}),
      env: opts.env ?? {},
      isInternalUrl: defaultIsInternalUrl,
    },
  });
  try {
    const project = 'local-project';
    const location = 'us-central1';
    const id = opts.workflowId ?? 'workflow';
    api.service.deploy(project, location, id, definition);
    const created = api.service.create(project, location, id, {
      argument: JSON.stringify(opts.argument ?? null),
    });
    let finished = false;
    const done = api.service.wait(created.name).finally(() => {
      finished = true;
    });
    const announced = new Set<string>();
    while (!finished) {
      await settle(3);
      if (finished) break;
      const waiting = api.service.callbacks.waitingUrls(created.name);
      for (const url of waiting) if (!announced.has(url)) opts.onWaiting?.(url);
      for (const url of waiting) announced.add(url);
      if (waiting.length > 0 || clock.pending === 0) {
        // Waiting on the outside world: let real time pass (timeouts still fire).
        const t0 = Date.now();
        await new Promise((r) => setTimeout(r, 20));
        await clock.advance(Date.now() - t0);
      } else await clock.fireNext();
    }
    return await done;
  } finally {
    await api.close();
    clock.stop();
  }
}
